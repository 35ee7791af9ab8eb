"""The sponsor report emails as a sponsor reads them: escaped, strict, read-only."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from jinja2 import UndefinedError

from models.reporting import NextTask, Period, SessionFacts, Story, figures
from models.stories import Consent
from tasks.rendering import render_email


def _tags(html: str) -> set[str]:
    from html.parser import HTMLParser

    seen: set[str] = set()

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            seen.add(tag)

    Parser().feed(html)
    return seen


EVIL = '<script>alert("x")</script><a href="https://evil.example">click</a>'


def _context(**over: object) -> dict[str, object]:
    r = figures(Period(date(2027, 1, 1), date(2027, 3, 31)),
                [SessionFacts(held_on=date(2027, 1, 14), attendee_ids=(1, 2), attendee_kinds=("convenor", "researcher"),
                              topics=(EVIL,), outputs=("A checklist",))],
                members_now=4, next_up=[NextTask(title=EVIL)],
                stories=[Story(held_on=date(2027, 1, 14), text=EVIL, consent=Consent.named, teller=EVIL)])
    community = SimpleNamespace(name="Frailty <b>CoP</b>", cadence="monthly", close_reason=EVIL, slug="f")
    ctx: dict[str, object] = {"community": community, "sponsor_name": "Priya <i>Raman</i>", "r": r,
                              "cadence": "monthly", "successor": None}
    ctx.update(over)
    return ctx


@pytest.mark.parametrize("template", ["sponsor-report", "final-sponsor-report"])
def test_user_text_is_escaped_and_there_is_nothing_to_click(template: str) -> None:
    email = render_email(template, **_context())
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "Priya &lt;i&gt;Raman&lt;/i&gt;" in email.html and "Frailty &lt;b&gt;CoP&lt;/b&gt;" in email.html
    # Read-only: no links, scripts or forms of any kind in what the sponsor's client sees.
    assert not {"a", "script", "form", "button", "img"} & _tags(email.html)
    # Plain text carries the words as written (no HTML is interpreted there).
    assert "Priya <i>Raman</i>" in email.text
    assert "\n" not in email.subject


def test_a_missing_value_fails_the_render_instead_of_sending_a_blank() -> None:
    ctx = _context()
    del ctx["sponsor_name"]
    with pytest.raises(UndefinedError):
        render_email("sponsor-report", **ctx)


def test_final_report_thanks_and_credits() -> None:
    email = render_email("final-sponsor-report", **_context(
        successor=SimpleNamespace(name="Frailty at Home CoP")))
    assert "Thank you" in email.text and "Frailty at Home CoP" in email.text
    assert "Over its life the community met once, and 2 different people took part." in email.text
    for blame in ("fail", "blame", "poor", "low attendance", "disappoint"):
        assert blame not in email.text.lower()


def _read(html: str) -> str:
    """What a sponsor's mail client shows of the HTML: the words, tags and spacing aside."""
    import html as html_lib
    import re

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _changes_and_next_up() -> dict[str, object]:
    from models.reporting import NextTask, PlanningChange

    r = figures(Period(date(2027, 4, 1), date(2027, 6, 30)), [], members_now=5, planning_lead="Sam Okafor",
                changes=[PlanningChange(on=date(2027, 4, 9), event="took-lead", who="Sam Okafor"),
                         PlanningChange(on=date(2027, 5, 2), event="joined", who="Ruth Adeyemi"),
                         PlanningChange(on=date(2027, 5, 13), event="volunteered", who="Ruth Adeyemi"),
                         PlanningChange(on=date(2027, 5, 20), event="opted-out"),
                         PlanningChange(on=date(2027, 6, 1), event="left")],
                next_up=[NextTask(title="Book the room", due=date(2027, 7, 3)), NextTask(title="Invite a speaker")])
    return _context(r=r)


SENTENCES = [
    "Sam Okafor was leading planning at the end of the period.",
    "Sam Okafor took on the planning lead (9 April 2027)",
    "Ruth Adeyemi joined (2 May 2027)",
    "Ruth Adeyemi volunteered to help lead planning (13 May 2027)",
    "A member stepped back from leading planning (20 May 2027)",
    "A member moved on (1 June 2027)",
    "Book the room (by 3 July 2027)",
    "Invite a speaker",
    "5 people were part of the community at the end of the period, the convenor included.",
]


def test_text_and_html_carry_the_same_sentences_from_the_template() -> None:
    email = render_email("sponsor-report", **_changes_and_next_up())
    text, html = " ".join(email.text.split()), _read(email.html)
    for sentence in SENTENCES:
        assert sentence in text, sentence
        assert sentence in html, sentence
    assert "\n- Book the room (by 3 July 2027)\n- Invite a speaker\n" in email.text  # one to a line
    assert "\n- A member moved on (1 June 2027)\n" in email.text
    for raw in ("None", "NextTask", "PlanningChange", "title=", "event="):
        assert raw not in email.text and raw not in email.html


def test_the_operations_copy_words_changes_as_the_email_does() -> None:
    from types import SimpleNamespace

    from tasks.usecases.sponsor_reports import report_markdown

    ctx = _changes_and_next_up()
    row = SimpleNamespace(figures=ctx["r"].model_dump(mode="json"))  # type: ignore[attr-defined]
    md = report_markdown(ctx["community"], row)  # type: ignore[arg-type]
    assert "2027-04-09 Sam Okafor took on the planning lead; " in md
    assert "2027-05-20 A member stepped back from leading planning" in md


def test_a_report_stored_before_the_words_moved_to_templates_reads_as_it_did() -> None:
    from models.reporting import ReportFigures

    stored = figures(Period(date(2027, 1, 1), date(2027, 3, 31)), [], members_now=3).model_dump(mode="json")
    stored["planning_changes"] = [{"on": "2027-02-01", "what": "Sam Okafor took on the planning lead"}]
    stored["next_up"] = ["Book the room (by 3 July 2027)"]
    email = render_email("sponsor-report", **_context(r=ReportFigures.model_validate(stored)))
    for sentence in ("Sam Okafor took on the planning lead (1 February 2027)", "Book the room (by 3 July 2027)"):
        assert sentence in email.text and sentence in _read(email.html)
