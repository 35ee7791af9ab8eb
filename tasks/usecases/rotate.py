"""Rotation: the next planning lead by the rota rules, and a handover that drops nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models.db.tables import Community, Membership, RoleTerm
from models.lifecycle import Stage
from models.rota import convenor_drafted, next_lead, rotation_due
from models.stages import ROTATION_STAGES, require_rotation, values
from tasks.storage import audit
from tasks.storage.queries import (
    convenor_of,
    current_members,
    current_term,
    get_community,
    open_tasks,
    rota_candidates,
    sessions_held,
)
from tasks.usecases.acting import ActorRef, acting_decider, actor_id
from tasks.usecases.common import SCHEDULE, Outcome, queue_email
from tasks.usecases.drafted import tell_drafted_convenor
from tasks.usecases.replies import replies_of


def check_rotate(db: Session, slug: str, actor: ActorRef | None) -> tuple[Community, str]:
    community, who = acting_decider(db, slug, actor)
    require_rotation(Stage(community.stage), slug)
    return community, who


def last_term(db: Session, community: Community) -> RoleTerm | None:
    return db.scalars(select(RoleTerm).where(RoleTerm.community_id == community.id)
                      .order_by(RoleTerm.id.desc()).limit(1)).one_or_none()


def is_due(db: Session, community: Community) -> bool:
    term = current_term(db, community)
    if term is None:  # the lead left (or none was ever chosen): a new one is due
        return True
    return rotation_due(sessions_held(db, community), term.sessions_at_start,
                        community.rotate_every_sessions)


def due_for_rotation(db: Session) -> list[str]:
    """Slugs of active CoPs whose rotation is due (the scheduled run)."""
    active = db.scalars(select(Community).where(Community.stage.in_(values(ROTATION_STAGES)))
                        .order_by(Community.slug))
    return [c.slug for c in active if is_due(db, c)]


def planning_group(db: Session, community: Community) -> list[Membership]:
    """The convenor and planning group: who hears about rota problems and close proposals."""
    return [m for m in current_members(db, community) if m.is_convenor or m.planning_group]


def rotate(db: Session, slug: str, *, actor: ActorRef | None, today: date, flow_run_id: str | None,
           scheduled: bool = False) -> Outcome:
    if scheduled:
        community, who = get_community(db, slug, for_update=True), SCHEDULE
        if Stage(community.stage) not in ROTATION_STAGES or not is_due(db, community):
            return Outcome(slug=slug, actor_id=actor_id(db, who), notes=[f"{slug}: rotation not due"])
    else:
        community, who = check_rotate(db, slug, actor)
    outcome = Outcome(slug=slug, actor_id=actor_id(db, who))
    term = current_term(db, community)
    if term is not None and term.started_on == today and term.sessions_at_start == sessions_held(db, community):
        # A retry of today's rotation: the lead already changed, nothing more to do.
        outcome.notes.append(f"{slug}: the planning lead already changed today ({term.membership.person.name})")
        return outcome
    why = "rotation due" if scheduled else "asked for by the convenor or planning group"
    return hand_over(db, community, outcome, who=who, term=term, today=today, flow_run_id=flow_run_id, why=why)


def hand_over(db: Session, community: Community, outcome: Outcome, *, who: str, term: RoleTerm | None,
              today: date, flow_run_id: str | None, why: str, stepped_down: bool = False) -> Outcome:
    """Pick the next lead by the rota rules and hand over the open tasks, emailing both people.

    stepped_down: the lead of `term` left or opted out, so their term ends even when nobody is
    eligible to follow them (rotation leaves a lead in place until someone can take over).
    """
    slug = community.slug
    outgoing = term.membership if term is not None else None
    held = sessions_held(db, community)
    pick = next_lead(rota_candidates(db, [community.id])[community.id], outgoing.id if outgoing else None)
    if pick is None or (outgoing is not None and pick.membership_id == outgoing.id):
        if stepped_down and term is not None:
            term.ended_on = today
            _tasks_to_convenor(db, community, outcome, outgoing, who=who, today=today, flow_run_id=flow_run_id)
            return _no_one_eligible(db, community, outcome, None, who=who, held=held, today=today,
                                    flow_run_id=flow_run_id, occasion=f"term-{term.id}-ended")
        return _no_one_eligible(db, community, outcome, outgoing, who=who, held=held, today=today,
                                flow_run_id=flow_run_id, occasion=str(held))

    incoming = db.get(Membership, pick.membership_id)
    assert incoming is not None
    # Bump the CoP's version: a concurrent rotation of the same CoP loses (StaleDataError, exit 3).
    flag_modified(community, "stage")
    if term is not None:
        term.ended_on = today
    last = last_term(db, community)
    previous = outgoing or (last.membership if last else None)
    offered = incoming.volunteered  # a volunteer is thanked; someone the rota chose may decline
    # The offer is taken up: a volunteer picked by the rota joins the planning group now.
    joins = not incoming.planning_group and not incoming.is_convenor
    incoming.volunteered, incoming.planning_group = False, True
    new_term = RoleTerm(community_id=community.id, membership_id=incoming.id, started_on=today,
                        sessions_at_start=held)
    db.add(new_term)
    db.flush()
    audit.record(db, community, actor=who, action="lead.rotated", on_date=today,
                 why=why,
                 before={"planning_lead": previous.person.name if previous else None},
                 after={"planning_lead": incoming.person.name, "term": new_term.id,
                        **({"joined_planning_group": True} if joins else {})},
                 flow_run_id=flow_run_id)

    # Hand over: the outgoing lead's open tasks, and any owned by people who have left.
    moved = [t for t in open_tasks(db, community)
             if t.owner_id != incoming.id and (
                 (outgoing is not None and t.owner_id == outgoing.id) or t.owner.left_on is not None)]
    for task in moved:
        task.owner_id = incoming.id
    db.flush()
    if moved:
        audit.record(db, community, actor=who, action="tasks.handed-over", on_date=today,
                     before={"owner": previous.person.name if previous else None,
                             "tasks": [t.id for t in moved]},
                     after={"owner": incoming.person.name, "tasks": [t.id for t in moved]},
                     flow_run_id=flow_run_id)
    tasks = [{"id": t.id, "title": t.title, "due": t.due, "notes": t.notes,
              "overdue": t.due is not None and t.due < today} for t in moved]
    people = [incoming] + ([outgoing] if outgoing is not None and outgoing.left_on is None else [])
    if convenor_drafted(pick):  # drafted, not volunteering: told so, with whom they might ask
        people.remove(incoming)
        tell_drafted_convenor(db, community, outcome, incoming, key=f"drafted:{slug}:{new_term.id}",
                              outgoing=outgoing, tasks=tasks, today=today)
    replies = replies_of(db, community)
    for person in people:
        queue_email(db, outcome, key=f"handover:{slug}:{new_term.id}:{person.person.email}",
                    community=community, template="handover-pack", name=person.person.name,
                    email=person.person.email, today=today, tasks=tasks,
                    incoming=incoming.person.name,
                    outgoing=previous.person.name if previous else None,
                    is_incoming=person.id == incoming.id, volunteered=offered,
                    incoming_is_convenor=incoming.is_convenor, replies=replies)
    outcome.planning_lead, outcome.tasks_moved = incoming.person.name, len(moved)
    outcome.previous_lead = previous.person.name if previous else None
    outcome.notes.append(f"{slug}: {incoming.person.name} now leads planning"
                         + (f", taking over from {previous.person.name}" if previous else "")
                         + f"; {len(moved)} open task(s) handed over")
    return outcome


def _tasks_to_convenor(db: Session, community: Community, outcome: Outcome, outgoing: Membership | None,
                       *, who: str, today: date, flow_run_id: str | None) -> None:
    """A lead stepped down and nobody can follow: their open tasks go to the convenor (a task
    belongs to the planning lead, or the convenor when there is none), not with the departed."""
    convenor = convenor_of(db, community)
    if convenor is None or outgoing is None or convenor.id == outgoing.id:
        return
    moved = [t for t in open_tasks(db, community) if t.owner_id == outgoing.id or t.owner.left_on is not None]
    for task in moved:
        task.owner_id = convenor.id
    if moved:
        audit.record(db, community, actor=who, action="tasks.handed-over", on_date=today,
                     why="the planning lead stepped down and nobody else can lead",
                     before={"owner": outgoing.person.name, "tasks": [t.id for t in moved]},
                     after={"owner": convenor.person.name, "tasks": [t.id for t in moved]},
                     flow_run_id=flow_run_id)
    outcome.tasks_moved = len(moved)


def _no_one_eligible(db: Session, community: Community, outcome: Outcome,
                     outgoing: Membership | None, *, who: str, held: int, today: date,
                     flow_run_id: str | None, occasion: str) -> Outcome:
    """Pick nobody: tell the convenor and planning group, and record that. Nothing else changes."""
    slug = community.slug
    # Once per occasion (the number of sessions held, or a lead's term ended by stepping down):
    # a daily scheduled run does not repeat the message.
    for m in planning_group(db, community):
        queue_email(db, outcome, key=f"no-one-eligible:{slug}:{occasion}:{m.person.email}",
                    community=community, template="no-one-eligible", name=m.person.name,
                    email=m.person.email, today=today,
                    current_lead=outgoing.person.name if outgoing else None,
                    is_lead=outgoing is not None and m.id == outgoing.id)  # told as 'you', not by name
    if outcome.queued:  # recorded once, with the message; a retry adds nothing
        audit.record(db, community, actor=who, action="rotation.no-one-eligible",
                     on_date=today, why="nobody else is eligible to lead planning",
                     after={"planning_lead": outgoing.person.name if outgoing else None},
                     flow_run_id=flow_run_id)
    outcome.no_one_eligible = True
    outcome.notes.append(f"{slug}: nobody else is eligible to lead planning; nobody was picked "
                         "and the convenor and planning group have been told")
    return outcome
