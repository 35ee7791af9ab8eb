"""The sponsor report emails as a sponsor reads them: escaped, strict, read-only."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from jinja2 import UndefinedError

from models.reporting import Period, SessionFacts, figures
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
                              topics=(EVIL,), outputs=("A checklist",), story=EVIL)],
                members_now=4, next_up=[EVIL])
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
    assert "Over its life the community met 1 time, and 2 different people took part." in email.text
    for blame in ("fail", "blame", "poor", "low attendance", "disappoint"):
        assert blame not in email.text.lower()
