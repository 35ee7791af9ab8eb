"""The audit trail: every change of stage, role, task owner or membership."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from models.db.tables import AuditEntry, Community
from tasks.storage import operator as operators

CHANNEL = "channel"  # a key of Session.info: where this transaction's actor acts (e.g. "web")
# The same, for every change a flow run makes: its request says where it was asked for.
_channel: ContextVar[str | None] = ContextVar("copflow_channel", default=None)


@contextmanager
def through(channel: str | None) -> Iterator[None]:
    """Changes made inside are recorded as asked for through this channel (None: unsaid)."""
    token = _channel.set(channel)
    try:
        yield
    finally:
        _channel.reset(token)


def record(
    db: Session,
    community: Community | None,
    *,
    actor: str,
    action: str,
    on_date: date,
    why: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    flow_run_id: str | None = None,
    operator: str | None = None,
) -> AuditEntry:
    """operator: who typed the command or started the run; by default the one this process or
    flow run says (tasks/storage/operator.py)."""
    entry = AuditEntry(
        community_id=community.id if community is not None else None,
        recorded_at=datetime.now(UTC).replace(tzinfo=None),
        on_date=on_date,
        actor=actor,
        action=action,
        why=why,
        before=before,
        after=after,
        flow_run_id=flow_run_id,
        operator=operator if operator is not None else operators.current(),
        channel=db.info.get(CHANNEL) or _channel.get(),
    )
    db.add(entry)
    return entry
