"""Roles changing hands (issue 13, section 1): who may withdraw or rewrite a draft, who may
take over as convenor, and when a member's new address is the same person's.

Pure rules: the use cases in tasks/usecases/ load the facts and ask these.
"""

from __future__ import annotations

from models.errors import BadInput, Refused
from models.lifecycle import Role, Stage


def require_convenor(role: Role, actor: str, slug: str, what: str) -> Role:
    """Only the convenor may do this (`what`: e.g. 'withdraw it'): it is their CoP to end or
    rewrite before it has met. The planning group decides much else, not this."""
    if role is not Role.convenor:
        raise Refused(f"{actor} may not {what}: only the convenor of {slug} may")
    return role


def require_draft(stage: Stage, slug: str) -> Stage:
    """A charter is replaced only while the CoP is proposed: nobody has been invited under it."""
    if stage is not Stage.proposed:
        raise Refused(f"{slug} is {stage.value}; a charter can be replaced only while proposed")
    return stage


def kept_slug(slug: str, written: str | None) -> str:
    """The slug stays. A charter that writes another slug is refused; with none written, the one
    a new name would give is not a request to rename, so it is ignored."""
    if written is not None and written != slug:
        raise BadInput(f"slug: the charter says '{written}'; {slug} keeps its slug "
                       f"(write slug: {slug} or leave it out)")
    return slug


def require_new_convenor(*, email: str, slug: str, current: bool, planning_group: bool,
                         is_convenor: bool, is_sponsor: bool) -> str:
    """The convenor role goes to a current planning-group member, never to a sponsor.

    Rule: the convenor or any planning-group member (the deciders of DESIGN section 2) may hand
    it on, so a CoP whose convenor has gone quiet can still carry on; the audit says who did.
    """
    if is_sponsor:
        raise Refused(f"{email} is a sponsor of {slug}; sponsors are never the convenor")
    if not current:
        raise BadInput(f"{email} is not a current member of {slug}")
    if is_convenor:
        raise BadInput(f"{email} is already the convenor of {slug}")
    if not planning_group:
        raise Refused(f"{email} is not on the planning group of {slug}; the convenor role goes to "
                      "a planning-group member (they can join it first)")
    return email


def require_new_address(old: str, new: str, slug: str, *, owner_of_new_here: bool,
                        owner_of_new_elsewhere: bool) -> str:
    """A new address for the same person: it must be new, and nobody else's."""
    if new == old:
        raise BadInput(f"NEW: {new} is the address already recorded; nothing to change")
    if owner_of_new_here:
        raise Refused(f"NEW: {new} belongs to another person in {slug}; two people cannot share "
                      "an address")
    if owner_of_new_elsewhere:
        raise Refused(f"NEW: {new} belongs to another person in copflow; two people cannot share "
                      "an address")
    return new
