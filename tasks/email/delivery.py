"""Deliver queued outbox rows through the configured transport, each exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update

from models.tables import OutboxMessage
from tasks.db import session_scope
from tasks.email.message import build_message
from tasks.email.transports import FileTransport, PermanentFailure, TransientFailure, Transport
from tasks.settings import Settings, get_settings


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def transport_from_settings(settings: Settings) -> Transport:
    if settings.email_transport == "file":
        return FileTransport(settings.outbox_dir)
    raise NotImplementedError(f"email transport '{settings.email_transport}' is not available yet")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def deliver_pending(ids: list[int], settings: Settings | None = None) -> DeliveryReport:
    """Send each row that is still pending; mark it sent or failed in its own commit."""
    settings = settings or get_settings()
    report = DeliveryReport()
    if not ids:
        return report
    transport = transport_from_settings(settings)
    try:
        for row_id in ids:
            with session_scope() as db:
                claimed = db.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id, OutboxMessage.status.in_(("pending", "sending")))
                    .values(status="sending", claimed_at=_now(), attempts=OutboxMessage.attempts + 1)
                ).rowcount
                row = db.scalars(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()
            if not claimed:
                continue
            try:
                ref = transport.send(row.key, build_message(row, settings))
            except TransientFailure as exc:
                with session_scope() as db:
                    db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                               .values(status="pending", last_error=str(exc)))
                report.deferred.append(row.key)
                continue
            except PermanentFailure as exc:
                with session_scope() as db:
                    db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                               .values(status="failed", last_error=str(exc)))
                report.failed.append(row.key)
                continue
            with session_scope() as db:
                db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                           .values(status="sent", sent_at=_now(), transport=transport.name,
                                   transport_ref=ref, last_error=None))
            report.sent.append(row.key)
    finally:
        transport.close()
    return report
