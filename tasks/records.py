"""Use cases behind the convenor's record commands: one short function each.

Each runs in one transaction: it either changes everything it should, with an
audit entry, or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.charter import Charter, MemberKind, SessionFormat
from models.errors import BadInput, Refused
from models.lifecycle import Role, Stage, require_may_decide, require_writable
from models.tables import (
    Attendance,
    Community,
    CopSession,
    Membership,
    Person,
    PlanningTask,
    Sponsorship,
)
from tasks import audit
from tasks.community_store import (
    current_members,
    current_term,
    get_community,
    membership_of,
    person_by_email,
    require_member,
    role_of,
    sponsorship_of,
)

SESSION_STAGES = {Stage.launching, Stage.active, Stage.closing}


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _person(db: Session, name: str, email: str, field: str) -> Person:
    """The one person with this email; a second name for them is refused, not silently dropped."""
    person = person_by_email(db, email)
    if person is None:
        person = Person(name=name, email=email)
        db.add(person)
        db.flush()
    elif not _same_name(person.name, name):
        raise BadInput(f"{field}: {email} is already recorded as '{person.name}'; use that name")
    return person


def convenor_of(db: Session, community: Community) -> Membership | None:
    return next((m for m in current_members(db, community) if m.is_convenor), None)


def resolve_actor(db: Session, community: Community, actor: str | None) -> str:
    """Who acts: --as when given; otherwise the convenor, as the contract's examples assume."""
    if actor is not None:
        from pydantic import TypeAdapter, ValidationError

        from models.charter import Email

        try:
            return TypeAdapter(Email).validate_python(actor)
        except ValidationError:
            raise BadInput(f"--as: '{actor}' is not an email address") from None
    convenor = convenor_of(db, community)
    if convenor is None or convenor.person.email is None:
        raise BadInput(f"--as: {community.slug} has no convenor; say who acts with --as EMAIL")
    return convenor.person.email


def require_decider(db: Session, community: Community, actor: str) -> Role:
    role = role_of(db, community, actor)
    require_may_decide(role, actor, community.slug)
    return role


def create_community(db: Session, charter: Charter, today: date) -> Community:
    assert charter.slug is not None
    if db.scalar(select(Community.id).where(Community.slug == charter.slug)) is not None:
        raise BadInput(f"slug: a CoP called '{charter.slug}' already exists")
    community = Community(
        slug=charter.slug,
        name=charter.name,
        domain=charter.domain,
        practice=charter.practice,
        cadence=charter.cadence.value if charter.cadence else None,
        sponsor_reports=charter.sponsor_reports.value,
        rotate_every_sessions=charter.rotate_every_sessions,
        first_session=charter.first_session.replace(tzinfo=None) if charter.first_session else None,
        session_minutes=charter.session_minutes,
        format=charter.format.value,
        location=charter.location,
        stage=Stage.proposed.value,
        created_on=today,
    )
    db.add(community)
    db.flush()
    if charter.convenor is not None:
        person = _person(db, charter.convenor.name, charter.convenor.email, "convenor.name")
        db.add(Membership(community_id=community.id, person_id=person.id, is_convenor=True,
                          planning_group=True, joined_on=today))
    for i, member in enumerate(charter.members):
        person = _person(db, member.name, member.email, f"members[{i}].name")
        db.add(Membership(community_id=community.id, person_id=person.id, kind=member.kind.value,
                          planning_group=member.planning_group, joined_on=today))
    for i, sponsor in enumerate(charter.sponsors):
        person = _person(db, sponsor.name, sponsor.email, f"sponsors[{i}].name")
        db.add(Sponsorship(community_id=community.id, person_id=person.id,
                           organisation=sponsor.organisation, added_on=today))
    db.flush()
    actor = charter.convenor.email if charter.convenor else "charter"
    audit.record(db, community, actor=actor, action="community.created", on_date=today,
                 why="created from a charter",
                 after={"stage": "proposed", "charter": charter.model_dump(mode="json")})
    return community


def add_member(
    db: Session, slug: str, *, name: str, email: str, kind: MemberKind, planning_group: bool,
    actor: str | None, today: date,
) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    if sponsorship_of(db, community, email) is not None:
        raise Refused(f"{email} is a sponsor of {slug}; sponsors are kept outside the community")
    existing = membership_of(db, community, email)
    if existing is not None and existing.left_on is None:
        raise BadInput(f"--email: {email} is already a member of {slug}")
    before = None
    if existing is not None:
        _person(db, name, email, "--name")  # the same person coming back, by the same name
        before = {"member": email, "left_on": str(existing.left_on)}
        existing.left_on = None
        existing.kind = kind.value
        existing.planning_group = planning_group
        existing.joined_on = today
        membership = existing
    else:
        person = _person(db, name, email, "--name")
        membership = Membership(community_id=community.id, person_id=person.id, kind=kind.value,
                                planning_group=planning_group, joined_on=today)
        db.add(membership)
    db.flush()
    audit.record(db, community, actor=who, action="member.added", on_date=today, before=before,
                 after={"member": email, "kind": kind.value, "planning_group": planning_group})
    return membership


