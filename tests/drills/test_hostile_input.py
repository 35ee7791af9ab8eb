"""Drill 4: hostile and malformed input across charters, command-line arguments and stored text.
Each case gets one clear line and exit 2 with nothing written, or is stored and then rendered
safely: escaped exactly once in HTML, as typed in plain text, never a traceback.

Commands run in this process through the real command line (cli.app.main) so a hundred cases
stay quick; lifecycle steps that would start Prefect run their use cases directly.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import stat
from collections import Counter
from collections.abc import Callable
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from models.db.tables import Base
from models.stories import Consent
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
        return (*rows, db.execute(select(func.sum(Base.metadata.tables["community"].c.version))).scalar())
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
    from tasks.charter_file import load_charter
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community
    from tasks.usecases.launch import launch
    from tasks.usecases.sessions import record_session

    with session_scope() as db:
        create_community(db, load_charter(SAMPLE_CHARTER), date(2027, 1, 1))
    with session_scope() as db:
        launch(db, "aaot", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
    with session_scope() as db:
        record_session(db, "aaot", held_on=date(2027, 1, 10), attended=["lee@example.org"], format=None,
                       topics=[], actor="dana@example.nhs.uk", today=date(2027, 1, 10))
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
    from tasks.storage.db import session_scope
    from tasks.usecases.archive import archive
    from tasks.usecases.close import close
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
        launch(db, "tricky", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
    code, out, err = run(capsys, "session", "record", "tricky", "--on", "2027-01-14", "--attended",
                         "lee@example.org", "zed@example.org", "--topic", text, "--story", f"Story {text}",
                         "--consent", "named",
                         "--today", "2027-01-14")
    assert code == 0, err
    s.deliver_everything()
    invitation = _eml(home, "invite:tricky:zed@example.org")
    _escaped_once(invitation, f"{text} CoP")
    _escaped_once(invitation, f"{text} Member")
    assert str(invitation["Subject"]).count(f"{text} CoP") == 1
    # The sponsor report and the archive: the topic and story as typed, escaped once.
    with session_scope() as db:
        close(db, "tricky", actor="dana@example.nhs.uk", reason=f"Done: {text}", successor=None, notice_days=0,
              today=date(2027, 4, 2), flow_run_id=None)
    with session_scope() as db:
        archive(db, "tricky", actor="dana@example.nhs.uk", now=False, today=date(2027, 4, 2), flow_run_id=None)
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
        launch(db, "aaot", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
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

    from models.db.tables import Community, Person
    from models.errors import BadInput
    from tasks.storage.db import session_scope
    from tasks.usecases.close import close

    with session_scope() as db:  # a name with CRLF reaches an email header: refused there
        db.execute(update(Person).where(Person.email == "lee@example.org").values(name="Lee\r\nBcc: x@example.org"))
    before = snapshot(home)
    with pytest.raises(BadInput, match="one line"), session_scope() as db:
        close(db, "aaot", actor="dana@example.nhs.uk", reason="done", successor=None, notice_days=14,
              today=date(2027, 2, 1), flow_run_id=None)
    assert snapshot(home) == before  # no stage change, no audit entry, no half the emails
    with session_scope() as db:
        db.execute(update(Community).values(stage="hibernating"))
    for argv in (["community", "show", "aaot"], ["task", "add", "aaot", "A task"], ["launch", "aaot"]):
        code, _, err = run(capsys, *argv)
        assert code == 1 and err.count("\n") == 1 and "unknown stage 'hibernating'" in err, err
        DRILLS.hostile()
    DRILLS.hostile()


# --- Trust: header injection, files others could read or redirect, markdown and terminal ---------

B64_ATTACK = base64.b64encode(b"Lee\r\nBcc: x@attacker.example").decode()
ENCODED_WORDS = [
    "=?utf-8?q?Lee=0D=0ABcc=3A_x=40attacker.example?=",
    "=?UTF-8?Q?Lee=0D=0ABcc=3A_x=40attacker.example?=",
    f"=?utf-8?b?{B64_ATTACK}?=",
    f"=?UTF-8?B?{B64_ATTACK}?=",
    f"=?Utf-8?b?{B64_ATTACK}?=",
    "=?iso-8859-1?q?Lee=0ABcc:_x@attacker.example?=",
    "=?utf-8*en?q?Lee=0D=0A?=",
    "Lee =?utf-8?Q?=0D=0A?= Bcc: x@attacker.example",
    "=?us-ascii?q?URGENT=3A_reset_your_NHSmail_password?=",
    "x =? y ?= z",
]
# Line breaks a mail reader or a terminal honours, bidi and other format characters, controls.
SEPARATORS = {
    "LINE SEPARATOR": "\u2028", "PARAGRAPH SEPARATOR": "\u2029", "NEXT LINE": "\x85",
    "LRM": "\u200e", "RLM": "\u200f", "LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c",
    "LRO": "\u202d", "RLO": "\u202e", "LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068",
    "PDI": "\u2069", "ARABIC LETTER MARK": "\u061c", "BOM": "\ufeff", "ZWSP": "\u200b",
    "WORD JOINER": "\u2060", "SOFT HYPHEN": "\u00ad", "TAG A": "\U000e0041",
    "INTERLINEAR ANNOTATION": "\ufff9", "NUL": "\x00", "BEL": "\x07", "BACKSPACE": "\x08",
    "VT": "\x0b", "FF": "\x0c", "CR": "\r", "LF": "\n", "CRLF": "\r\n", "TAB": "\t", "DEL": "\x7f",
    "C1 CSI": "\x9b31m", "FS": "\x1c", "US": "\x1f", "ESC colour": "\x1b[31m",
    "ESC title": "\x1b]0;OWNED\x07", "ESC clear": "\x1b[2J\x1b[H",
}
# (label, the trick, the whole value)
# PostgreSQL refuses a NUL in any text column, so no old version or hand edit can have stored
# one there: the drills that write past the checks leave NUL out on PostgreSQL.
ON_POSTGRES = bool(os.environ.get("COPFLOW_TEST_POSTGRES_URL"))


def storable(text: str) -> bool:
    return not (ON_POSTGRES and "\x00" in text)


UNSAFE = [(f"encoded word {i + 1}", w, w) for i, w in enumerate(ENCODED_WORDS)] + [
    (label, ch, f"Lee{ch}Bcc: x@attacker.example") for label, ch in SEPARATORS.items()]
MULTILINE = {"domain", "practice", "--story", "--notes", "--reason"}


def unsafe_for(field: str) -> list[tuple[str, str, str]]:
    """The unsafe values for a field: plain text allows newlines and tabs; --reason collapses
    any whitespace (a Unicode line separator too) to a space, so those are not tricks there."""
    cases = UNSAFE
    if field in MULTILINE:
        cases = [c for c in cases if c[1] not in ("\n", "\t")]
    if field == "--reason":
        cases = [c for c in cases if not c[1].isspace()]
    return cases


CHARTER_FIELDS: dict[str, Callable[[str], dict[str, Any]]] = {
    "name": lambda v: {"name": v},
    "convenor.name": lambda v: {"convenor": {**BASE["convenor"], "name": v}},
    f"members[{len(BASE['members'])}].name": lambda v: {"members": member(name=v)},
    "sponsors[0].name": lambda v: {"sponsors": [{**BASE["sponsors"][0], "name": v}]},
    "sponsors[0].organisation": lambda v: {"sponsors": [{**BASE["sponsors"][0], "organisation": v}]},
    "location": lambda v: {"location": v},
    "domain": lambda v: {"domain": v},
    "practice": lambda v: {"practice": v},
}


def _no_raw_controls(text: str) -> bool:
    from models.text import first_unsafe

    return first_unsafe(text, "\n") is None


def test_unsafe_text_in_every_charter_field_is_refused(home: Path, tmp_path: Path, capsys: Any) -> None:
    before, wrong = snapshot(home), []
    path = tmp_path / "charter.yaml"
    for field, change in CHARTER_FIELDS.items():
        for label, _, text in unsafe_for(field):
            # Escaped, so the YAML reader hands over the very characters (it folds a raw NEL).
            written = yaml.safe_dump({**BASE, **change(text)}, allow_unicode=False, sort_keys=False)
            assert yaml.safe_load(written) == {**BASE, **change(text)}
            path.write_text(written, encoding="utf-8")
            code, out, err = run(capsys, "community", "create", str(path))
            if (code, out) != (2, "") or err.count("\n") != 1 or f"{field}: must" not in err \
                    or not _no_raw_controls(err):
                wrong.append(f"{field} with {label}: exit {code}: {err!r}")
            DRILLS.hostile()
    assert not wrong, "\n".join(wrong)
    assert snapshot(home) == before


SESSION = ["session", "record", "aaot", "--on", "2027-01-14", "--attended", "lee@example.org"]
ARG_FIELDS: dict[str, Callable[[str], list[str]]] = {
    "--name": lambda v: ["member", "add", "aaot", "--name", v, "--email", "eve@example.org"],
    "--topic": lambda v: [*SESSION, "--topic", v],
    "--method": lambda v: [*SESSION, "--method", v],
    "--output": lambda v: [*SESSION, "--output", v],
    "--story": lambda v: [*SESSION, "--story", v],
    "TITLE": lambda v: ["task", "add", "aaot", v],
    "--notes": lambda v: ["task", "add", "aaot", "A task", "--notes", v],
    "--reason": lambda v: ["close", "aaot", "--reason", v],
}


def test_unsafe_text_in_every_free_text_argument_is_refused(home: Path, launched: str, capsys: Any) -> None:
    before, wrong = snapshot(home), []
    for field, argv in ARG_FIELDS.items():
        for label, _, text in [*unsafe_for(field), ("lone surrogate", "\udc80", "Lee\udc80")]:
            code, out, err = run(capsys, *argv(text))
            if (code, out) != (2, "") or err.count("\n") != 1 or not err.startswith(f"copflow: {field}: ") \
                    or not _no_raw_controls(err):
                wrong.append(f"{field} with {label}: exit {code}: {err!r}")
            DRILLS.hostile()
    assert not wrong, "\n".join(wrong)
    assert snapshot(home) == before


def test_stored_names_that_bypassed_the_checks_never_reach_a_header(home: Path, launched: str) -> None:
    """A person's name or a CoP's name written straight into the database (an old version, a
    hand edit): the email is refused when queued, and nothing of the close is written."""
    from sqlalchemy import update

    from models.db.tables import Community, Person
    from models.errors import BadInput
    from tasks.rendering import render_email
    from tasks.storage.db import session_scope
    from tasks.usecases.close import close

    before = snapshot(home)
    targets = [(update(Person).where(Person.email == "lee@example.org"), "name", "Lee Hart"),
               (update(Community).where(Community.slug == "aaot"), "name", "AAOT")]
    for n, (statement, column, good) in enumerate(targets):
        for _label, trick, text in UNSAFE:
            if not storable(text):
                continue
            if n == 1 and trick.isspace():
                continue  # a subject's whitespace is collapsed to one space: below
            with session_scope() as db:
                db.execute(statement.values({column: text}))
            with pytest.raises(BadInput, match="a header is one line"), session_scope() as db:
                close(db, "aaot", actor="dana@example.nhs.uk", reason="done", successor=None, notice_days=14,
                      today=date(2027, 2, 1), flow_run_id=None)
            with session_scope() as db:
                db.execute(statement.values({column: good}))
            DRILLS.hostile()
    assert snapshot(home) == before
    for label, trick, text in UNSAFE:
        if trick.isspace():
            subject = render_email("continuing-notice", community={"name": text}, **_notice_context()).subject
            assert subject == "[copflow] Lee Bcc: x@attacker.example is carrying on", label
            DRILLS.hostile()


def _notice_context() -> dict[str, Any]:
    return {"recipient_name": "Lee", "reply_to": None, "decided_by": "Dana", "decided_by_convenor": True,
            "decided_by_you": False}


def _raw_row(key: str, *, subject: str = "[copflow] Hello", to_name: str = "Lee Hart",
             to_email: str = "lee@example.org") -> Any:
    from datetime import datetime

    from models.db.tables import OutboxMessage

    return OutboxMessage(key=key, community_id=None, template="test", to_name=to_name, to_email=to_email,
                         subject=subject, text_body="Hello", html_body="<p>Hello</p>", calendar=None,
                         status="pending", attempts=0, queued_on=date(2027, 1, 1),
                         queued_at=datetime(2027, 1, 1, 9))


def test_outbox_rows_that_bypassed_the_checks_are_never_written(home: Path) -> None:
    """Rows written straight into the outbox: each refused as its message is built, the reason
    recorded, no file written; a good row beside them goes out with exactly its headers."""
    from tasks.storage.db import session_scope

    with session_scope() as db:
        for i, (_, _, text) in enumerate(u for u in UNSAFE if storable(u[2])):
            db.add(_raw_row(f"test:subject:{i}", subject=text))
            db.add(_raw_row(f"test:name:{i}", to_name=text))
        db.add(_raw_row("test:good"))
    s.deliver_everything()
    rows = {r.key: r for r in s.outbox_rows()}
    bad = [r for key, r in rows.items() if key != "test:good"]
    assert all(r.status == "failed" and (r.last_error or "").startswith("not sent: the ") for r in bad), \
        [(r.key, r.status, r.last_error) for r in bad if r.status != "failed"]
    assert rows["test:good"].status == "sent"
    files = s.eml_files(home)
    assert list(files) == ["test:good"]
    _headers_exactly(files["test:good"], subject="[copflow] Hello", name="Lee Hart", address="lee@example.org")
    DRILLS.hostile(len(bad))


@pytest.mark.parametrize("word", ENCODED_WORDS[:-1])
def test_the_read_back_refuses_an_encoded_word_even_past_the_first_check(
        word: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second line of defence on its own: with the character check switched off, a header
    that would not read back as written is still refused."""
    from types import SimpleNamespace

    from tasks.email import message
    from tasks.storage.settings import Settings

    monkeypatch.setattr(message, "text_problem", lambda value, **_: None)
    for subject, name in ((word, "Lee Hart"), ("[copflow] Hello", word)):
        row = SimpleNamespace(**{c: getattr(_raw_row("test:k", subject=subject, to_name=name), c) for c in (
            "key", "to_name", "to_email", "reply_to_name", "reply_to_email", "subject", "text_body",
            "html_body", "calendar", "queued_at")})
        with pytest.raises(ValueError, match="would not read back as written"):
            message.build_message(row, Settings())  # type: ignore[arg-type]
        DRILLS.hostile()


