"""Who acts: the actor named, and whether the rules of DESIGN section 2 let them decide."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy.orm import Session

from models.db.tables import Community, Person
from models.errors import BadInput, Refused
from models.lifecycle import Role, Stage, require_may_decide, require_writable
from tasks.storage.queries import (
    get_community,
    person_by_email,
    role_of,
)
from tasks.usecases.common import SCHEDULE


def acting_decider(db: Session, slug: str, actor: ActorRef | None, *,
                   for_self: Callable[[Community], str | None] | None = None) -> tuple[Community, str]:
    """The CoP and who acts, once the rules of section 2 allow them to decide.

    for_self: the person the change is about (found in the CoP, or an error), who may make it
    for themselves without being a decider (a member leaving or volunteering, a task's owner).

    The CoP's row stays locked until the transaction ends (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already holds the write lock), so a concurrent change waits and then sees
    this one's result instead of racing it.
    """
    community = get_community(db, slug, for_update=True)
    require_as_drawn(community)
    require_writable(Stage(community.stage), slug)
    themselves = for_self(community) if for_self is not None else None
    who = resolve_actor(db, community, actor)
    if themselves is None or who != themselves:
        require_decider(db, community, who)
    return community, who


# The version of the CoP a person saw when they decided (the web app's confirmation form): set
# for one decision, checked under the row's lock, so a form drawn before another change (or a
# second press of the same button at once) is refused and changes nothing.
_drawn: ContextVar[int | None] = ContextVar("copflow_drawn_version", default=None)
STALE = ("{slug} has changed since this form was drawn (someone else may have just decided); "
         "nothing was changed: look at it again and decide afresh")


@contextmanager
def as_drawn(version: int | None) -> Iterator[None]:
    token = _drawn.set(version)
    try:
        yield
    finally:
        _drawn.reset(token)


def require_as_drawn(community: Community) -> None:
    drawn = _drawn.get()
    if drawn is not None and community.version != drawn:
        raise Refused(STALE.format(slug=community.slug))


# Who acts, as a use case is told: an email address (the command line, the web app) or a
# person id (a flow's parameter: Prefect's stores never hold an address, DESIGN 6a).
ActorRef = str | int

NO_ACTOR = "--as: say who acts (--as EMAIL, or COPFLOW_ACTOR); nothing is done in anyone's name by default"


def resolve_actor(db: Session, community: Community, actor: ActorRef | None) -> str:
    """The address of who acts, as declared; never assumed (no default actor, DESIGN section 2)."""
    return known_person(db, actor).email or ""


def known_person(db: Session, actor: ActorRef | None) -> Person:
    """The person an actor names: a known address or person id, else bad input (exit 2)."""
    if actor is None or (isinstance(actor, str) and not actor.strip()):
        raise BadInput(NO_ACTOR)
    if isinstance(actor, int) and not isinstance(actor, bool):
        person = db.get(Person, actor) if 0 < actor < 2**63 else None
        if person is None or person.email is None:
            raise BadInput(f"actor_id: no person {actor} who can act is known to copflow")
        return person
    from pydantic import TypeAdapter, ValidationError

    from models.charter import Email

    try:
        email = TypeAdapter(Email).validate_python(actor)
    except ValidationError:
        raise BadInput(f"--as: '{actor}' is not an email address") from None
    found = person_by_email(db, email)
    if found is None:
        raise BadInput(f"--as: {email} is not known to copflow")
    return found


def actor_id(db: Session, email: str) -> int | None:
    """The person id of an address that acted (for events and results: ids, never addresses);
    None for the schedule."""
    if email == SCHEDULE:
        return None
    person = person_by_email(db, email)
    return person.id if person is not None else None


def require_decider(db: Session, community: Community, actor: str) -> Role:
    role = role_of(db, community, actor)
    require_may_decide(role, actor, community.slug)
    return role
