"""Every CoP can end, every role can change hands (issue 13 section 1): each scenario through
the real `copflow` command in a subprocess, as a convenor or member would run it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from tasks.email.delivery import deliver_pending
from tasks.storage.operator import os_user
from tasks.usecases.membership import volunteer
from tasks.usecases.planning_tasks import add_task
from tests.conftest import CliRunner
from tests.support.lifecycle import CONVENOR, DAY0, MEMBER, SPONSOR, active, create, hold_session, in_db, launched

pytestmark = pytest.mark.flows

SAM, ANA = "sam@example.nhs.uk", "ana@example.ac.uk"
Counts = Callable[[], dict[str, int]]


@pytest.fixture
def run(cli: CliRunner, home: Path, local_prefect_server: str) -> CliRunner:
    """`copflow` as typed: a command that runs a flow uses the session's local Prefect server."""

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, env={"PREFECT_API_URL": ""})

    return call


def delivered() -> None:
    """What the set-up queued (launch invitations) goes out first, so a command's count is its own."""
    assert not deliver_pending().failed


def ok(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.splitlines()


def refused(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    [line] = done.stderr.splitlines()
    return line


def text_of(home: Path, prefix: str) -> list[tuple[Message, str]]:
    """Each delivered .eml whose name starts with prefix: the message and its plain-text part."""
    found = []
    for path in sorted((home / "outbox").glob(f"{prefix}*.eml")):
        msg = message_from_bytes(path.read_bytes())
        part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
        found.append((msg, part.get_payload(decode=True).decode()))
    return found


def test_withdraw_a_cop_that_launched_and_never_met(run: CliRunner, home: Path, row_counts: Counts) -> None:
    create()
    launched()
    delivered()
    before = row_counts()
    assert refused(run("withdraw", "aaot", "--as", SAM, "--reason", "x"), 3) == \
        f"copflow: {SAM} may not withdraw aaot: only the convenor of aaot may"
    assert refused(run("withdraw", "aaot", "--as", CONVENOR, "--reason", "  "), 2) == \
        "copflow: --reason: say why the CoP is withdrawn"
    assert row_counts() == before
    said = ok(run("withdraw", "aaot", "--as", CONVENOR, "--reason", "Too few people free this year",
                  "--today", "2027-01-20"))
    assert said == ["aaot is withdrawn (archived); 4 notes to people already invited",
                    "email: 4 sent, 0 failed, 0 to retry"]
    notes = text_of(home, "withdrawn_")
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m, _ in notes) == sorted([SAM, MEMBER, ANA, SPONSOR])
    assert all("will not go ahead" in " ".join(m["Subject"].split()) for m, _ in notes)
    # The first session the launch put in members' calendars is called off there too.
    for message, words in notes:
        invite = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        if message["To"].endswith(f"<{SPONSOR}>"):  # a sponsor was never sent one
            assert not invite and "calendar" not in words
            continue
        ics = invite[0].get_payload(decode=True).decode()
        assert invite[0].get_param("method") == "CANCEL" and "STATUS:CANCELLED" in ics.splitlines()
        assert "UID:first-session-aaot@copflow" in ics.splitlines() and "SEQUENCE:1" in ics.splitlines()
        assert "calendar entry for its first session is cancelled" in " ".join(words.split())
    show = ok(run("community", "show", "aaot"))
    assert show[0].endswith(": archived")
    assert "  withdrawn on 2027-01-20, before it met: Too few people free this year" in show
    # Sponsor reports stop: a year on, nothing is due and nothing is sent.
    report = run("report", "aaot", "--today", "2028-01-20")  # (its stderr carries Prefect's own log)
    assert (report.returncode, report.stdout.splitlines()) == (0, [
        "aaot: withdrawn before it met; no reports are sent", "emails: 0 sent, 0 failed, 0 waiting to retry"])
    assert refused(run("session", "record", "aaot", "--on", "2027-01-21", "--attended", SAM,
                       "--as", CONVENOR), 3).endswith("aaot is archived and read-only")


DRAFT = """
name: Alcohol Outreach CoP
domain: Outreach for people with alcohol dependence
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors: [{name: Priya Raman, email: priya@example.nhs.uk}]
members: [{name: Sam Okafor, email: sam@example.nhs.uk, planning_group: true}]
"""
FIXED = """
name: Alcohol Outreach Community of Practice
domain: Outreach for people with alcohol dependence
practice: Cases and stories from outreach teams
cadence: monthly
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors: [{name: Priya Raman, email: priya@example.nhs.uk}]
members:
  - {name: Sam Okafor, email: sam@example.nhs.uk, planning_group: true}
  - {name: Lee Hart, email: lee@example.org, kind: expert-by-experience}
  - {name: Ana Costa, email: ana@example.ac.uk, kind: researcher}
"""


def test_fix_a_draft_by_replacing_its_charter(run: CliRunner, tmp_path: Path, row_counts: Counts) -> None:
    (tmp_path / "draft.yaml").write_text(DRAFT)
    (tmp_path / "fixed.yaml").write_text(FIXED)
    (tmp_path / "renamed.yaml").write_text(FIXED + "slug: outreach\n")
    (tmp_path / "broken.yaml").write_text(FIXED.replace("lee@example.org", "lee@"))
    assert ok(run("community", "create", str(tmp_path / "draft.yaml"))) == ["alcohol-outreach-cop"]
    again = run("community", "create", str(tmp_path / "fixed.yaml"))  # a second create names a new CoP
    assert ok(again) == ["alcohol-outreach-community-of-practice"]
    slug = "alcohol-outreach-cop"
    before = row_counts()
    for args, code, says in [
        (["fixed.yaml", "--as", SAM], 3, f"copflow: {SAM} may not replace the charter of {slug}: only the convenor"),
        (["renamed.yaml", "--as", CONVENOR], 2, "copflow: slug: the charter says 'outreach'; "
                                                f"{slug} keeps its slug"),
        (["broken.yaml", "--as", CONVENOR], 2, "members[1].email: value is not a valid email address"),
    ]:
        line = refused(run("community", "update", slug, str(tmp_path / args[0]), *args[1:]), code)
        assert says in line, line
    assert row_counts() == before  # nothing half-written
    assert ok(run("community", "update", slug, str(tmp_path / "fixed.yaml"), "--as", CONVENOR)) == [
        f"{slug}: the charter is replaced"]
    show = ok(run("community", "show", slug))
    assert show[0] == f"Alcohol Outreach Community of Practice ({slug}): proposed"
    assert not any("before launch it needs" in line for line in show)  # complete now
    assert ok(run("launch", slug, "--as", CONVENOR))[0] == \
        f"{slug} is launching: 3 invitations and 1 sponsor notice queued"  # the members; not the convenor
    assert refused(run("community", "update", slug, str(tmp_path / "fixed.yaml"), "--as", CONVENOR), 3) == \
        f"copflow: {slug} is launching; a charter can be replaced only while proposed"


def test_hand_over_convenorship_so_the_former_convenor_may_leave(run: CliRunner) -> None:
    create()
    active()
    assert refused(run("member", "leave", "aaot", CONVENOR, "--as", CONVENOR), 3) == \
        f"copflow: {CONVENOR} is the convenor of aaot; the convenor cannot leave"
    assert refused(run("member", "convenor", "aaot", MEMBER, "--as", CONVENOR), 3).startswith(
        f"copflow: {MEMBER} is not on the planning group of aaot")
    assert ok(run("member", "convenor", "aaot", SAM, "--as", CONVENOR, "--today", "2027-02-01")) == [
        "Sam Okafor is now the convenor of aaot; Dana Whitlow stays on the planning group"]
    assert ok(run("member", "leave", "aaot", CONVENOR, "--as", CONVENOR, "--today", "2027-02-02")) == [
        f"{CONVENOR} has left aaot"]
    show = ok(run("community", "show", "aaot"))
    assert f"    Sam Okafor <{SAM}> practitioner [convenor]" in show
    health = ok(run("health", "aaot", "--today", "2027-02-03"))
    assert "  - a sign of a natural end: the convenor and most of the planning group have moved on" in health
    audit = "\n".join(ok(run("audit", "aaot")))
    assert f"{CONVENOR} (typed by {os_user()}) convenor.handed-over" in audit


def test_a_member_s_new_address_keeps_one_person(run: CliRunner) -> None:
    create()
    active()
    new = "lee.hart@example.org"
    assert refused(run("member", "email", "aaot", MEMBER, SAM, "--as", MEMBER), 3) == \
        f"copflow: NEW: {SAM} belongs to another person in aaot; two people cannot share an address"
    assert ok(run("member", "email", "aaot", MEMBER, new, "--as", MEMBER)) == [
        f"Lee Hart's address is now {new}, in every CoP they are part of; their history stays with them"]
    people = [line for line in ok(run("community", "show", "aaot")) if "Lee Hart" in line]
    assert people == [f"    Lee Hart <{new}> expert-by-experience"]
    assert MEMBER not in "\n".join(ok(run("audit", "aaot")) + ok(run("outbox")))
    # The same person comes to the next session under the new address.
    assert ok(run("session", "record", "aaot", "--on", "2027-02-01", "--attended", new, "--as", CONVENOR,
                  "--today", "2027-02-01")) == ["session on 2027-02-01 recorded for aaot: 1 attended"]
    assert refused(run("member", "email", "aaot", MEMBER, "x@example.org", "--as", CONVENOR), 2) == \
        f"copflow: {MEMBER} is not a current member of aaot"


def test_the_planning_lead_leaves_mid_term_and_the_next_takes_over_at_once(run: CliRunner, home: Path) -> None:
    create()
    active()
    day = DAY0 + timedelta(days=15)
    in_db(volunteer, "aaot", ANA, opt_out=False, actor=ANA, today=day)
    in_db(add_task, "aaot", title="Book a speaker", due=day + timedelta(days=10), notes=None, actor=SAM, today=day)
    delivered()
    said = ok(run("member", "leave", "aaot", SAM, "--as", SAM, "--today", str(day)))
    assert said == ["Sam Okafor has left aaot",
                    "aaot: Ana Costa now leads planning, taking over from Sam Okafor; 1 open task(s) handed over",
                    "email: 1 sent, 0 failed, 0 to retry"]
    show = ok(run("community", "show", "aaot"))
    assert f"  planning lead: Ana Costa since {day}" in show  # no "none at present" gap
    assert "    #1 Book a speaker (due 2027-01-29), Ana Costa" in show
    [(msg, text)] = text_of(home, "handover_")
    assert ANA in msg["To"] and "Book a speaker" in text


def test_opting_out_while_lead_ends_the_term_with_a_handover(run: CliRunner, home: Path) -> None:
    create()
    active()
    day = DAY0 + timedelta(days=15)
    in_db(volunteer, "aaot", MEMBER, opt_out=False, actor=MEMBER, today=day)
    delivered()
    said = ok(run("member", "volunteer", "aaot", SAM, "--opt-out", "--as", SAM, "--today", str(day)))
    assert said == ["Sam Okafor opted out of leading in aaot",
                    "aaot: Lee Hart now leads planning, taking over from Sam Okafor; 0 open task(s) handed over",
                    "email: 2 sent, 0 failed, 0 to retry"]
    assert f"  planning lead: Lee Hart since {day}" in ok(run("community", "show", "aaot"))
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m, _ in text_of(home, "handover_")) == [MEMBER, SAM]


def test_when_everyone_opts_out_the_convenor_is_drafted_and_told_whom_to_ask(run: CliRunner, home: Path) -> None:
    create()
    active()  # the first session: all four came
    hold_session("aaot", DAY0 + timedelta(days=40), [MEMBER, SAM, CONVENOR])
    day = str(DAY0 + timedelta(days=41))
    said = ok(run("member", "volunteer", "aaot", SAM, "--opt-out", "--as", SAM, "--today", day))
    assert said[1] == "aaot: Dana Whitlow now leads planning, taking over from Sam Okafor; 0 open task(s) handed over"
    [(msg, text)] = text_of(home, "drafted_")
    assert CONVENOR in msg["To"] and "you are leading planning for now" in " ".join(msg["Subject"].split())
    assert "So, as convenor, you are leading planning for now, taking over from Sam Okafor." in text
    assert text.index("- Lee Hart, who came to 2 sessions") < text.index("- Ana Costa, who came to 1 session")
    assert "Sam Okafor, who came" not in text and "copflow " not in text.replace("copflow, on behalf", "")