HEADERS_WRITTEN = ["Subject", "From", "To", "Message-ID", "Date", "X-Copflow-Key", "MIME-Version",
                   "Content-Type"]


def _headers_exactly(msg: Any, *, subject: str, name: str, address: str,
                     reply: tuple[str, str] | None = None) -> None:
    """The written bytes, parsed back: exactly the headers copflow meant, with its values; a
    Reply-To only when meant, and then exactly the one person meant."""
    assert sorted(msg.keys()) == sorted(HEADERS_WRITTEN + ["Reply-To"] * bool(reply)), msg.keys()
    assert str(msg["Subject"]).strip() == subject  # a folded header starts after the colon's space
    to = msg["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [(name, address)]
    if reply:
        assert [(a.display_name, a.addr_spec) for a in msg["Reply-To"].addresses] == [reply]
    assert not any(h in msg for h in ("Bcc", "Cc"))


GOOD_NAMES = ["O'Brien & \"Sons\"", "José Ñúñez", "Lee (Leeds) <x>", "Zed, Ray; x", "C:\\back\\slash",
              "学习小组 ☕", "a@b.example", "x =? y", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
              "Bcc: x@attacker.example", "To: y@example.org", "n" * 200, "\"quoted\" \\\" name"]


def test_names_that_look_like_headers_are_written_as_exactly_one_name(home: Path, tmp_path: Path,
                                                                       capsys: Any) -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    cop = "Bcc: all@example.org; To: x@y.example (\"CoP\")"
    people = [{"name": n, "email": f"m{i}@example.org"} for i, n in enumerate(GOOD_NAMES)]
    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(name=cop, slug="names", members=BASE["members"] + people))
    assert run(capsys, "community", "create", str(path))[0] == 0
    with session_scope() as db:
        launch(db, "names", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
    s.deliver_everything()
    files = s.eml_files(home)
    convenor = (BASE["convenor"]["name"], BASE["convenor"]["email"])
    for i, name in enumerate(GOOD_NAMES):
        _headers_exactly(files[f"invite:names:m{i}@example.org"], subject=f"[copflow] You're invited: {cop}",
                         name=name, address=f"m{i}@example.org", reply=convenor)
        DRILLS.hostile()
    assert all(m["Subject"].strip().startswith("[copflow] ") for m in files.values())


@pytest.mark.parametrize("name", GOOD_NAMES[:8])
def test_a_convenor_name_that_looks_like_headers_is_one_reply_to(home: Path, tmp_path: Path, capsys: Any,
                                                                 name: str) -> None:
    """Members' emails reply to the convenor: their name, however it looks, is one display name."""
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(convenor={**BASE["convenor"], "name": name}))
    assert run(capsys, "community", "create", str(path))[0] == 0
    with session_scope() as db:
        launch(db, "aaot", actor=BASE["convenor"]["email"], today=date(2027, 1, 4), flow_run_id=None)
    s.deliver_everything()
    invitations = [m for key, m in s.eml_files(home).items() if key.startswith("invite:")]
    assert invitations
    for msg in invitations:
        _headers_exactly(msg, subject=str(msg["Subject"]).strip(), name=msg["To"].addresses[0].display_name,
                         address=msg["To"].addresses[0].addr_spec, reply=(name, BASE["convenor"]["email"]))
    DRILLS.hostile()