def leave(db: Session, slug: str, email: str, *, actor: str | None, today: date) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    membership = require_member(db, community, email)
    who = resolve_actor(db, community, actor)
    if who != membership.person.email:
        require_decider(db, community, who)
    if membership.is_convenor:
        # Every CoP keeps a convenor: they start it, record sessions and trigger its stages.
        raise Refused(f"{membership.person.email} is the convenor of {slug}; the convenor cannot leave")
    membership.left_on = today
    term = current_term(db, community)
    after: dict[str, object] = {"member": membership.person.email, "left_on": str(today)}
    if term is not None and term.membership_id == membership.id:
        term.ended_on = today
        after["planning_lead_term_ended"] = True
    audit.record(db, community, actor=who, action="member.left", on_date=today,
                 before={"member": membership.person.email, "left_on": None}, after=after)
    return membership


def volunteer(
    db: Session, slug: str, email: str, *, opt_out: bool, actor: str | None, today: date
) -> Membership:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    if sponsorship_of(db, community, email) is not None:
        raise Refused(f"{email} is a sponsor of {slug}; sponsors never lead planning")
    membership = require_member(db, community, email)
    who = resolve_actor(db, community, actor)
    # Members may volunteer or opt out for themselves; otherwise the convenor or planning group.
    if who != membership.person.email:
        require_decider(db, community, who)
    before = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
              "planning_group": membership.planning_group}
    if opt_out:
        membership.opted_out, membership.volunteered = True, False
    else:
        # Volunteering to lead puts a member on the planning group.
        membership.opted_out, membership.volunteered, membership.planning_group = False, True, True
    after = {"volunteered": membership.volunteered, "opted_out": membership.opted_out,
             "planning_group": membership.planning_group}
    audit.record(db, community, actor=who,
                 action="member.opted-out" if opt_out else "member.volunteered",
                 on_date=today, before={"member": membership.person.email, **before},
                 after={"member": membership.person.email, **after})
    return membership


def record_session(
    db: Session, slug: str, *, held_on: date, attended: Sequence[str], format: SessionFormat | None,
    topics: Sequence[str], methods: Sequence[str] = (), outputs: Sequence[str] = (),
    story: str | None = None, actor: str | None, today: date,
) -> CopSession:
    community = get_community(db, slug, for_update=True)  # the first session makes it active
    stage = Stage(community.stage)
    require_writable(stage, slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    if stage not in SESSION_STAGES:
        raise Refused(f"{slug} is {stage.value}; launch it before recording sessions")
    if held_on > today:
        raise BadInput(f"--on: {held_on} is after today ({today}); record a session once it is held")
    if not attended:
        raise BadInput("--attended: name at least one person who attended")
    attendees: list[Membership] = []
    for email in dict.fromkeys(e.strip().lower() for e in attended):
        membership = membership_of(db, community, email)
        if membership is None or membership.left_on is not None:
            raise BadInput(f"--attended: {email} is not a current member of {slug}")
        attendees.append(membership)
    if db.scalar(select(CopSession.id).where(CopSession.community_id == community.id,
                                             CopSession.held_on == held_on)) is not None:
        raise BadInput(f"--on: a session on {held_on} is already recorded for {slug}")
    session = CopSession(
        community_id=community.id, held_on=held_on,
        format=(format or SessionFormat(community.format)).value,
        topics=list(topics), methods=list(methods), outputs=list(outputs), story=story,
        recorded_on=today,
    )
    session.attendance = [Attendance(membership_id=m.id) for m in attendees]
    db.add(session)
    db.flush()
    audit.record(db, community, actor=who, action="session.recorded", on_date=today,
                 after={"held_on": str(held_on), "attended": len(attendees), "topics": list(topics)})
    if stage is Stage.launching:
        # The first session held makes a launching CoP active.
        community.stage = Stage.active.value
        audit.record(db, community, actor=who, action="stage.changed", on_date=today,
                     why="first session held", before={"stage": "launching"},
                     after={"stage": "active"})
    return session


def add_task(
    db: Session, slug: str, *, title: str, due: date | None, notes: str | None,
    actor: str | None, today: date,
) -> PlanningTask:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    require_decider(db, community, who)
    term = current_term(db, community)
    owner = term.membership if term is not None else convenor_of(db, community)
    if owner is None:
        raise Refused(f"{slug} has no planning lead or convenor to own the task")
    task = PlanningTask(community_id=community.id, title=title, notes=notes, due=due,
                        owner_id=owner.id, status="open", created_on=today)
    db.add(task)
    db.flush()
    audit.record(db, community, actor=who, action="task.added", on_date=today,
                 after={"task": task.id, "title": title, "owner": owner.person.email,
                        "due": str(due) if due else None})
    return task


def complete_task(db: Session, slug: str, task_id: int, *, actor: str | None, today: date) -> PlanningTask:
    community = get_community(db, slug)
    require_writable(Stage(community.stage), slug)
    who = resolve_actor(db, community, actor)
    # An id no database could hold is simply not a task here (SQLite would overflow on it).
    task = db.get(PlanningTask, task_id) if 0 < task_id < 2**63 else None
    if task is None or task.community_id != community.id:
        raise BadInput(f"TASK_ID: no task {task_id} in {slug}")
    if task.owner.person.email != who or task.owner.left_on is not None:
        require_decider(db, community, who)
    if task.status == "done":
        raise Refused(f"task {task_id} is already done")
    task.status, task.done_on = "done", today
    audit.record(db, community, actor=who, action="task.done", on_date=today,
                 before={"task": task_id, "status": "open"}, after={"task": task_id, "status": "done"})
    return task
