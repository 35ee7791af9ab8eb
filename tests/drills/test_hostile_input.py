"""Drill 4: hostile and malformed input across charters, command-line arguments and stored text.
Each case gets one clear line and exit 2 with nothing written, or is stored and then rendered
safely: escaped exactly once in HTML, as typed in plain text, never a traceback.

Commands run in this process through the real command line (cli.app.main) so a hundred cases
stay quick; lifecycle steps that would start Prefect run their use cases directly.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from models.db.tables import Base
from tests.conftest import SAMPLE_CHARTER
from tests.drills import support as s
from tests.drills.tally import DRILLS
from tests.support.markdown import as_shown

BASE = yaml.safe_load(SAMPLE_CHARTER.read_text())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from cli.app import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(home: Path) -> tuple[Any, ...]:
    """Everything a command could write: row counts of every table, versions, files."""
    def counts(db: Any) -> tuple[Any, ...]:
        rows = tuple(db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables)
        return rows + (db.execute(select(func.sum(Base.metadata.tables["community"].c.version))).scalar(),)
    files = tuple(sorted(str(p.relative_to(home)) for p in home.rglob("*") if "copflow.db" not in p.name))
    return s.read(counts) + files


def charter_text(**changes: Any) -> str:
    data = {**BASE, **changes}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not ...}, allow_unicode=True, sort_keys=False)


def member(name: str = "Zed Ray", email: str = "zed@example.org", **kw: Any) -> list[dict[str, Any]]:
    return BASE["members"] + [{"name": name, "email": email, **kw}]


ANCHOR_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + \
    "name: *i\n"
LONG = "x" * 301

# Charter files refused with one line, exit 2, nothing stored: (label, file bytes).
BAD_CHARTERS: list[tuple[str, bytes]] = [(label, text.encode() if isinstance(text, str) else text) for label, text in [
    ("CRLF header injection in the name", charter_text(name="AAOT\r\nBcc: everyone@example.org")),
    ("LF in the name", charter_text(name="AAOT\nsecond line")),
    ("NUL in the name", charter_text(name="AAOT\x00")),
    ("tab in a member's name", charter_text(members=member(name="Zed\tRay"))),
    ("CR in a sponsor's organisation", charter_text(sponsors=[{**BASE["sponsors"][0], "organisation": "Trust\rX"}])),
    ("name of 301 characters", charter_text(name=LONG)),
    ("domain of 5001 characters", charter_text(domain="d" * 5001)),
    ("member name of 201 characters", charter_text(members=member(name="n" * 201))),
    ("empty name", charter_text(name="")),
    ("blank name", charter_text(name="   ")),
    ("null name", charter_text(name=None)),
    ("number as name", charter_text(name=12345)),
    ("CRLF in an email", charter_text(members=member(email="zed@example.org\r\nBcc: x@example.org"))),
    ("email without domain", charter_text(members=member(email="zed@"))),
    ("email with a space", charter_text(members=member(email="zed ray@example.org"))),
    ("email of 321 characters", charter_text(members=member(email="z" * 64 + "@" + "d" * 250 + ".org"))),
    ("email without a dot in the domain", charter_text(members=member(email="zed@localhost"))),
    ("two @ in an email", charter_text(members=member(email="zed@@example.org"))),
    ("the same person twice", charter_text(members=member(email="lee@example.org"))),
    ("sponsor as convenor", charter_text(sponsors=[{"name": "D", "email": "dana@example.nhs.uk"}])),
    ("sponsor on the planning group", charter_text(members=member(email="priya@example.nhs.uk", planning_group=True))),
    ("unknown stage key", charter_text(stage="archived")),
    ("unknown key", charter_text(approver="priya@example.nhs.uk")),
    ("unknown cadence", charter_text(cadence="hourly")),
    ("unknown report period", charter_text(sponsor_reports="yearly")),
    ("unknown format", charter_text(format="teleport")),
    ("unknown member kind", charter_text(members=member(kind="wizard"))),
    ("impossible date 30 February", charter_text(first_session="2027-02-30T14:00")),
    ("impossible month 13", charter_text(first_session="2027-13-01T14:00")),
    ("words for a date", charter_text(first_session="next Tuesday")),
    ("hour 25", charter_text(first_session="2027-01-14T25:00")),
    ("negative rotation", charter_text(rotate_every_sessions=-1)),
    ("huge rotation", charter_text(rotate_every_sessions=10**20)),
    ("session minutes in words", charter_text(session_minutes="ninety")),
    ("slug with ../", charter_text(slug="../etc")),
    ("slug with SQL", charter_text(slug="aaot'; DROP TABLE community; --")),
    ("slug in capitals", charter_text(slug="AAOT")),
    ("slug of 65 characters", charter_text(slug="a" * 65)),
    ("slug 'no' (YAML 1.1 boolean)", SAMPLE_CHARTER.read_text().replace("slug: aaot", "slug: no")),
    ("members as a mapping", charter_text(members={"lee": "lee@example.org"})),
    ("planning_group: maybe", charter_text(members=member(planning_group="maybe"))),
    ("not UTF-8 (Latin-1)", SAMPLE_CHARTER.read_text().replace("Dana", "Dána").encode("latin-1")),
    ("UTF-16 with BOM", SAMPLE_CHARTER.read_text().encode("utf-16")),
    ("binary with NUL bytes", b"\x00\x01\x02PK\x03\x04" * 50),
    ("empty file", ""),
    ("a YAML list", "- name: x\n"),
    ("a YAML scalar", "just words\n"),
    ("anchor bomb (billion laughs)", ANCHOR_BOMB),
    ("one alias", SAMPLE_CHARTER.read_text() + "location: &l Teams\nformat_note: *l\n"),
    ("merge key", "base: &b {cadence: monthly}\n<<: *b\n" + SAMPLE_CHARTER.read_text()),
    ("python object tag", "name: !!python/object/apply:os.system ['echo pwned']\n"),
    ("custom tag", "name: !include /etc/passwd\n"),
    ("unclosed bracket", "name: [oops\n"),
    ("tab indentation", "name: x\nmembers:\n\t- name: y\n"),
    ("nested 5000 deep", "name: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("larger than 256 KiB", SAMPLE_CHARTER.read_text() + "# " + "x" * 300_000 + "\n"),
]]


def test_bad_charters_are_one_line_and_nothing_stored(home: Path, tmp_path: Path, capsys: Any) -> None:
    before, wrong = snapshot(home), []
    for i, (label, body) in enumerate(BAD_CHARTERS):
        path = tmp_path / f"charter-{i}.yaml"
        path.write_bytes(body)
        code, out, err = run(capsys, "community", "create", str(path))
        if (code, out) != (2, "") or not err.startswith("copflow: ") or err.count("\n") != 1 \
                or "Traceback" in err or len(err) > 600:
            wrong.append(f"{label}: exit {code}: {err!r} {out[:80]!r}")
        path.unlink()
        DRILLS.hostile()
    assert not wrong, "\n".join(wrong)
    assert snapshot(home) == before


def test_missing_file_and_a_folder(home: Path, tmp_path: Path, capsys: Any) -> None:
    for target in (tmp_path / "nope.yaml", tmp_path):
        code, _, err = run(capsys, "community", "create", str(target))
        assert code == 2 and err.count("\n") == 1, err
        DRILLS.hostile()


# Command-line arguments against a stored, launched CoP: (label, argv, exit code).
BAD_ARGS: list[tuple[str, list[str], int]] = [
    ("impossible --today", ["member", "add", "aaot", "--name", "A B", "--email", "ab@example.org", "--today", "2027-02-30"], 2),
    ("empty --today", ["task", "add", "aaot", "A task", "--today", ""], 2),
    ("five-digit year", ["task", "add", "aaot", "A task", "--today", "99999-01-01"], 2),
    ("--on in month 13", ["session", "record", "aaot", "--on", "2027-13-01", "--attended", "lee@example.org"], 2),
    ("--due in words", ["task", "add", "aaot", "A task", "--due", "tomorrow"], 2),
    ("session in the future", ["session", "record", "aaot", "--on", "2030-01-01", "--attended", "lee@example.org", "--today", "2027-02-01"], 2),
    ("negative notice", ["close", "aaot", "--reason", "done", "--notice-days", "-1"], 2),
    ("notice beyond the calendar", ["close", "aaot", "--reason", "done", "--notice-days", "100000000"], 2),
    ("notice in words", ["close", "aaot", "--reason", "done", "--notice-days", "fortnight"], 2),
    ("blank reason", ["close", "aaot", "--reason", "   "], 2),
    ("CRLF in --name", ["member", "add", "aaot", "--name", "Eve\r\nBcc: all@example.org", "--email", "eve@example.org"], 2),
    ("--name of 201 characters", ["member", "add", "aaot", "--name", "n" * 201, "--email", "eve@example.org"], 2),
    ("empty --name", ["member", "add", "aaot", "--name", "", "--email", "eve@example.org"], 2),
    ("CRLF in --email", ["member", "add", "aaot", "--name", "Eve", "--email", "eve@example.org\r\nBcc: x@example.org"], 2),
    ("--email without a dot", ["member", "add", "aaot", "--name", "Eve", "--email", "eve@localhost"], 2),
    ("unknown --kind", ["member", "add", "aaot", "--name", "Eve", "--email", "eve@example.org", "--kind", "wizard"], 2),
    ("unknown --format", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "lee@example.org", "--format", "telepathy"], 2),
    ("LF in --topic", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "lee@example.org", "--topic", "a\nb"], 2),
    ("--topic of 301 characters", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "lee@example.org", "--topic", LONG], 2),
    ("--story of 100 000 characters", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "lee@example.org", "--story", "s" * 100_000], 2),
    ("--notes of 100 000 characters", ["task", "add", "aaot", "A task", "--notes", "n" * 100_000], 2),
    ("title with CRLF", ["task", "add", "aaot", "Title\r\nBcc: x@example.org"], 2),
    ("unknown attendee", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "ghost@example.org"], 2),
    ("malformed attendee", ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "not-an-email"], 2),
    ("task id beyond any database", ["task", "done", "aaot", "99999999999999999999"], 2),
    ("negative task id", ["task", "done", "aaot", "-1"], 2),
    ("task id in words", ["task", "done", "aaot", "first"], 2),
    ("slug with ../", ["community", "show", "../../etc/passwd"], 2),
    ("slug of 10 000 characters", ["community", "show", "a" * 10_000], 2),
    ("slug with SQL", ["audit", "aaot'; DROP TABLE community; --"], 2),
    ("leave with a malformed address", ["member", "leave", "aaot", "not-an-email"], 2),
    ("empty --as", ["task", "add", "aaot", "A task", "--as", ""], 2),
    ("--as with CRLF inside", ["task", "add", "aaot", "A task", "--as", "dana@example.nhs.uk\r\nX: y"], 2),
    ("--as with HTML", ["rotate", "aaot", "--as", "<script>@example.org"], 2),
    ("launch an unknown CoP", ["launch", "nope"], 2),
    ("archive SLUG and --all", ["archive", "aaot", "--all"], 2),
    ("rotate neither SLUG nor --all", ["rotate"], 2),
    ("report with an impossible date", ["report", "aaot", "--today", "2027-04-31"], 2),
    ("successor is itself", ["close", "aaot", "--reason", "done", "--successor", "aaot"], 2),
    ("unknown successor", ["close", "aaot", "--reason", "done", "--successor", "nope"], 2),
    ("unknown option", ["close", "aaot", "--reason", "done", "--force"], 2),
]


@pytest.fixture
def launched(home: Path) -> str:
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch
    from tasks.usecases.communities import create_community
    from tasks.usecases.sessions import record_session
    from tasks.charter_file import load_charter

    with session_scope() as db:
        create_community(db, load_charter(SAMPLE_CHARTER), date(2027, 1, 1))
    with session_scope() as db:
        launch(db, "aaot", actor=None, today=date(2027, 1, 4), flow_run_id=None)
    with session_scope() as db:
        record_session(db, "aaot", held_on=date(2027, 1, 10), attended=["lee@example.org"], format=None,
                       topics=[], actor=None, today=date(2027, 1, 10))
    return "aaot"


def test_bad_arguments_are_one_line_and_change_nothing(home: Path, launched: str, capsys: Any) -> None:
    before = snapshot(home)
    wrong = []
    for label, argv, want in BAD_ARGS:
        code, out, err = run(capsys, *argv)
        if code != want or err.count("\n") != 1 or not err.startswith("copflow: ") or "Traceback" in err:
            wrong.append(f"{label}: exit {code} (want {want}): {err!r} {out[:100]!r}")
        DRILLS.hostile()
    assert not wrong, "\n".join(wrong)
    assert snapshot(home) == before


# Accepted: stored as typed, rendered safely. (label, text used as a name or topic)
TRICKY_TEXT = [
    ("script tag", "<script>alert('x')</script>"),
    ("image with onerror", '<img src=x onerror="alert(1)">'),
    ("already-escaped HTML", "Fish &amp; chips &lt;b&gt;"),
    ("quotes and ampersand", "O'Brien & \"Sons\""),
    ("template syntax", "{{ 7 * 7 }} {% raw %}"),
    ("joiners in Persian and an emoji", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\u2695"),
    ("address punctuation", "Lee (Leeds) <x>, Ray; \"q\" =? y"),
    ("backslashes", "C:\\cases\\new \\[x\\]"),
    ("emoji and CJK", "Café ☕ 学习小组"),
    ("markdown link", "[click](javascript:alert(1))"),
]


@pytest.mark.parametrize("label, text", TRICKY_TEXT, ids=[label for label, _ in TRICKY_TEXT])
def test_tricky_text_is_stored_as_typed_and_escaped_once(home: Path, tmp_path: Path, capsys: Any,
                                                         label: str, text: str) -> None:
    from tasks.usecases.archive import archive
    from tasks.usecases.close import close
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(name=f"{text} CoP", slug="tricky", domain=f"Domain {text}",
                                 members=member(name=f"{text} Member")))
    code, out, err = run(capsys, "community", "create", str(path))
    assert (code, out.strip()) == (0, "tricky"), err
    code, out, err = run(capsys, "community", "show", "tricky")
    assert code == 0 and f"{text} CoP" in out  # the terminal shows it as typed
    code, out, err = run(capsys, "session", "record", "tricky", "--on", "2027-01-01", "--attended",
                         "lee@example.org", "--topic", text, "--story", f"Story {text}")
    assert code == 3  # proposed: no sessions yet; nothing was written
    with session_scope() as db:
        launch(db, "tricky", actor=None, today=date(2027, 1, 4), flow_run_id=None)
    code, out, err = run(capsys, "session", "record", "tricky", "--on", "2027-01-14", "--attended",
                         "lee@example.org", "zed@example.org", "--topic", text, "--story", f"Story {text}",
                         "--today", "2027-01-14")
    assert code == 0, err
    s.deliver_everything()
    invitation = _eml(home, "invite:tricky:zed@example.org")
    _escaped_once(invitation, f"{text} CoP")
    _escaped_once(invitation, f"{text} Member")
    assert str(invitation["Subject"]).count(f"{text} CoP") == 1
    # The sponsor report and the archive: the topic and story as typed, escaped once.
    with session_scope() as db:
        close(db, "tricky", actor=None, reason=f"Done: {text}", successor=None, notice_days=0,
              today=date(2027, 4, 2), flow_run_id=None)
    with session_scope() as db:
        archive(db, "tricky", actor=None, now=False, today=date(2027, 4, 2), flow_run_id=None)
    s.deliver_everything()
    report = _eml(home, "final-report:tricky:priya@example.nhs.uk")
    _escaped_once(report, text)
    bundle = home / "archives" / "tricky"
    s.verify_bundle(bundle)
    data = json.loads((bundle / "community.json").read_text())
    assert data["charter"]["name"] == f"{text} CoP" and data["sessions"][0]["topics"] == [text]
    summary = (bundle / "summary.md").read_text()
    assert _markdown_text(summary).count(f"{text} CoP") >= 1
    assert "<" not in summary.replace("<!--", "")  # no raw tag for a markdown renderer to run
    DRILLS.hostile()


def _eml(home: Path, key: str) -> Any:
    from tasks.email.transports import FileTransport

    return message_from_bytes(FileTransport(home / "outbox").path_for(key).read_bytes(), policy=policy.default)


def _escaped_once(message: Any, text: str) -> None:
    plain = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    assert text in plain, f"plain text lost {text!r}"
    # Unescaping the HTML once gives the text back: neither lost nor escaped twice.
    assert text in html.unescape(markup), f"HTML lost or doubled the escaping of {text!r}"
    if any(c in text for c in "<>&"):
        assert text not in markup, f"HTML holds {text!r} unescaped"


def _markdown_text(markdown: str) -> str:
    return as_shown(markdown)


def test_unusual_but_valid_addresses(home: Path, tmp_path: Path, capsys: Any) -> None:
    """Accepted as the standard allows; sent where a transport can carry them, else recorded."""
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    unusual = {
        "o'neil@example.org": "sent", "first.last+tag@sub.example.co.uk": "sent",
        "Mixed.Case@Example.ORG": "sent", "x@xn--bcher-kva.example": "sent",
        "jo@bücher.example": "sent", "josé@example.org": "failed",
        "a-b_c@example-domain.nhs.uk": "sent", "1234@example.org": "sent",
    }
    people = [{"name": f"Person {i}", "email": e} for i, e in enumerate(unusual)]
    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(members=BASE["members"] + people))
    assert run(capsys, "community", "create", str(path))[0] == 0
    with session_scope() as db:
        launch(db, "aaot", actor=None, today=date(2027, 1, 4), flow_run_id=None)
    s.deliver_everything()
    rows = {r.to_email: r for r in s.outbox_rows("member-invitation")}
    stored = {"Mixed.Case@Example.ORG": "mixed.case@example.org", "x@xn--bcher-kva.example": "x@bücher.example"}
    for address, outcome in unusual.items():
        row = rows[stored.get(address, address)]
        assert row.status == outcome, (address, row.last_error)
        if outcome == "failed":
            assert "SMTPUTF8" in row.last_error
        DRILLS.hostile()
    files = s.eml_files(home)
    assert files["invite:aaot:jo@bücher.example"]["To"].addresses[0].addr_spec == "jo@xn--bcher-kva.example"
    code, out, _ = run(capsys, "outbox", "--failed")
    assert code == 0 and "josé@example.org" in out and "SMTPUTF8" in out


def test_stored_text_that_bypassed_the_checks(home: Path, launched: str, capsys: Any) -> None:
    """Rows written by other means (an old version, a hand edit) still fail safely."""
    from sqlalchemy import update

    from models.errors import BadInput
    from models.db.tables import Community, Person
    from tasks.usecases.close import close
    from tasks.storage.db import session_scope

    with session_scope() as db:  # a name with CRLF reaches an email header: refused there
        db.execute(update(Person).where(Person.email == "lee@example.org").values(name="Lee\r\nBcc: x@example.org"))
    before = snapshot(home)
    with pytest.raises(BadInput, match="one line"):
        with session_scope() as db:
            close(db, "aaot", actor=None, reason="done", successor=None, notice_days=14,
                  today=date(2027, 2, 1), flow_run_id=None)
    assert snapshot(home) == before  # no stage change, no audit entry, no half the emails
    with session_scope() as db:
        db.execute(update(Community).values(stage="hibernating"))
    for argv in (["community", "show", "aaot"], ["task", "add", "aaot", "A task"], ["launch", "aaot"]):
        code, _, err = run(capsys, *argv)
        assert code == 1 and err.count("\n") == 1 and "unknown stage 'hibernating'" in err, err
        DRILLS.hostile()
    DRILLS.hostile()