def test_a_cop_name_cannot_pose_as_an_instruction(home: Path, tmp_path: Path, capsys: Any) -> None:
    """A subject starts with the [copflow] tag, then the CoP's name, at most 120 characters."""
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(name="x" * 121))
    code, _, err = run(capsys, "community", "create", str(path))
    assert code == 2 and "name: String should have at most 120 characters" in err, err
    path.write_text(charter_text(name="URGENT: reset your NHSmail password", slug="urgent"))
    assert run(capsys, "community", "create", str(path))[0] == 0
    with session_scope() as db:
        launch(db, "urgent", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
    subjects = {r.subject for r in s.outbox_rows()}
    assert subjects == {"[copflow] You're invited: URGENT: reset your NHSmail password",
                        "[copflow] For information: URGENT: reset your NHSmail password has launched"}
    DRILLS.hostile(2)


# --- files -----------------------------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_every_file_copflow_writes_is_its_users_alone(tmp_path: Path) -> None:
    """Under the loosest umask: the home (and a missing parent) 0700, the database and its
    journal 0600, the outbox and archives 0700, every .eml and bundle file 0600."""
    from tasks.storage.db import session_scope, upgrade
    from tasks.usecases.archive import archive
    from tasks.usecases.close import close

    home = tmp_path / "new" / "copflow-data"
    previous = os.umask(0)
    try:
        with s.using_home(home):
            upgrade()
            s.active_cop("aaot", sessions=1)
            with session_scope() as db:
                close(db, "aaot", actor="dana@example.nhs.uk", reason="done", successor=None, notice_days=0,
                      today=date(2027, 4, 2), flow_run_id=None)
            with session_scope() as db:
                archive(db, "aaot", actor="dana@example.nhs.uk", now=False, today=date(2027, 4, 2), flow_run_id=None)
            s.deliver_everything()
    finally:
        os.umask(previous)
    folders = [home.parent, home, home / "outbox", home / "archives", home / "archives" / "aaot"]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {str(f.relative_to(home)) for f in files} >= {"copflow.db", "archives/aaot/summary.md"}
    assert len([f for f in files if f.suffix == ".eml"]) > 5
    assert {str(p): oct(_mode(p)) for p in folders if _mode(p) != 0o700} == {}
    assert {str(p): oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
    DRILLS.hostile(len(folders) + len(files))


# On PostgreSQL the home holds no database, and a read-only command opens nothing in it; the
# outbox and archive folders it does hold are checked as they are written (the test below).
HOME_HOLDS_THE_DATABASE = pytest.mark.skipif(ON_POSTGRES, reason="the database is not in the home")


@HOME_HOLDS_THE_DATABASE
@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777, 0o720, 0o702])
def test_a_home_others_can_write_in_is_refused(home: Path, capsys: Any, mode: int) -> None:
    from tasks.storage.db import engine_for

    engine_for.cache_clear()  # this process made its engine before the change
    home.chmod(mode)
    try:
        for argv in (["community", "list"], ["init"]):
            code, out, err = run(capsys, *argv)
            assert (code, out) == (2, "") and err.count("\n") == 1, err
            if mode == 0o1777:  # like /tmp: not a folder to make private, but to move out of
                assert f"COPFLOW_HOME {home} is shared with other users (mode 1777)" in err, err
            else:
                assert f"COPFLOW_HOME {home} can be written by other users (mode {mode:04o})" in err
                assert f"chmod 700 {home}" in err
            DRILLS.hostile()
    finally:
        home.chmod(0o700)
        engine_for.cache_clear()


