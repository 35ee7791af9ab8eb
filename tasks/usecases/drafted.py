"""The convenor drafted to lead planning because no one else is eligible: told so, with the
members who came most often named as people they might ask (models.rota.suggest_leads)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.db.tables import Attendance, Community, CopSession, Membership
from models.rota import suggest_leads
from tasks.storage.queries import rota_candidates
from tasks.usecases.common import Outcome, queue_email


def attendance_counts(db: Session, community: Community) -> dict[int, int]:
    """Membership id -> sessions of this CoP they attended."""
    rows = db.execute(
        select(Attendance.membership_id, func.count())
        .join(CopSession, Attendance.session_id == CopSession.id)
        .where(CopSession.community_id == community.id)
        .group_by(Attendance.membership_id))
    return {int(membership_id): int(count) for membership_id, count in rows.all()}


def suggestions(db: Session, community: Community, outgoing: Membership | None) -> list[dict[str, Any]]:
    attended = attendance_counts(db, community)
    picks = suggest_leads(rota_candidates(db, [community.id])[community.id], attended,
                          outgoing_id=outgoing.id if outgoing else None)
    return [{"name": c.name, "attended": attended[c.membership_id]} for c in picks]


def tell_drafted_convenor(db: Session, community: Community, outcome: Outcome, convenor: Membership, *,
                          key: str, outgoing: Membership | None, tasks: list[dict[str, Any]],
                          today: date) -> bool:
    """Queue the convenor's note: they lead planning for now because nobody else can, the tasks
    that are now theirs, and whom they might ask to take a turn."""
    return queue_email(db, outcome, key=f"{key}:{convenor.person.email}", community=community,
                       template="convenor-drafted", name=convenor.person.name,
                       email=convenor.person.email, today=today, tasks=tasks,
                       outgoing=outgoing.person.name if outgoing else None,
                       suggestions=suggestions(db, community, outgoing))
