"""The planning-lead rota: no single person bears the burden (DESIGN section 1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar


@dataclass(frozen=True)
class Candidate:
    """One member as the rota sees them."""

    membership_id: int
    name: str
    planning_group: bool
    volunteered: bool
    opted_out: bool
    is_convenor: bool = False
    is_sponsor: bool = False
    terms_served: int = 0
    last_served_until: date | None = None
    joined_on: date = date.min

    @property
    def eligible(self) -> bool:
        # Volunteering makes a member eligible (not a decider); sponsors never lead.
        return (self.planning_group or self.volunteered) and not self.opted_out and not self.is_sponsor


def eligible(candidates: Iterable[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.eligible]


def _preference(c: Candidate) -> tuple[object, ...]:
    # Volunteers first, then whoever has served least, then longest ago (never first).
    never = c.last_served_until is None
    return (
        not c.volunteered,
        c.terms_served,
        not never,
        c.last_served_until or date.min,
        c.joined_on,
        c.membership_id,
    )


def next_lead(candidates: Sequence[Candidate], outgoing_id: int | None) -> Candidate | None:
    """Pick the next planning lead, or None when nobody is eligible.

    Order of resort: eligible members other than the outgoing lead (volunteers first,
    then least served and longest ago); then the convenor, who leads only when no one
    else is eligible; the outgoing lead again only when there is nobody else at all.
    Sponsors and anyone who opted out are never picked.
    """
    pool = eligible(candidates)
    members = [c for c in pool if not c.is_convenor]
    convenors = [
        c for c in candidates if c.is_convenor and not c.opted_out and not c.is_sponsor
    ]
    for tier in (members, convenors):
        fresh = [c for c in tier if c.membership_id != outgoing_id]
        if fresh:
            return min(fresh, key=_preference)
    again = [c for c in (*members, *convenors) if c.membership_id == outgoing_id]
    return again[0] if again else None


def rota_order(candidates: Sequence[Candidate], outgoing_id: int | None) -> list[Candidate]:
    """Everyone the rota could pick next, in next_lead's order of resort (its first is next_lead's
    pick): eligible members, then the convenor, then the outgoing lead again."""
    pool = [c for c in eligible(candidates) if not c.is_convenor]
    convenors = [c for c in candidates if c.is_convenor and not c.opted_out and not c.is_sponsor]
    order = [c for tier in (pool, convenors)
             for c in sorted((c for c in tier if c.membership_id != outgoing_id), key=_preference)]
    return order + [c for c in (*pool, *convenors) if c.membership_id == outgoing_id][:1]


def rotation_due(sessions_held: int, sessions_at_term_start: int, rotate_every: int) -> bool:
    return sessions_held - sessions_at_term_start >= rotate_every


def convenor_drafted(pick: Candidate | None) -> bool:
    """The convenor leads only when no one else is eligible: picked, they are drafted, and told so."""
    return pick is not None and pick.is_convenor


SUGGESTIONS = 3  # the most active members named to a drafted convenor


def suggest_leads(candidates: Sequence[Candidate], attended: Mapping[int, int], *,
                  outgoing_id: int | None = None, limit: int = SUGGESTIONS) -> list[Candidate]:
    """Whom a drafted convenor might ask to take a turn: the members who came most often (the
    ownerless-group pattern), never a sponsor, the convenor, the outgoing lead, anyone who opted
    out of leading, or anyone who never came. attended: membership id -> sessions attended."""
    pool = [c for c in candidates
            if not (c.is_convenor or c.is_sponsor or c.opted_out or c.membership_id == outgoing_id)
            and attended.get(c.membership_id, 0) > 0]
    return sorted(pool, key=lambda c: (-attended[c.membership_id], c.name, c.membership_id))[:limit]


class Term(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def started_on(self) -> date: ...


T = TypeVar("T", bound=Term)


def lead_term(open_terms: Iterable[T]) -> T | None:
    """The planning lead's term among the open ones: the one begun last (on a tie, recorded last).
    More than one open is an older copflow's bug or a hand edit: the others are stale, not leads."""
    return max(open_terms, key=lambda t: (t.started_on, t.id), default=None)