@HOME_HOLDS_THE_DATABASE
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_home_another_user_owns_is_refused(home: Path, capsys: Any) -> None:
    from tasks.storage.db import engine_for

    engine_for.cache_clear()
    os.chown(home, 4242, -1)
    try:
        code, _, err = run(capsys, "community", "list")
        assert code == 2 and f"COPFLOW_HOME {home} belongs to another user (uid 4242)" in err, err
    finally:
        os.chown(home, 0, -1)
        engine_for.cache_clear()
    DRILLS.hostile()


def test_an_outbox_or_archive_folder_others_can_write_in_is_refused(home: Path, launched: str) -> None:
    from models.errors import BadInput
    from tasks.archive.bundle import write_bundle
    from tasks.email.delivery import deliver_pending
    from tasks.email.transports import FileTransport

    outbox = home / "outbox"
    outbox.mkdir(exist_ok=True)
    outbox.chmod(0o777)
    with pytest.raises(BadInput, match=f"the outbox folder {outbox} can be written by other users"):
        FileTransport(outbox)
    with pytest.raises(BadInput, match="the outbox folder"):
        deliver_pending(None)  # the invitations wait, unsent, until the folder is private
    assert {r.status for r in s.outbox_rows()} == {"pending"} and not list(outbox.iterdir())
    outbox.chmod(0o700)
    home.chmod(0o775)
    with pytest.raises(BadInput, match=f"the folder holding the outbox {home} can be written"):
        FileTransport(outbox)
    home.chmod(0o700)
    archives = home / "archives"
    archives.mkdir(mode=0o777)
    archives.chmod(0o777)
    with pytest.raises(BadInput, match=f"the archive folder {archives} can be written by other users"):
        write_bundle({"charter": {}}, "aaot")
    assert list(archives.iterdir()) == []
    DRILLS.hostile(4)


