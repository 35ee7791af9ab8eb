"""Drill 5b: who may act, through the `copflow` command and the flows themselves (DESIGN section 2).

Nobody acts for someone else: every decision names who acts (--as or COPFLOW_ACTOR), never
by default; a run over every CoP acts as the schedule, takes no --as and does only what is
due; nobody acts in the future; volunteering is an offer, not a decision; a flow asked for
through Prefect with no actor is refused. Each refused case leaves every row as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models.db.tables import AuditEntry, Community, Membership, OutboxMessage, Person
from models.errors import BadInput, CopflowError
from tests.drills import support as s
from tests.drills.tally import DRILLS

LEE, JO, KIM = "lee@example.org", "jo@example.nhs.uk", "kim@example.nhs.uk"
SPONSOR, OTHER_SPONSOR = s.SPONSORS
FAR = "2099-01-01"
NOTICE_ENDS = date(2027, 5, 17)  # s.closing_cop: closed on 3 May with 14 days' notice


def _build() -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community
    from tasks.usecases.membership import leave

    s.active_cop("wcn", sessions=3)  # rotates after every session: a rotation is due
    s.active_cop("steady", sessions=1, rotate_every_sessions=50)  # no rotation due for a long while
    s.closing_cop("ending")
    s.active_cop("other", convenor={"name": "Kim Lowe", "email": KIM})
    with session_scope() as db:
        create_community(db, s.charter("fresh"), date(2027, 1, 1))
    with session_scope() as db:  # Jo leaves wcn of her own accord: a former member there
        leave(db, "wcn", JO, actor=JO, today=date(2027, 4, 20))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return s.prepared_home(tmp_path_factory.mktemp("who-cli") / "home", _build)


@pytest.fixture(scope="module")
def shared(template: Path) -> Iterator[Path]:
    """The template itself, for cases that must change nothing."""
    with s.using_home(template):
        yield template


@pytest.fixture
def fresh(template: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the template of this test's own, for cases that change things."""
    home = s.copy_home(template, tmp_path / "home")
    with s.using_home(home):
        yield home


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from cli.app import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot() -> tuple[Any, ...]:
    """Everything a decision could change."""
    def q(db: Any) -> tuple[Any, ...]:
        return (db.scalar(select(func.count()).select_from(AuditEntry)),
                db.scalar(select(func.count()).select_from(OutboxMessage)),
                sorted(db.execute(select(Community.slug, Community.stage, Community.notice_ends_on)).all()),
                sorted(db.execute(select(Membership.id, Membership.planning_group, Membership.volunteered,
                                         Membership.opted_out, Membership.left_on)).all()))
    return tuple(s.read(q))


UNSET = object()  # COPFLOW_ACTOR not set at all

