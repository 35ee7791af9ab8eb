"""The record commands as a new user meets them: the real `copflow` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import COPFLOW, SAMPLE_CHARTER, CliRunner

Counts = Callable[[], dict[str, int]]
SetStage = Callable[[str, str], None]
SAMPLE = SAMPLE_CHARTER.read_text()
DANA, SAM, LEE, ANA, PRIYA = ("dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org",
                              "ana@example.ac.uk", "priya@example.nhs.uk")


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("copflow: "), done.stderr
    return lines[0]


# -- the happy path --------------------------------------------------------------------------

def test_a_convenor_runs_the_records_of_a_cop(cli: CliRunner, set_stage: SetStage) -> None:
    created = cli("community", "create", str(SAMPLE_CHARTER), "--today", "2027-01-01")
    assert ok(created) == "aaot\n"  # only the slug, so scripts can capture it
    assert created.stderr == ""  # a complete charter needs no note

    assert ok(cli("community", "list")).split()[:2] == ["aaot", "proposed"]
    assert json.loads(ok(cli("community", "list", "--json"))) == [
        {"slug": "aaot", "name": "Alcohol Assertive Outreach Community of Practice", "stage": "proposed"}]

    shown = ok(cli("community", "show", "aaot"))
    assert "Alcohol Assertive Outreach Community of Practice (aaot): proposed" in shown
    assert f"Dana Whitlow <{DANA}> [convenor]" in shown
    assert f"Lee Hart <{LEE}> expert-by-experience\n" in shown
    assert f"Priya Raman <{PRIYA}> sponsor, Example Trust" in shown
    assert "before launch" not in shown
    view = json.loads(ok(cli("community", "show", "aaot", "--json")))
    assert view["convenor"] == {"name": "Dana Whitlow", "email": DANA}
    assert view["missing_for_launch"] == [] and view["planning_lead"] is None
    assert {m["email"]: m["roles"] for m in view["members"]} == {
        DANA: ["convenor"], SAM: ["planning group"], LEE: [], ANA: []}

    # People: COPFLOW_ACTOR (the convenor, tests/cli/conftest.py) acts where --as is not given.
    assert ok(cli("member", "add", "aaot", "--name", "Jo Bloggs", "--email", "Jo@Example.org",
                  "--kind", "researcher", "--today", "2027-01-02")) == "Jo Bloggs joined aaot\n"
    ok(cli("member", "add", "aaot", "--name", "Kit Lane", "--email", "kit@example.org",
           "--planning-group", "--as", SAM, "--today", "2027-01-02"))
    ok(cli("member", "volunteer", "aaot", LEE, "--as", LEE, "--today", "2027-01-03"))
    ok(cli("member", "volunteer", "aaot", ANA, "--opt-out", "--as", ANA, "--today", "2027-01-03"))
    ok(cli("member", "leave", "aaot", "kit@example.org", "--today", "2027-01-04"))
    view = json.loads(ok(cli("community", "show", "aaot", "--json")))
    roles = {m["email"]: (m["kind"], m["roles"]) for m in view["members"]}
    assert roles["jo@example.org"] == ("researcher", [])
    assert roles[LEE] == ("expert-by-experience", ["volunteer"])  # an offer: not on the planning group
    assert roles[ANA] == ("researcher", ["opted out of leading"])
    assert "kit@example.org" not in roles

    # Sessions can be recorded once the CoP is launching. The launch flow is another
    # suite's; here the stage is set directly in the database to reach that point.
    set_stage("aaot", "launching")
    recorded = cli("session", "record", "aaot", "--on", "2027-01-14", "--attended", SAM, LEE, "jo@example.org",
                   "--topic", "Engaging people who decline contact", "Discharge planning",
                   "--today", "2027-01-15")
    assert ok(recorded) == "session on 2027-01-14 recorded for aaot: 3 attended\n"
    view = json.loads(ok(cli("community", "show", "aaot", "--json")))
    assert (view["stage"], view["sessions_held"]) == ("active", 1)  # the first session made it active
    ok(cli("session", "record", "aaot", "--on", "2027-02-11", "--attended=ana@example.ac.uk", DANA,
           "--today", "2027-02-11"))

    # Tasks: owned by the planning lead, or the convenor while there is none.
    assert ok(cli("task", "add", "aaot", "Book the March speaker", "--due", "2027-03-01",
                  "--today", "2027-02-12")) == "task #1 added to aaot, owned by Dana Whitlow\n"
    ok(cli("task", "add", "aaot", "Share the slides", "--as", SAM, "--today", "2027-02-12"))
    assert "open tasks: 2" in ok(cli("community", "show", "aaot"))
    assert ok(cli("task", "done", "aaot", "1", "--today", "2027-02-20")) == "task #1 in aaot is done\n"
    view = json.loads(ok(cli("community", "show", "aaot", "--json")))
    assert [t["title"] for t in view["open_tasks"]] == ["Share the slides"]

    # The audit trail: who, what, when, why, before and after, for every change.
    trail = json.loads(ok(cli("audit", "aaot", "--json")))
    assert [(e["on"], e["actor"], e["action"]) for e in trail] == [
        ("2027-01-01", DANA, "community.created"),
        ("2027-01-02", DANA, "member.added"),
        ("2027-01-02", SAM, "member.added"),
        ("2027-01-03", LEE, "member.volunteered"),
        ("2027-01-03", ANA, "member.opted-out"),
        ("2027-01-04", DANA, "member.left"),
        ("2027-01-15", DANA, "session.recorded"),
        ("2027-01-15", DANA, "stage.changed"),
        ("2027-02-11", DANA, "session.recorded"),
        ("2027-02-12", DANA, "task.added"),
        ("2027-02-12", SAM, "task.added"),
        ("2027-02-20", DANA, "task.done"),
    ]
    # Beside who acted, the operator: the OS user who typed each command.
    import getpass

    assert {e["operator"] for e in trail} == {getpass.getuser().split("@")[0]}
    assert f"{DANA} (typed by {getpass.getuser().split('@')[0]}) task.done" in ok(cli("audit", "aaot"))
    by_action = {e["action"]: e for e in trail}
    assert by_action["stage.changed"]["before"] == {"stage": "launching"}
    assert by_action["stage.changed"]["after"] == {"stage": "active"}
    assert by_action["stage.changed"]["why"] == "first session held"
    # The first session went through the record-session flow: its run is on both entries.
    run = by_action["stage.changed"]["flow_run_id"]
    assert run and trail[6]["flow_run_id"] == trail[7]["flow_run_id"] == run
    assert by_action["session.recorded"]["flow_run_id"] is None  # a routine record: no flow
    assert by_action["member.volunteered"]["before"]["volunteered"] is False
    assert by_action["member.volunteered"]["after"]["planning_group"] is False  # an offer, not a role
    assert by_action["member.left"]["after"]["member"] == "kit@example.org"
    assert by_action["task.done"]["before"]["status"] == "open"
    assert by_action["task.done"]["after"]["status"] == "done"
    assert trail[0]["after"]["charter"]["convenor"]["email"] == DANA
    assert all(e["at"] for e in trail)
    text = ok(cli("audit", "aaot")).splitlines()
    assert len(text) == len(trail)
    assert text[7] == (f'2027-01-15 {DANA} (typed by {getpass.getuser().split("@")[0]}) stage.changed: '
                       f'first session held (flow run {run}) '
                       'before {stage="launching"} after {stage="active"}')
    assert 'before {task=1, status="open"} after {task=1, status="done"}' in text[-1]
    assert "charter=(see --json)" in text[0]


def test_an_incomplete_charter_is_stored_and_show_says_what_launch_needs(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "draft.yaml"
    path.write_text("name: Wound Care Network\nconvenor: {name: Dana Whitlow, email: dana@example.nhs.uk}\n")
    done = cli("community", "create", str(path))
    assert ok(done) == "wound-care-network\n"
    assert done.stderr.startswith("note: before launch, the charter needs: domain, practice,")
    shown = ok(cli("community", "show", "wound-care-network"))
    assert ("before launch it needs: domain, practice, at least one sponsor, at least 3 members, cadence"
            in shown)
    assert "domain:   (not yet set)" in shown
    view = json.loads(ok(cli("community", "show", "wound-care-network", "--json")))
    assert view["missing_for_launch"] == ["domain", "practice", "at least one sponsor", "at least 3 members",
                                          "cadence"]


def test_an_empty_database_lists_nothing_and_says_how_to_start(cli: CliRunner) -> None:
    assert ok(cli("community", "list", "--json")) == "[]\n"
    listed = cli("community", "list")
    assert ok(listed) == ""
    assert "copflow community create" in listed.stderr


def test_a_member_who_left_may_rejoin(cli: CliRunner, aaot: str) -> None:
    ok(cli("member", "leave", aaot, LEE, "--today", "2027-01-02"))
    ok(cli("member", "add", aaot, "--name", "lee  HART", "--email", LEE, "--today", "2027-01-03"))
    view = json.loads(ok(cli("community", "show", aaot, "--json")))
    assert LEE in [m["email"] for m in view["members"]]
    rejoined = json.loads(ok(cli("audit", aaot, "--json")))[-1]
    assert rejoined["before"] == {"member": LEE, "left_on": "2027-01-02"}


def test_one_person_in_two_cops_keeps_one_name(cli: CliRunner, aaot: str, tmp_path: Path, row_counts: Counts) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("name: Second CoP\nconvenor: {name: D. Whitlow, email: dana@example.nhs.uk}\n")
    before = row_counts()
    line = one_error_line(cli("community", "create", str(other)), 2)
    assert line == "copflow: convenor.name: dana@example.nhs.uk is already recorded as 'Dana Whitlow'; use that name"
    assert row_counts() == before
    other.write_text("name: Second CoP\nconvenor: {name: Dana Whitlow, email: dana@example.nhs.uk}\n")
    assert ok(cli("community", "create", str(other))) == "second-cop\n"
    line = one_error_line(cli("member", "add", "second-cop", "--name", "Samuel O", "--email", SAM), 2)
    assert line == "copflow: --name: sam@example.nhs.uk is already recorded as 'Sam Okafor'; use that name"
    ok(cli("member", "add", "second-cop", "--name", "Sam Okafor", "--email", SAM))


# -- refusals: bad input, exit 2, nothing stored ------------------------------------------------

def _swap(old: str, new: str) -> str:
    assert old in SAMPLE
    return SAMPLE.replace(old, new, 1)


CHARTERS: list[tuple[str, bytes | None, str]] = [
    # (id, file content (None: no file at all), what the one error line says)
    ("unknown key", (SAMPLE + "budget: 1000\n").encode(), "budget: unknown key"),
    ("unknown person key", _swap("Example Trust}", "Example Trust, phone: 1}").encode(), "sponsors[0].phone: unknown key"),
    ("bad email", _swap("lee@example.org", "lee.example.org").encode(), "members[1].email: value is not a valid email"),
    ("duplicate person", _swap("ana@example.ac.uk", "sam@example.nhs.uk").encode(),
     "members[2]: sam@example.nhs.uk is already listed as members[0]"),
    ("sponsor as convenor", _swap("priya@example.nhs.uk", "dana@example.nhs.uk").encode(),
     "sponsors[0]: a sponsor cannot be the convenor"),
    ("sponsor in planning group", (SAMPLE + "  - {name: Priya Raman, email: priya@example.nhs.uk, planning_group: true}\n").encode(),
     "sponsors[0]: a sponsor cannot sit on the planning group"),
    ("bad slug", _swap("slug: aaot", "slug: AAOT_2027").encode(), "slug: use 1 to 64 lower-case letters"),
    ("bad cadence", _swap("cadence: monthly", "cadence: daily").encode(), "cadence: Input should be 'weekly'"),
    ("bad kind", _swap("kind: researcher", "kind: boss").encode(), "members[2].kind: Input should be"),
    ("bad rotation", _swap("rotate_every_sessions: 3", "rotate_every_sessions: 0").encode(), "rotate_every_sessions:"),
    ("yes is not a number", _swap("session_minutes: 90", "session_minutes: yes").encode(), "session_minutes: Input should be a valid integer"),
    ("bad first session", _swap("2027-01-14T14:00", "soon").encode(), "first_session: Input should be a valid datetime"),
    ("CR/LF in a name", _swap("name: Lee Hart", 'name: "Lee Hart\\r\\nBcc: all@example.org"').encode(),
     "members[1].name: must be a single line"),
    ("existing slug", SAMPLE.encode(), "slug: a CoP called 'aaot' already exists"),
    ("non-UTF-8 file", "name: Caf\u00e9 CoP\n".encode("latin-1"), "not UTF-8 text (byte 9)"),
    ("YAML anchors", b"name: x\nconvenor: &p {name: D, email: d@example.org}\nsponsors: [*p]\n", "YAML anchors and aliases are not allowed"),
    ("YAML python tag", b"name: !!python/object/apply:os.system [echo hi]\n", "YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    ("YAML binary tag", b"name: !!binary aGVsbG8=\n", "YAML tag tag:yaml.org,2002:binary is not allowed"),
    ("duplicate key", (SAMPLE + "cadence: weekly\n").encode(), "line 23: 'cadence' is given twice"),
    ("non-mapping YAML", b"- name: x\n- name: y\n", "a charter is a YAML mapping"),
    ("empty file", b"", "a charter is a YAML mapping"),
    ("not YAML", b"name: [unclosed\n", "at line 2"),
    ("missing file", None, "no such file"),
]


@pytest.mark.parametrize(("content", "words"), [c[1:] for c in CHARTERS], ids=[c[0] for c in CHARTERS])
def test_malformed_charters_are_refused(cli: CliRunner, aaot: str, row_counts: Counts, tmp_path: Path,
                                        content: bytes | None, words: str) -> None:
    path = tmp_path / "charter.yaml"
    if content is not None:
        path.write_bytes(content)
    before = row_counts()
    line = one_error_line(cli("community", "create", str(path)), 2)
    assert line.startswith(f"copflow: {path}: ") or line.startswith("copflow: slug:"), line
    assert words in line
    assert row_counts() == before


def test_a_directory_is_not_a_charter(cli: CliRunner, row_counts: Counts, tmp_path: Path) -> None:
    before = row_counts()
    assert "is a directory" in one_error_line(cli("community", "create", str(tmp_path)), 2)
    assert row_counts() == before


ARGUMENTS: list[tuple[str, tuple[str, ...], str]] = [
    ("bad --today", ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org", "--today", "2027-13-01"),
     "--today: '2027-13-01' is not a date (YYYY-MM-DD)"),
    ("bad --today on create", ("community", "create", str(SAMPLE_CHARTER), "--today", "tomorrow"), "--today:"),
    ("bad email", ("member", "add", "aaot", "--name", "Jo", "--email", "jo at example.org"), "--email: value is not a valid email"),
    ("CR/LF in a name", ("member", "add", "aaot", "--name", "Jo\r\nBcc: x@example.org", "--email", "jo@example.org"),
     "--name: must be a single line"),
    ("empty name", ("member", "add", "aaot", "--name", "  ", "--email", "jo@example.org"), "--name:"),
    ("bad kind", ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org", "--kind", "boss"), "'--kind'"),
    ("missing --email", ("member", "add", "aaot", "--name", "Jo"), "--email"),
    ("unknown slug", ("member", "add", "nope", "--name", "Jo", "--email", "jo@example.org"), "no CoP with slug 'nope'"),
    ("already a member", ("member", "add", "aaot", "--name", "Sam Okafor", "--email", SAM), "--email: sam@example.nhs.uk is already a member"),
    ("--as not an email", ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org", "--as", "dana"),
     "--as: 'dana' is not an email address"),
    ("--as nobody copflow knows", ("task", "add", "aaot", "Plan", "--as", "who@example.org"),
     "--as: who@example.org is not known to copflow"),
    ("unknown member leaving", ("member", "leave", "aaot", "who@example.org"), "who@example.org is not a current member of aaot"),
    ("unknown slug leaving", ("member", "leave", "nope", LEE), "no CoP with slug 'nope'"),
    ("unknown member volunteering", ("member", "volunteer", "aaot", "who@example.org"), "not a current member"),
    ("bad --on", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "14/01/2027", "--attended", SAM), "--on: '14/01/2027' is not a date"),
    ("--on in the future", ("session", "record", "aaot", "--on", "2027-02-01", "--attended", SAM, "--today", "2027-01-20"),
     "--on: 2027-02-01 is after today"),
    ("unknown member attended", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14", "--attended", SAM, "who@example.org"),
     "--attended: who@example.org is not a current member of aaot"),
    ("sponsor attended", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14", "--attended", PRIYA), "--attended: priya@example.nhs.uk is not a current member"),
    ("bad attended email", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14", "--attended", "sam"), "--attended: value is not a valid email"),
    ("no --attended", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14"), "--attended"),
    ("bad --format", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14", "--attended", SAM, "--format", "telepathy"), "'--format'"),
    ("CR/LF in a topic", ("session", "record", "aaot", "--today", "2027-01-20", "--on", "2027-01-14", "--attended", SAM, "--topic", "a\nb"), "--topic: must be a single line"),
    ("bad --due", ("task", "add", "aaot", "Book a room", "--due", "Friday"), "--due: 'Friday' is not a date"),
    ("CR/LF in a title", ("task", "add", "aaot", "Book\r\na room"), "TITLE: must be a single line"),
    ("unknown task", ("task", "done", "aaot", "99"), "TASK_ID: no task 99 in aaot"),
    ("task id not a number", ("task", "done", "aaot", "first"), "Invalid value for 'TASK_ID'"),
    ("unknown slug for a task", ("task", "add", "nope", "Book a room"), "no CoP with slug 'nope'"),
    ("unknown slug to show", ("community", "show", "nope"), "no CoP with slug 'nope'"),
    ("unknown slug to audit", ("audit", "nope", "--json"), "no CoP with slug 'nope'"),
    ("unknown option", ("community", "list", "--colour"), "No such option: --colour"),
]


@pytest.mark.parametrize(("args", "words"), [a[1:] for a in ARGUMENTS], ids=[a[0] for a in ARGUMENTS])
def test_malformed_arguments_are_refused(cli: CliRunner, aaot: str, set_stage: SetStage, row_counts: Counts,
                                         args: tuple[str, ...], words: str) -> None:
    set_stage(aaot, "launching")  # so that session commands get as far as checking their arguments
    before = row_counts()
    line = one_error_line(cli(*args), 2)
    assert words in line, line
    assert row_counts() == before


# -- refusals: not allowed, exit 3, nothing stored --------------------------------------------

REFUSALS: list[tuple[str, tuple[str, ...], str]] = [
    ("sponsor acting", ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org", "--as", PRIYA),
     f"{PRIYA} may not act on aaot: sponsors receive reports and never decide"),
    ("sponsor recording a session", ("session", "record", "aaot", "--on", "2027-01-14", "--attended", SAM, "--as", PRIYA),
     "sponsors receive reports and never decide"),
    ("sponsor adding a task", ("task", "add", "aaot", "Plan", "--as", PRIYA), "sponsors receive reports and never decide"),
    ("ordinary member acting", ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org", "--as", ANA),
     f"{ANA} may not act on aaot: only the convenor and planning group may do this"),
    ("ordinary member volunteering someone else", ("member", "volunteer", "aaot", LEE, "--as", ANA), "only the convenor and planning group"),
    ("ordinary member recording a session", ("session", "record", "aaot", "--on", "2027-01-14", "--attended", SAM, "--as", LEE),
     "only the convenor and planning group"),
    ("sponsor added as a member", ("member", "add", "aaot", "--name", "Priya Raman", "--email", PRIYA),
     "priya@example.nhs.uk is a sponsor of aaot"),
    ("sponsor volunteering", ("member", "volunteer", "aaot", PRIYA, "--as", PRIYA), "sponsors never lead planning"),
    ("convenor leaving", ("member", "leave", "aaot", DANA), "the convenor cannot leave"),
]


@pytest.mark.parametrize(("args", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_people_who_may_not_act_are_refused(cli: CliRunner, aaot: str, set_stage: SetStage, row_counts: Counts,
                                            args: tuple[str, ...], words: str) -> None:
    set_stage(aaot, "launching")
    before = row_counts()
    assert words in one_error_line(cli(*args, "--today", "2027-01-20"), 3)
    assert row_counts() == before


def test_a_member_may_volunteer_and_leave_for_themselves(cli: CliRunner, aaot: str) -> None:
    ok(cli("member", "volunteer", aaot, ANA, "--as", ANA))
    ok(cli("member", "leave", aaot, ANA, "--as", ANA))
    assert [e["actor"] for e in json.loads(ok(cli("audit", aaot, "--json")))[-2:]] == [ANA, ANA]


def test_a_session_waits_for_launch(cli: CliRunner, aaot: str, row_counts: Counts) -> None:
    before = row_counts()
    line = one_error_line(cli("session", "record", aaot, "--on", "2027-01-01", "--attended", SAM,
                                  "--today", "2027-01-02"), 3)
    assert line == "copflow: aaot is proposed; launch it before recording sessions"
    assert row_counts() == before


def test_a_task_is_done_once(cli: CliRunner, aaot: str, row_counts: Counts) -> None:
    ok(cli("task", "add", aaot, "Book a room"))
    ok(cli("task", "done", aaot, "1"))
    before = row_counts()
    assert one_error_line(cli("task", "done", aaot, "1"), 3) == "copflow: task 1 is already done"
    assert row_counts() == before


def test_a_task_is_reassigned_to_a_current_member_only(cli: CliRunner, aaot: str, row_counts: Counts) -> None:
    ok(cli("task", "add", aaot, "Book a room"))
    assert "task #1 in aaot is now Lee Hart's" in ok(cli("task", "reassign", aaot, "1", "--to", LEE))
    entry = json.loads(ok(cli("audit", aaot, "--json")))[-1]
    assert entry["action"] == "task.reassigned" and (entry["before"]["owner"], entry["after"]["owner"]) == (DANA, LEE)
    before = row_counts()
    assert one_error_line(cli("task", "reassign", aaot, "1", "--to", PRIYA), 2) == \
        f"copflow: --to: {PRIYA} is not a current member of aaot"
    assert row_counts() == before


ARCHIVED_WRITES: list[tuple[str, ...]] = [
    ("member", "add", "aaot", "--name", "Jo", "--email", "jo@example.org"),
    ("member", "leave", "aaot", LEE),
    ("member", "volunteer", "aaot", LEE),
    ("member", "volunteer", "aaot", LEE, "--opt-out"),
    ("session", "record", "aaot", "--on", "2027-01-14", "--attended", SAM),
    ("task", "add", "aaot", "Book a room"),
    ("task", "done", "aaot", "1"),
    ("task", "reassign", "aaot", "1", "--to", LEE),
]


def test_an_archived_cop_refuses_every_write(cli: CliRunner, aaot: str, set_stage: SetStage,
                                             row_counts: Counts) -> None:
    ok(cli("task", "add", aaot, "Book a room"))
    # The archive flow is another suite's; the stage is set directly in the database.
    set_stage(aaot, "archived")
    before = row_counts()
    for args in ARCHIVED_WRITES:
        assert one_error_line(cli(*args, "--today", "2027-06-01"), 3) == "copflow: aaot is archived and read-only"
    assert row_counts() == before
    # Reading still works.
    assert json.loads(ok(cli("community", "show", aaot, "--json")))["stage"] == "archived"
    ok(cli("audit", aaot))


def test_no_database_yet_says_run_init(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "COPFLOW_HOME": str(tmp_path / "fresh")}
    env.pop("COPFLOW_DATABASE_URL", None)
    done = subprocess.run([COPFLOW, "community", "list"], capture_output=True, text=True, env=env, cwd=tmp_path)
    where = (tmp_path / "fresh" / "copflow.db").resolve()
    assert one_error_line(done, 2) == (f"copflow: no copflow database at {where}; run 'copflow init' first, "
                                       "or set COPFLOW_HOME or COPFLOW_DATABASE_URL to where it is")
    assert not (tmp_path / "fresh").exists()  # a read-only command makes nothing at a mistyped home


# -- read-only commands stay fast: no Prefect --------------------------------------------------

@pytest.mark.parametrize("args", [("community", "show", "aaot"), ("community", "show", "aaot", "--json"),
                                  ("community", "list"), ("audit", "aaot")])
def test_read_only_commands_do_not_import_prefect(cli: CliRunner, aaot: str, home: Path, args: tuple[str, ...]) -> None:
    import os

    done = subprocess.run([sys.executable, "-X", "importtime", COPFLOW, *args], capture_output=True,
                          text=True, env=dict(os.environ), cwd=home.parent)
    assert done.returncode == 0, done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "sqlalchemy" in imported  # the probe sees real imports
    assert not [m for m in imported if m == "prefect" or m.startswith("prefect.")]


def test_a_routine_session_record_starts_no_prefect(cli: CliRunner, aaot: str, home: Path,
                                                    set_stage: SetStage) -> None:
    import os

    set_stage(aaot, "active")  # only the first session of a launching CoP needs the flow
    done = subprocess.run([sys.executable, "-X", "importtime", COPFLOW, "session", "record", aaot,
                           "--on", "2027-01-14", "--attended", SAM, "--today", "2027-01-15"],
                          capture_output=True, text=True, env=dict(os.environ), cwd=home.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "session on 2027-01-14 recorded for aaot: 1 attended\n"
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "sqlalchemy.orm" in imported  # the probe sees real imports
    assert not [m for m in imported if m == "prefect" or m.startswith("prefect.")]