def test_the_outbox_follows_no_link_it_did_not_make(tmp_path: Path) -> None:
    """Links planted at the old predictable temp name, at the message's own name and at its
    temp name: the file the links point at is untouched, and the message is a file of its own."""
    import re

    from tasks.email.transports import FileTransport

    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    transport = FileTransport(tmp_path / "outbox")
    key = "invite:aaot:lee@example.org"
    path = transport.path_for(key)
    legacy = transport.folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".eml")
    for planted in (legacy.with_suffix(".eml.tmp"), legacy, path, path.with_suffix(".eml.tmp")):
        planted.symlink_to(victim)
    message = _built(key)
    assert transport.send(key, message) == str(path)
    assert victim.read_text() == "root's file\n"
    assert path.is_file() and not path.is_symlink() and _mode(path) == 0o600
    assert _parse(path.read_bytes())["X-Copflow-Key"] == key
    DRILLS.hostile(4)


def test_outbox_names_never_collide(tmp_path: Path) -> None:
    from tasks.email.transports import FileTransport

    transport = FileTransport(tmp_path / "outbox")
    keys = ["invite:aaot:first+tag@example.org", "invite:aaot:first_tag@example.org",
            "invite:aaot:first/tag@example.org", "invite:aaot:first tag@example.org",
            "invite_aaot_first_tag@example.org", "x" * 300, "x" * 301,
            "close-proposal:aaot:attendance-fallen-away:2027-11-01:dana@example.nhs.uk"]  # folds
    for key in keys:
        transport.send(key, _built(key))
        DRILLS.hostile()
    written = sorted(transport.folder.iterdir())
    assert len(written) == len(keys) and all(len(p.name) < 200 for p in written)
    assert sorted(str(_parse(p.read_bytes())["X-Copflow-Key"]).strip() for p in written) == sorted(keys)