# (what is tried, the command, COPFLOW_ACTOR, exit code, words the one line says)
REFUSED: list[tuple[str, list[str], object, int, str]] = [
    # -- no actor: nobody acts by default ---------------------------------------------------
    ("launch, no --as", ["launch", "fresh"], UNSET, 2, "say who acts"),
    ("launch, COPFLOW_ACTOR empty", ["launch", "fresh"], "", 2, "say who acts"),
    ("launch, COPFLOW_ACTOR blank", ["launch", "fresh"], "   ", 2, "say who acts"),
    ("launch, --as empty", ["launch", "fresh", "--as", ""], UNSET, 2, "say who acts"),
    ("close, no --as", ["close", "wcn", "--reason", "done"], UNSET, 2, "say who acts"),
    ("continue, no --as", ["continue", "ending"], UNSET, 2, "say who acts"),
    ("archive one, no --as", ["archive", "ending", "--now"], UNSET, 2, "say who acts"),
    ("rotate one, no --as", ["rotate", "wcn"], UNSET, 2, "say who acts"),
    ("member add, no --as", ["member", "add", "wcn", "--name", "New Person", "--email", "new@example.org"],
     UNSET, 2, "say who acts"),
    ("member leave, no --as", ["member", "leave", "wcn", LEE], UNSET, 2, "say who acts"),
    ("member volunteer, no --as", ["member", "volunteer", "wcn", LEE], UNSET, 2, "say who acts"),
    ("task add, no --as", ["task", "add", "wcn", "Book a room"], "", 2, "say who acts"),
    ("work-done, COPFLOW_ACTOR empty", ["community", "work-done", "wcn"], "", 2, "say who acts"),
    ("session record, no --as", ["session", "record", "wcn", "--on", "2027-05-20", "--attended", LEE,
                                 "--today", "2027-05-21"], UNSET, 2, "say who acts"),
    # -- who they say they are must be a real, known address ----------------------------------
    ("rotate --as not-even-an-email", ["rotate", "wcn", "--as", "not-even-an-email"], UNSET, 2,
     "is not an email address"),
    ("launch --as a header trick", ["launch", "fresh", "--as", f"{s.CONVENOR}\r\nBcc: x@evil.example"], UNSET, 2,
     "--as"),
    ("COPFLOW_ACTOR not an email", ["close", "wcn", "--reason", "done"], "dana", 2, "is not an email address"),
    ("launch --as an unknown address", ["launch", "fresh", "--as", "nobody@example.com"], UNSET, 2,
     "not known to copflow"),
    ("close --as an unknown address", ["close", "wcn", "--reason", "x", "--as", "who@example.org"], UNSET, 2,
     "not known to copflow"),
    # -- sponsors, members, former members and strangers decide nothing ----------------------
    ("launch --as a sponsor", ["launch", "fresh", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("close --as a sponsor", ["close", "wcn", "--reason", "x", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("close, COPFLOW_ACTOR a sponsor", ["close", "wcn", "--reason", "x"], OTHER_SPONSOR, 3, "never decide"),
    ("continue --as a sponsor", ["continue", "ending", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("archive --now --as a sponsor", ["archive", "ending", "--now", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("rotate --as the other sponsor", ["rotate", "wcn", "--as", OTHER_SPONSOR], UNSET, 3, "never decide"),
    ("work-done --as a sponsor", ["community", "work-done", "wcn", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("task add --as a sponsor", ["task", "add", "wcn", "Book a room", "--as", SPONSOR], UNSET, 3, "never decide"),
    ("member add --as a sponsor", ["member", "add", "wcn", "--name", "New Person", "--email", "new@example.org",
                                   "--as", SPONSOR], UNSET, 3, "never decide"),
    ("close --as an ordinary member", ["close", "wcn", "--reason", "x", "--as", LEE], UNSET, 3, "may not act"),
    ("archive --now --as an ordinary member", ["archive", "ending", "--now", "--as", LEE], UNSET, 3,
     "may not act"),
    ("close --as a former member", ["close", "wcn", "--reason", "x", "--as", JO], UNSET, 3, "have left"),
    ("close --as another CoP's convenor", ["close", "wcn", "--reason", "x", "--as", KIM], UNSET, 3,
     "not part of this CoP"),
    ("volunteer someone else --as a member", ["member", "volunteer", "wcn", "ana@example.ac.uk", "--as", LEE],
     UNSET, 3, "may not act"),
    ("leave for someone else --as a member", ["member", "leave", "wcn", "ana@example.ac.uk", "--as", LEE],
     UNSET, 3, "may not act"),
    ("session record --as a sponsor", ["session", "record", "wcn", "--on", "2027-05-20", "--attended", LEE,
                                       "--today", "2027-05-21", "--as", SPONSOR], UNSET, 3, "never decide"),
    # -- a run over every CoP acts as the schedule: no --as, no cutting a notice short -----------
    ("rotate --all --as not-even-an-email", ["rotate", "--all", "--as", "not-even-an-email"], UNSET, 2,
     "takes no --as"),
    ("rotate --all --as the convenor", ["rotate", "--all", "--as", s.CONVENOR], UNSET, 2, "takes no --as"),
    ("archive --all --as a sponsor, far future", ["archive", "--all", "--as", SPONSOR, "--today", FAR], UNSET, 2,
     "takes no --as"),
    ("archive --all --as empty", ["archive", "--all", "--as", ""], UNSET, 2, "takes no --as"),
    ("archive --all --now", ["archive", "--all", "--now"], UNSET, 2, "--now"),
    ("rotate with a slug and --all", ["rotate", "wcn", "--all"], UNSET, 2, "name one CoP"),
    # -- nobody acts in the future -------------------------------------------------------------
    ("archive --all, far future", ["archive", "--all", "--today", FAR], UNSET, 2, "later than today"),
    ("rotate --all, far future", ["rotate", "--all", "--today", FAR], UNSET, 2, "later than today"),
    ("report one CoP, far future", ["report", "wcn", "--today", FAR], UNSET, 2, "later than today"),
    ("report --all, far future", ["report", "--all", "--today", FAR], UNSET, 2, "later than today"),
    ("health, far future", ["health", "wcn", "--today", FAR], UNSET, 2, "later than today"),
    ("launch by the convenor, far future", ["launch", "fresh", "--as", s.CONVENOR, "--today", FAR], UNSET, 2,
     "later than today"),
    ("close by the convenor, far future", ["close", "wcn", "--reason", "x", "--as", s.CONVENOR, "--today", FAR],
     UNSET, 2, "later than today"),
    ("archive --now by the convenor, far future", ["archive", "ending", "--now", "--as", s.CONVENOR,
                                                   "--today", FAR], UNSET, 2, "later than today"),
    ("session record, far future", ["session", "record", "wcn", "--on", "2098-12-31", "--attended", LEE,
                                    "--as", s.CONVENOR, "--today", FAR], UNSET, 2, "later than today"),
    ("task add, a day after the latest allowed", ["task", "add", "wcn", "T", "--as", s.CONVENOR,
                                                  "--today", "2031-01-01"], UNSET, 2, "later than today"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_in_one_line_and_nothing_changes(shared: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 case: tuple[str, list[str], object, int, str]) -> None:
    _, args, actor_env, want, words = case
    if actor_env is UNSET:
        monkeypatch.delenv("COPFLOW_ACTOR", raising=False)
    else:
        monkeypatch.setenv("COPFLOW_ACTOR", str(actor_env))
    before = snapshot()
    code, out, err = run(capsys, *args)
    assert (code, out) == (want, ""), err
    assert err.count("\n") == 1 and err.startswith("copflow: ") and words in err, err
    assert snapshot() == before
    DRILLS.permission()


def test_volunteering_is_an_offer_not_a_decision(fresh: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Lee volunteers for himself; he is eligible to lead, not a decider: he still cannot close,
    archive, continue, rotate, add members or volunteer others."""
    monkeypatch.delenv("COPFLOW_ACTOR", raising=False)
    code, _, err = run(capsys, "member", "volunteer", "wcn", LEE, "--as", LEE, "--today", "2027-05-01")
    assert code == 0, err
    lee = _membership("wcn", LEE)
    assert (lee.volunteered, lee.planning_group) == (True, False)
    entry = s.stage_and_audit("wcn")[1][-1]
    assert entry.action == "member.volunteered" and entry.after["planning_group"] is False  # type: ignore[index]
    DRILLS.permission()
    before = snapshot()
    for args in (["close", "wcn", "--reason", "we are done", "--as", LEE],
                 ["community", "work-done", "wcn", "--as", LEE],
                 ["rotate", "wcn", "--as", LEE],
                 ["archive", "wcn", "--now", "--as", LEE],
                 ["member", "add", "wcn", "--name", "Pal Of Lee", "--email", "pal@example.org", "--as", LEE],
                 ["member", "volunteer", "wcn", "ana@example.ac.uk", "--as", LEE],
                 ["task", "add", "wcn", "Lee's own task", "--as", LEE]):
        code, _, err = run(capsys, *args)
        assert code == 3 and "may not act" in err, (args, err)
        DRILLS.permission()
    assert snapshot() == before


def test_the_rota_takes_up_a_volunteer_who_then_joins_the_planning_group(
        fresh: Path, capsys: pytest.CaptureFixture[str], prefect_harness: None) -> None:
    from tasks.usecases.membership import volunteer

    s.read(lambda db: volunteer(db, "wcn", LEE, opt_out=False, actor=LEE, today=date(2027, 5, 1)))
    code, out, err = run(capsys, "rotate", "--all", "--today", "2027-05-02")
    assert code == 0, err
    assert "Lee Hart now leads planning" in out
    lee = _membership("wcn", LEE)
    assert (lee.volunteered, lee.planning_group) == (False, True)
    rotated = [e for e in s.stage_and_audit("wcn")[1] if e.action == "lead.rotated"][-1]
    assert rotated.actor == "copflow schedule" and rotated.after["joined_planning_group"] is True  # type: ignore[index]
    DRILLS.permission()


def test_a_run_over_every_cop_does_only_what_is_due(fresh: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    prefect_harness: None) -> None:
    """--all acts as the schedule (COPFLOW_ACTOR is not used for it): notice is never cut
    short, only due rotations happen, and the audit names the schedule and who typed it."""
    monkeypatch.setenv("COPFLOW_ACTOR", s.CONVENOR)  # someone's own setting: --all does not use it
    stages = lambda: dict(s.read(lambda db: db.execute(select(Community.slug, Community.stage)).all()))  # noqa: E731
    code, out, err = run(capsys, "archive", "--all", "--today", "2027-05-16")  # a day before the notice ends
    assert code == 0, err
    assert stages()["ending"] == "closing"
    DRILLS.permission()
    code, out, err = run(capsys, "archive", "--all", "--today", str(NOTICE_ENDS))
    assert code == 0, err
    assert stages()["ending"] == "archived"
    archived = [e for e in s.stage_and_audit("ending")[1] if e.action == "stage.changed"][-1]
    assert archived.actor == "copflow schedule" and archived.why == "notice period ended"
    assert archived.operator not in (None, "schedule")  # the OS user who typed it
    DRILLS.permission()
    leads = _leads()
    code, out, err = run(capsys, "rotate", "--all", "--today", "2027-05-18")
    assert code == 0, err
    after = _leads()
    assert after["steady"] == leads["steady"]  # its rota says not yet
    assert after["wcn"] != leads["wcn"]  # due after every session
    DRILLS.permission(2)
    code, out, err = run(capsys, "report", "steady", "--today", "2027-02-01")  # its first quarter has not ended
    assert code == 0 and "nothing due" in out, out + err
    DRILLS.permission()


def test_a_decider_may_archive_early_on_request_and_is_named(fresh: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              prefect_harness: None) -> None:
    """DESIGN: archive 'when the notice period ends or on request'; on request names the decider."""
    monkeypatch.setenv("COPFLOW_ACTOR", s.PLANNER)
    code, out, err = run(capsys, "archive", "ending", "--now", "--today", "2027-05-05")
    assert code == 0, err
    entry = [e for e in s.stage_and_audit("ending")[1] if e.action == "stage.changed"][-1]
    assert (entry.actor, entry.why) == (s.PLANNER, "archived on request")
    code, out, err = run(capsys, "audit", "ending")
    assert f"{s.PLANNER} (typed by " in out
    DRILLS.permission()


def _flow(name: str, request: Any) -> Any:
    from flows.runtime.dispatch import load_flow

    return load_flow(name)(request=request, return_state=True)


def _person_id(email: str) -> int:
    return int(s.read(lambda db: db.scalar(select(Person.id).where(Person.email == email))))


def test_flows_asked_for_through_prefect_refuse_a_missing_or_wrong_actor(
        fresh: Path, prefect_harness: None) -> None:
    """As the Prefect UI or API would start them: an empty actor is a failed run that changed
    nothing, never the convenor's; an address is not even accepted as a parameter."""
    from pydantic import ValidationError

    from flows.requests import ArchiveRequest, CloseRequest, ContinueRequest, LaunchRequest, RotateRequest

    cases = [
        ("launch", LaunchRequest(slug="fresh"), "actor_id: say who acts"),
        ("close", CloseRequest(slug="wcn", reason="done"), "actor_id: say who acts"),
        ("continue", ContinueRequest(slug="ending"), "actor_id: say who acts"),
        ("archive", ArchiveRequest(slug="ending", now=True), "actor_id: say who acts"),
        ("rotate", RotateRequest(slug="wcn"), "actor_id: say who acts"),
        ("rotate", RotateRequest(actor_id=_person_id(s.CONVENOR)), "takes no actor"),
        ("archive", ArchiveRequest(actor_id=_person_id(SPONSOR)), "takes no actor"),
        ("archive", ArchiveRequest(now=True), "now:"),
        ("launch", LaunchRequest(slug="fresh", actor_id=_person_id(SPONSOR)), "never decide"),
        ("close", CloseRequest(slug="wcn", reason="done", actor_id=_person_id(LEE)), "may not act"),
        ("launch", LaunchRequest(slug="fresh", actor_id=987654), "no person 987654"),
        ("launch", LaunchRequest(slug="fresh", actor_id=_person_id(s.CONVENOR), today=date(2099, 1, 1)),
         "later than today"),
        ("archive", ArchiveRequest(today=date(2099, 1, 1)), "later than today"),
    ]
    before = snapshot()
    for name, request, words in cases:
        state = _flow(name, request)
        assert state.is_failed(), (name, request)
        with pytest.raises(CopflowError, match=words):
            state.result()
        DRILLS.permission()
    assert snapshot() == before
    for bad in ({"slug": "fresh", "actor_id": s.CONVENOR}, {"slug": "fresh", "actor_id": 0},
                {"slug": "fresh", "actor_id": 1, "operator": "dana@example.nhs.uk"}):
        with pytest.raises(ValidationError):
            LaunchRequest.model_validate(bad)
        DRILLS.permission()


def test_a_run_through_prefect_records_no_operator_unless_told(fresh: Path, prefect_harness: None) -> None:
    """On request through the API: the person acting is named, the operator is not made up."""
    from flows.requests import CloseRequest

    state = _flow("close", CloseRequest(slug="wcn", reason="done", actor_id=_person_id(s.PLANNER),
                                        today=date(2027, 5, 20)))
    assert state.is_completed(), state.message
    entry = [e for e in s.stage_and_audit("wcn")[1] if e.action == "stage.changed"][-1]
    assert (entry.actor, entry.operator) == (s.PLANNER, None) and entry.flow_run_id
    DRILLS.permission()


def test_the_unknown_actor_check_runs_before_any_flow(shared: Path) -> None:
    from tasks.usecases.acting import known_person

    for actor, words in ((None, "say who acts"), ("", "say who acts"), (10**30, "no person"),
                         ("nobody@example.com", "not known")):
        with pytest.raises(BadInput, match=words):
            s.read(lambda db, a=actor: known_person(db, a))
        DRILLS.permission()


def _membership(slug: str, email: str) -> Membership:
    def q(db: Any) -> Membership:
        m = db.scalars(select(Membership).join(Person).join(Community).where(
            Community.slug == slug, Person.email == email)).one()
        db.expunge(m)
        return m  # type: ignore[no-any-return]
    return s.read(q)  # type: ignore[no-any-return]


def _leads() -> dict[str, str | None]:
    from tasks.storage.queries import current_term

    def q(db: Any) -> dict[str, str | None]:
        out = {}
        for c in db.scalars(select(Community)):
            term = current_term(db, c)
            out[c.slug] = term.membership.person.name if term else None
        return out
    return s.read(q)  # type: ignore[no-any-return]
