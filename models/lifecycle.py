"""The lifecycle of a CoP (DESIGN section 2): stages, transitions, guards, who may act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from models.errors import BadInput, CopflowError, Refused


class Stage(str, Enum):
    proposed = "proposed"
    launching = "launching"
    active = "active"
    closing = "closing"
    archived = "archived"


TRANSITIONS: dict[tuple[Stage, Stage], str] = {
    (Stage.proposed, Stage.launching): "launch",
    (Stage.launching, Stage.active): "first session",
    (Stage.active, Stage.closing): "close",
    (Stage.closing, Stage.active): "continue",
    (Stage.closing, Stage.archived): "archive",
    # A draft that never launches, or a CoP that never met, is withdrawn (never stuck).
    (Stage.proposed, Stage.archived): "withdraw",
    (Stage.launching, Stage.archived): "withdraw",
}

DEFAULT_NOTICE_DAYS = 14
MAX_NOTICE_DAYS = 3650  # beyond any real notice period; far below where dates overflow


class Role(str, Enum):
    """Someone's standing in one CoP, as far as acting on it goes."""

    convenor = "convenor"
    planning_group = "planning group member"
    member = "ordinary member"
    sponsor = "sponsor"
    former_member = "former member"
    stranger = "stranger"


DECIDERS = frozenset({Role.convenor, Role.planning_group})


def require_may_decide(role: Role, actor: str, slug: str) -> Role:
    """Only the convenor and the planning group decide; sponsors never do. Returns the decider's role."""
    if role not in DECIDERS:
        why = {
            Role.sponsor: "sponsors receive reports and never decide",
            Role.member: "only the convenor and planning group may do this",
            Role.former_member: "they have left this CoP",
            Role.stranger: "they are not part of this CoP",
        }.get(role, "only the convenor and planning group may do this")
        raise Refused(f"{actor} may not act on {slug}: {why}")
    return role


def require_found(slug: str, stage: str | None) -> None:
    """A CoP looked up by slug exists (stage None: it does not) and is in a known stage."""
    if stage is None:
        raise BadInput(f"no CoP with slug '{slug}'")
    if stage not in {s.value for s in Stage}:
        # Not the user's mistake: say so plainly rather than fail somewhere deeper.
        raise CopflowError(f"{slug} has an unknown stage '{stage}' in the database; "
                           "nothing was changed (restore it from the audit trail)")


def require_writable(stage: Stage, slug: str) -> Stage:
    """Any stage but archived may be written to; returns the stage."""
    if stage is Stage.archived:
        raise Refused(f"{slug} is archived and read-only")
    return stage


def require_transition(current: Stage, target: Stage, slug: str) -> str:
    """The transition allowed from `current` to `target`, by name (e.g. 'launch'), or Refused."""
    if (current, target) not in TRANSITIONS:
        require_writable(current, slug)
        raise Refused(f"{slug} is {current.value}; it cannot move to {target.value}")
    return TRANSITIONS[(current, target)]


def notice_days(days: int | None) -> int:
    """The days of notice a close gives (None: the default), checked before anything changes."""
    days = DEFAULT_NOTICE_DAYS if days is None else days
    if days < 0:
        raise BadInput(f"--notice-days: {days} is negative; give 0 or more days of notice")
    if days > MAX_NOTICE_DAYS:
        raise BadInput(f"--notice-days: at most {MAX_NOTICE_DAYS} (ten years)")
    return days


def notice_end(today: date, days: int | None) -> date:
    return today + timedelta(days=notice_days(days))


@dataclass(frozen=True)
class ArchiveReadiness:
    notice_over: bool
    forced: bool

    def check(self, slug: str, notice_ends_on: date | None) -> bool:
        """May it be archived now? True when that cuts the notice short (asked for with --now)."""
        if not (self.notice_over or self.forced):
            raise Refused(
                f"{slug} is in its notice period until {notice_ends_on}; use --now to archive sooner"
            )
        return not self.notice_over


MIN_MEMBERS_TO_LAUNCH = 3


def missing_for_launch(
    *, domain: str | None, practice: str | None, has_convenor: bool, sponsors: int, members: int,
    cadence: str | None,
) -> list[str]:
    """What the launch guard needs that is not there yet (empty when ready).

    members: current members other than the convenor; sponsors: sponsors of the CoP.
    """
    missing = []
    if not domain:
        missing.append("domain")
    if not practice:
        missing.append("practice")
    if not has_convenor:
        missing.append("convenor")
    if sponsors < 1:
        missing.append("at least one sponsor")
    if members < MIN_MEMBERS_TO_LAUNCH:
        missing.append(f"at least {MIN_MEMBERS_TO_LAUNCH} members")
    if not cadence:
        missing.append("cadence")
    return missing