def test_two_addresses_that_used_to_share_a_file_get_an_email_each(home: Path, tmp_path: Path,
                                                                      capsys: Any) -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    path = tmp_path / "charter.yaml"
    path.write_text(charter_text(members=BASE["members"] + [
        {"name": "First Plus", "email": "first+tag@example.org"},
        {"name": "First Under", "email": "first_tag@example.org"}]))
    assert run(capsys, "community", "create", str(path))[0] == 0
    with session_scope() as db:
        launch(db, "aaot", actor="dana@example.nhs.uk", today=date(2027, 1, 4), flow_run_id=None)
    s.deliver_everything()
    files = s.eml_files(home)
    for address, name in (("first+tag@example.org", "First Plus"), ("first_tag@example.org", "First Under")):
        assert files[f"invite:aaot:{address}"]["To"].addresses[0].display_name == name
    assert len(files) == len(s.outbox_rows()) and {r.status for r in s.outbox_rows()} == {"sent"}
    DRILLS.hostile()


def _built(key: str) -> Any:
    from tasks.email.message import build_message
    from tasks.storage.settings import Settings

    return build_message(_raw_row(key), Settings())


def _parse(data: bytes) -> Any:
    return message_from_bytes(data, policy=policy.default)


# --- markdown and the terminal -----------------------------------------------------------------------

MARKDOWN_TRICKS = [
    "x\n# Reset your password\n[NHS login](https://phish.example/login)",
    "[click](javascript:alert(1))", "![t](https://track.example/p.gif)", "<img src=x onerror=alert(1)>",
    "# heading", "  - item after spaces", "   2) item after spaces", "~~struck~~", "## sub", "- item", "+ item", "* item", "1. item", "> quote", "---", "===",
    "| a | b |", "`code`", "*bold* _it_ **b** __u__", "\\[escaped\\]", "&#x23; &amp; &lt;b&gt;",
    "<https://auto.example>", "www.evil.example", "https://evil.example/x", "{: .class}",
    "[ref]: https://evil.example", "x\u2028# sep\u2029## para\x85### nel", "line\\\n# after a backslash",
]


