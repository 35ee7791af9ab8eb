"""Who acts: the actor named, and whether the rules of DESIGN section 2 let them decide."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from models.db.tables import Community
from models.errors import BadInput
from models.lifecycle import Role, Stage, require_may_decide, require_writable
from tasks.storage.queries import (
    convenor_of,
    get_community,
    role_of,
)


def acting_decider(db: Session, slug: str, actor: str | None, *,
                   for_self: Callable[[Community], str | None] | None = None) -> tuple[Community, str]:
    """The CoP and who acts, once the rules of section 2 allow them to decide.

    for_self: the person the change is about (found in the CoP, or an error), who may make it
    for themselves without being a decider (a member leaving or volunteering, a task's owner).

    The CoP's row stays locked until the transaction ends (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already holds the write lock), so a concurrent change waits and then sees
    this one's result instead of racing it.
    """
    community = get_community(db, slug, for_update=True)
    require_writable(Stage(community.stage), slug)
    themselves = for_self(community) if for_self is not None else None
    who = resolve_actor(db, community, actor)
    if themselves is None or who != themselves:
        require_decider(db, community, who)
    return community, who


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
