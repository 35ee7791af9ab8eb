"""Drill 5: who may act. Every mutating command, for every kind of actor, in every stage: only
the convenor and planning-group members decide; people may leave or volunteer for themselves;
sponsors never act; an archived CoP is read-only. Each case runs the command's use case (what
both the CLI's precheck and the flow run) in a transaction that is then rolled back, so every
case starts from the same CoPs; the exit code is the one the CLI gives for the error raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models.db.tables import AuditEntry, PlanningTask
from models.errors import CopflowError
from tests.drills import support as s
from tests.drills.tally import DRILLS

STAGES = ["proposed", "launching", "active", "closing", "archived"]
ACTORS = {
    "convenor": s.CONVENOR,
    "planning group": s.PLANNER,
    "ordinary member": "lee@example.org",
    "sponsor": s.SPONSORS[0],
    "former member": "fay@example.org",
    "stranger": "nobody@example.com",
    "empty": "",
}
DECIDERS = {"convenor", "planning group"}
MEMBERS_NOW = DECIDERS | {"ordinary member"}
TODAY = date(2027, 6, 1)
OTHER = "jo@example.nhs.uk"  # the member whom leave and volunteer act on


def _use_cases() -> dict[str, Callable[..., Any]]:
    from models.vocabulary import MemberKind
    from tasks.usecases import archive as archiving
    from tasks.usecases import close as closing
    from tasks.usecases import launch as launching
    from tasks.usecases import rotate as rotation
    from tasks.usecases import withdraw as withdrawing
    from tasks.usecases.charter_update import update_community
    from tasks.usecases.membership import add_member, leave, volunteer
    from tasks.usecases.planning_tasks import add_task, complete_task
    from tasks.usecases.roles import change_email, hand_convenor
    from tasks.usecases.sessions import record_session

    def task_done(db: Any, slug: str, actor: str) -> Any:
        task_id = db.scalar(select(PlanningTask.id).join_from(PlanningTask, PlanningTask.owner)
                            .where(PlanningTask.title == f"Book a room for {slug}"))
        return complete_task(db, slug, task_id, actor=actor, today=TODAY)

    return {
        "member add": lambda db, slug, a: add_member(
            db, slug, name="New Person", email="new@example.org", kind=MemberKind.practitioner,
            planning_group=False, actor=a, today=TODAY),
        "member leave (someone else)": lambda db, slug, a: leave(db, slug, OTHER, actor=a, today=TODAY),
        "member leave (themselves)": lambda db, slug, a: leave(db, slug, a, actor=a, today=TODAY),
        "member volunteer (someone else)": lambda db, slug, a: volunteer(
            db, slug, OTHER, opt_out=False, actor=a, today=TODAY),
        "member volunteer (themselves)": lambda db, slug, a: volunteer(
            db, slug, a, opt_out=False, actor=a, today=TODAY),
        "session record": lambda db, slug, a: record_session(
            db, slug, held_on=TODAY, attended=["lee@example.org"], format=None, topics=["A case"],
            actor=a, today=TODAY),
        "task add": lambda db, slug, a: add_task(db, slug, title="Another", due=None, notes=None,
                                                         actor=a, today=TODAY),
        "task done": task_done,
        "community work-done": lambda db, slug, a: closing.mark_work_done(db, slug, actor=a, today=TODAY),
        "launch": lambda db, slug, a: launching.launch(db, slug, actor=a, today=TODAY, flow_run_id=None),
        "rotate": lambda db, slug, a: rotation.rotate(db, slug, actor=a, today=TODAY, flow_run_id=None),
        "close": lambda db, slug, a: closing.close(db, slug, actor=a, reason="the work is done",
                                                   successor=None, notice_days=14, today=TODAY,
                                                   flow_run_id=None),
        "continue": lambda db, slug, a: closing.continue_community(db, slug, actor=a, today=TODAY,
                                                                   flow_run_id=None),
        "archive": lambda db, slug, a: archiving.archive(db, slug, actor=a, now=True, today=TODAY,
                                                         flow_run_id=None),
        "withdraw": lambda db, slug, a: withdrawing.withdraw(db, slug, actor=a, reason="not now",
                                                             today=TODAY, flow_run_id=None),
        "community update": lambda db, slug, a: update_community(
            db, slug, s.charter(slug, members=MEMBERS), written_slug=None, actor=a, today=TODAY),
        "member convenor": lambda db, slug, a: hand_convenor(db, slug, s.PLANNER, actor=a, today=TODAY),
        "member email (themselves)": lambda db, slug, a: change_email(
            db, slug, a, "moved@example.org", actor=a, today=TODAY),
    }


# In which stages a decider may run each command (the rules of DESIGN section 2).
STAGES_FOR = {
    "session record": {"launching", "active", "closing"},
    "community work-done": {"active"},
    "launch": {"proposed"},
    "rotate": {"active"},
    "close": {"active"},
    "continue": {"closing"},
    "archive": {"closing"},
    "withdraw": {"proposed", "launching"},
    "community update": {"proposed"},
}
CONVENOR_ONLY = {"withdraw", "community update"}  # the convenor's own CoP to end or rewrite
MEMBERS = [{"name": "Sam Okafor", "email": s.PLANNER, "planning_group": True},
           {"name": "Lee Hart", "email": "lee@example.org"},
           {"name": "Jo Reid", "email": OTHER},
           {"name": "Fay Dunn", "email": "fay@example.org"}]


def expected(command: str, actor: str, stage: str) -> int:
    """The exit code the rules give: 0 done, 2 bad input, 3 refused."""
    if stage == "archived":
        return 3  # read-only, whoever asks
    if command.endswith("(themselves)"):
        if actor == "convenor" and command.startswith("member leave"):
            return 3  # a CoP is never left without its convenor
        if actor in MEMBERS_NOW:
            return 0
        if actor == "sponsor" and command.startswith("member volunteer"):
            return 3  # sponsors never lead planning
        return 2  # not a current member
    if actor in ("empty", "stranger"):
        return 2  # nobody said who acts; an address copflow does not know
    if actor not in DECIDERS or (command in CONVENOR_ONLY and actor != "convenor"):
        return 3
    return 0 if stage in STAGES_FOR.get(command, set(STAGES) - {"archived"}) else 3


def _build() -> None:
    from tasks.storage.db import session_scope
    from tasks.usecases.archive import archive
    from tasks.usecases.close import close
    from tasks.usecases.communities import create_community
    from tasks.usecases.launch import launch
    from tasks.usecases.membership import leave
    from tasks.usecases.planning_tasks import add_task
    from tasks.usecases.sessions import record_session

    members = MEMBERS
    for stage in STAGES:
        slug = f"cop-{stage}"
        steps: list[Callable[[Any], Any]] = [
            lambda db, slug=slug: create_community(db, s.charter(slug, members=members), date(2027, 1, 1)),
            lambda db, slug=slug: leave(db, slug, "fay@example.org", actor="fay@example.org",
                                        today=date(2027, 1, 2)),
            lambda db, slug=slug: add_task(db, slug, title=f"Book a room for {slug}", due=None, notes=None,
                                actor=s.CONVENOR, today=date(2027, 1, 2)),
        ]
        if stage != "proposed":
            steps.append(lambda db, slug=slug: launch(db, slug, actor=s.CONVENOR, today=date(2027, 1, 4), flow_run_id=None))
        if stage in ("active", "closing", "archived"):
            steps.append(lambda db, slug=slug: record_session(db, slug, held_on=date(2027, 1, 14),
                                                   attended=[s.CONVENOR, "lee@example.org"], format=None,
                                                   topics=[], actor=s.CONVENOR, today=date(2027, 1, 14)))
        if stage in ("closing", "archived"):
            steps.append(lambda db, slug=slug: close(db, slug, actor=s.CONVENOR, reason="done", successor=None,
                                          notice_days=14, today=date(2027, 5, 3), flow_run_id=None))
        if stage == "archived":
            steps.append(lambda db, slug=slug: archive(db, slug, actor=s.CONVENOR, now=False, today=date(2027, 5, 18),
                                            flow_run_id=None))
        for step in steps:
            with session_scope() as db:
                step(db)


@pytest.fixture(scope="module")
def cops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = s.prepared_home(tmp_path_factory.mktemp("who") / "home", _build)
    with s.using_home(home):
        yield home


def attempt(use_case: Callable[..., Any], slug: str, actor: str) -> tuple[int, str]:
    """Run one case and roll it back; (exit code, message)."""
    from tasks.storage.db import _sessionmaker, engine

    with _sessionmaker(engine())() as db:
        try:
            use_case(db, slug, actor)
            return 0, ""
        except CopflowError as exc:
            return exc.exit_code, str(exc)
        finally:
            db.rollback()


@pytest.mark.parametrize("command", list(_use_cases()))
def test_only_the_allowed_succeed(cops: Path, command: str) -> None:
    use_case = _use_cases()[command]
    audit_before = s.read(lambda db: db.scalar(select(func.count()).select_from(AuditEntry)))
    wrong = []
    for stage in STAGES:
        for actor, email in ACTORS.items():
            code, message = attempt(use_case, f"cop-{stage}", email)
            want = expected(command, actor, stage)
            if code != want:
                wrong.append(f"{command} by {actor} when {stage}: exit {code}, expected {want} ({message})")
            elif code == 3 and stage != "archived" and actor not in DECIDERS and not command.endswith(")"):
                # Refused for who they are, not for the stage the CoP is in.
                if "may not act" not in message:
                    wrong.append(f"{command} by {actor} when {stage}: refused for the wrong reason: {message}")
            elif code == 3 and stage == "archived" and "archived" not in message:
                wrong.append(f"{command} by {actor} when archived: {message}")
            DRILLS.permission()
    assert not wrong, "\n".join(wrong)
    assert s.read(lambda db: db.scalar(select(func.count()).select_from(AuditEntry))) == audit_before