def _tags(markdown: str) -> Counter[str]:
    """The HTML elements a CommonMark renderer (with tables) makes of this markdown."""
    from markdown_it import MarkdownIt

    html_out = MarkdownIt("commonmark").enable("table").render(markdown)
    return Counter(re.findall(r"<([a-z][a-z0-9]*)", html_out))


def _plain(value: Any) -> Any:
    """The same data with every string (but a date) replaced by plain words: the shape a
    template renders, with nothing in it that markdown could read."""
    if isinstance(value, str):
        return value if not value or re.match(r"\d{4}-\d\d-\d\d", value) else "plain words"
    if isinstance(value, dict):  # an event or a consent is copflow's own vocabulary, not user text
        return {k: v if k in ("event", "consent") else _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _only_text(markdown: str, plain: str) -> None:
    """No user text became markdown: the same elements as with plain words, the same lines (so
    no line of its own, no heading), no link or image syntax, no HTML tag."""
    assert _tags(markdown) == _tags(plain), (_tags(markdown) - _tags(plain), _tags(plain) - _tags(markdown))
    lines, plain_lines = markdown.splitlines(), plain.splitlines()
    assert len(lines) == len(plain_lines)
    assert [line[:1] == "#" for line in lines] == [line[:1] == "#" for line in plain_lines]
    unescaped = re.sub(r"\\.", "", markdown)  # what is left once every escaped character is taken out
    assert "](" not in unescaped and "![" not in unescaped and "<" not in markdown


@pytest.mark.parametrize("trick", MARKDOWN_TRICKS)
def test_markdown_shows_user_text_as_text(home: Path, tmp_path: Path, trick: str) -> None:
    """Every free-text field of the archive summary and of the Prefect artifacts holds the trick."""
    from models.db.tables import SponsorReport
    from tasks.rendering import render
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community
    from tasks.usecases.archive import archive
    from tasks.usecases.close import close
    from tasks.usecases.planning_tasks import add_task
    from tasks.usecases.sessions import record_session
    from tasks.usecases.sponsor_reports import report_markdown

    one_line = " ".join(trick.split())
    trick = re.sub("[\u2028\u2029\x85]", "\n", trick)  # plain text may hold newlines, no other breaks
    s.active_cop("aaot", sessions=0, name=f"CoP {one_line}", domain=f"Domain {trick}",
                 practice=f"Practice {trick}", location=f"Room {one_line}",
                 sponsors=[{"name": f"Priya {one_line}", "email": s.SPONSORS[0], "organisation": f"Org {one_line}"}],
                 members=[{"name": f"Sam {one_line}", "email": s.PLANNER, "planning_group": True},
                          {"name": f"Lee {one_line}", "email": "lee@example.org"},
                          {"name": "Ana Costa", "email": "ana@example.ac.uk"}])
    with session_scope() as db:
        record_session(db, "aaot", held_on=date(2027, 1, 14), attended=["lee@example.org", s.PLANNER],
                       format=None, topics=[f"Topic {one_line}"], methods=[f"Method {one_line}"],
                       outputs=[f"Output {one_line}"], stories=[f"Story {trick}"], consent=Consent.named,
                       actor="dana@example.nhs.uk",
                       today=date(2027, 1, 14))
        add_task(db, "aaot", title=f"Task {one_line}", due=None, notes=f"Notes {trick}", actor="dana@example.nhs.uk",
                 today=date(2027, 1, 15))
    with session_scope() as db:
        close(db, "aaot", actor="dana@example.nhs.uk", reason=f"Reason {trick}", successor=None, notice_days=0,
              today=date(2027, 4, 2), flow_run_id=None)
    with session_scope() as db:
        archive(db, "aaot", actor="dana@example.nhs.uk", now=False, today=date(2027, 4, 2), flow_run_id=None)
    bundle = home / "archives" / "aaot"
    data = json.loads((bundle / "community.json").read_text())
    summary = (bundle / "summary.md").read_text()
    _only_text(summary, render("archive/summary.md", data=_plain(data)))
    assert f"CoP {one_line}" in as_shown(summary) and f"Topic {one_line}" in as_shown(summary)
    with session_scope() as db:
        community = get_community(db, "aaot")
        report = db.scalars(select(SponsorReport).where(SponsorReport.final)).one()
        copy = report_markdown(community, report)
        community.name = "plain words"
        plain_copy = render("reports/sponsor-report.md", community=community,
                            r=_plain_figures(report.figures), kind_labels={})
        db.rollback()
    _only_text(copy, plain_copy)
    DRILLS.hostile(12)


def _plain_figures(figures: dict[str, Any]) -> Any:
    from models.reporting import ReportFigures

    return ReportFigures.model_validate(_plain(figures))


def test_flow_summaries_show_notes_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The markdown a lifecycle flow leaves in Prefect: notes carrying names and reasons."""
    from tasks import lifecycle_tasks
    from tasks.usecases.common import Outcome

    made: list[str] = []
    monkeypatch.setattr(lifecycle_tasks, "create_markdown_artifact", lambda markdown, **_: made.append(markdown))
    for trick in MARKDOWN_TRICKS:
        outcome = Outcome(slug="aaot", stage_before="active", stage_after="closing",
                          notes=[f"Lee {trick} is now planning lead", f"closing: {trick}"])
        plain = Outcome(slug="aaot", stage_before="active", stage_after="closing",
                        notes=["plain words", "plain words"])
        text = lifecycle_tasks.summarise("close", "aaot", [outcome])
        _only_text(text, lifecycle_tasks.summarise("close", "aaot", [plain]))
        assert f"Lee {' '.join(trick.split())} is now planning lead" in as_shown(text)
        DRILLS.hostile()
    assert len(made) == 2 * len(MARKDOWN_TRICKS)


TERMINAL_TRICKS = ["\x1b]0;OWNED\x07", "\x1b[2J\x1b[H", "\x9b31m", "\u202eevil", "\x00", "\x08\x08\x08",
                   "\r\x1b[Kcopflow: all well", "\u2028fake line", "\x85next", "\x07"]


def test_stored_text_reaches_the_terminal_as_visible_escapes(home: Path, launched: str, capsys: Any) -> None:
    """Text that bypassed the input checks, printed by show, list, audit and outbox: no control
    character reaches the terminal raw; each shows as an escape such as \\x1b."""
    from sqlalchemy import update

    from models.db.tables import AuditEntry, Community, OutboxMessage, Person
    from tasks.storage.db import session_scope
    from tasks.usecases.planning_tasks import add_task

    with session_scope() as db:
        add_task(db, "aaot", title="A task", due=None, notes=None, actor="dana@example.nhs.uk", today=date(2027, 1, 11))
    for trick in filter(storable, TERMINAL_TRICKS):
        with session_scope() as db:
            db.execute(update(Community).values(name=f"AAOT{trick}", domain=f"Domain{trick}",
                                                practice=f"Practice{trick}", location=f"Room{trick}"))
            db.execute(update(Person).where(Person.email == "lee@example.org").values(name=f"Lee{trick}"))
            db.execute(update(AuditEntry).values(why=f"Why{trick}"))
            db.execute(update(OutboxMessage).values(subject=f"Subject{trick}", last_error=f"Error{trick}"))
        for argv in (["community", "show", "aaot"], ["community", "list"], ["audit", "aaot"], ["outbox"],
                     ["community", "show", "aaot", "--json"], ["community", "show", f"no{trick}"]):
            code, out, err = run(capsys, *argv)
            assert code in (0, 2) and _no_raw_controls(out + err), (argv, out, err)
            DRILLS.hostile()
        _, out, _ = run(capsys, "community", "show", "aaot")
        assert f"AAOT{_visible(trick)} (aaot)" in out and f"Domain{_visible(trick)}" in out


def _visible(text: str) -> str:
    from models.text import visible

    return visible(text)


def test_a_flow_run_here_writes_under_a_private_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's local API starts in the first run here: what it and the run write is private,
    and the person's own umask is back afterwards."""
    from flows.requests import LaunchRequest
    from flows.runtime import dispatch

    def flow(request: Any, return_state: bool = False) -> str:
        (tmp_path / "written").write_text("x")
        (tmp_path / "made").mkdir()
        return "done"

    monkeypatch.setattr(dispatch, "load_flow", lambda name: flow)
    monkeypatch.setenv("COPFLOW_LOCAL_SERVER", "off")  # the stand-in flow needs no Prefect server
    previous = os.umask(0o002)
    try:
        assert dispatch.run_here("launch", LaunchRequest(slug="aaot", today=date(2027, 1, 4))) == "done"
        assert os.umask(0o002) == 0o002
    finally:
        os.umask(previous)
    assert (_mode(tmp_path / "written"), _mode(tmp_path / "made")) == (0o600, 0o700)
    DRILLS.hostile()
