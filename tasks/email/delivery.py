"""Deliver queued outbox rows through the configured transport, each exactly once.

A row is claimed ('sending', attempts + 1) in its own commit before the transport
sees it, and marked sent or failed in another. So:
- a repeated run skips rows already sent;
- a row claimed by a run that crashed is taken up again once the claim is stale,
  and the transport is told it may have been sent (Notify looks it up; the file
  transport's file name is the key; SMTP has a residual at-least-once window);
- transient failures wait with exponential backoff (next_attempt_at): a few quick
  retries in this run, the rest left pending for the next run, and failed for good
  after settings.send_attempts;
- a permanent failure marks that row failed with the reason; the batch goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from models.tables import OutboxMessage
from tasks.db import session_scope
from tasks.email.message import build_message
from tasks.email.transports import (
    ConnectionFailure,
    FileTransport,
    PermanentFailure,
    TransientFailure,
    Transport,
)
from tasks.settings import Settings, get_settings

log = logging.getLogger("copflow.email")

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # still pending: retried by a later run
    busy: list[str] = field(default_factory=list)  # claimed by another run that is still sending
    stopped: str | None = None  # why delivery stopped early (transport unreachable, misconfigured)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def with_secret_blocks(settings: Settings) -> Settings:
    """Fill a missing credential from the Prefect Secret block its setting names (Prefect only then)."""
    from pydantic import SecretStr

    updates: dict[str, Any] = {}
    for field, block in (("smtp_password", settings.smtp_password_block),
                         ("notify_api_key", settings.notify_api_key_block)):
        if block and getattr(settings, field) is None:
            from prefect.blocks.system import Secret

            updates[field] = SecretStr(str(Secret.load(block).get()))
    return settings.model_copy(update=updates) if updates else settings


def transport_from_settings(settings: Settings) -> Transport:
    if settings.email_transport == "smtp":
        from tasks.email.smtp import SmtpTransport

        return SmtpTransport(settings)
    if settings.email_transport == "notify":
        from tasks.email.notify import NotifyTransport

        return NotifyTransport(settings)
    return FileTransport(settings.outbox_dir)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def due_ids(settings: Settings | None = None) -> list[int]:
    """Every row a run may try now: pending and past its backoff, or claimed long ago."""
    settings = settings or get_settings()
    now = _now()
    stale = now - timedelta(seconds=settings.send_claim_timeout_seconds)
    with session_scope() as db:
        return list(db.scalars(
            select(OutboxMessage.id).where(or_(
                (OutboxMessage.status == "pending")
                & (OutboxMessage.next_attempt_at.is_(None) | (OutboxMessage.next_attempt_at <= now)),
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale),
            )).order_by(OutboxMessage.id)
        ))


def _claim(row_id: int, settings: Settings) -> tuple[OutboxMessage | None, str]:
    """Take the row for this run. Returns (row, "") or (None, why not: done/busy/later)."""
    now = _now()
    with session_scope() as db:
        row = db.get(OutboxMessage, row_id)
        if row is None or row.status in ("sent", "failed"):
            return None, "done"
        if row.status == "sending":
            stale = now - timedelta(seconds=settings.send_claim_timeout_seconds)
            if row.claimed_at is not None and row.claimed_at >= stale:
                return None, "busy"
        elif row.next_attempt_at is not None and row.next_attempt_at > now:
            return None, "later"
        # Compare-and-set on what we read, so two runs never both claim it.
        claimed = db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == row.status,
                   OutboxMessage.attempts == row.attempts)
            .values(status="sending", claimed_at=now, attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return None, "busy"
        db.expunge(row)
    return row, ""


def _finish(row_id: int, **values: Any) -> None:
    with session_scope() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
                   .execution_options(synchronize_session=False))


def _transient(row: OutboxMessage, reason: str, settings: Settings) -> bool:
    """Record a transient failure; True when the row is still pending (False: gave up)."""
    attempts = row.attempts + 1
    if attempts >= settings.send_attempts:
        _finish(row.id, status="failed", last_error=f"gave up after {attempts} attempts: {reason}")
        return False
    wait = min(timedelta(seconds=settings.send_backoff_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)
    _finish(row.id, status="pending", last_error=reason, next_attempt_at=_now() + wait)
    return True


def _one_pass(ids: list[int], transport: Transport, settings: Settings,
              report: DeliveryReport) -> list[int]:
    """Try each row once; return the ids still pending."""
    waiting: list[int] = []
    for index, row_id in enumerate(ids):
        row, why_not = _claim(row_id, settings)
        if row is None:
            if why_not == "busy":
                report.busy.append(str(row_id))  # the outbox id: another run holds it
            elif why_not == "later":
                waiting.append(row_id)
            continue
        maybe_sent = row.attempts > 0
        try:
            ref = transport.send(row.key, build_message(row, settings), maybe_sent=maybe_sent)
        except PermanentFailure as exc:
            _finish(row.id, status="failed", last_error=str(exc))
            report.failed.append(row.key)
            log.warning("email %s failed: %s", row.key, exc)
            continue
        except TransientFailure as exc:
            if _transient(row, str(exc), settings):
                waiting.append(row_id)
            else:
                report.failed.append(row.key)
            log.warning("email %s not sent yet: %s", row.key, exc)
            if isinstance(exc, ConnectionFailure):
                # No point trying the rest now; they wait for the next pass or run.
                report.stopped = str(exc)
                waiting.extend(ids[index + 1 :])
                break
            continue
        _finish(row.id, status="sent", sent_at=_now(), transport=transport.name,
                transport_ref=ref[:300], last_error=None, next_attempt_at=None)
        report.sent.append(row.key)
    return waiting


def _earliest_retry(ids: list[int]) -> datetime | None:
    with session_scope() as db:
        return db.scalar(select(func.min(OutboxMessage.next_attempt_at))
                         .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending"))


def deliver_pending(ids: list[int] | None = None, settings: Settings | None = None) -> DeliveryReport:
    """Send the given rows (default: every row due now), retrying transient failures a little."""
    settings = settings or get_settings()
    report = DeliveryReport()
    todo = due_ids(settings) if ids is None else list(ids)
    if not todo:
        return report
    try:
        transport = transport_from_settings(with_secret_blocks(settings))
    except (ValueError, OSError) as exc:
        report.stopped = f"email transport '{settings.email_transport}' is not ready: {exc}"
        report.deferred = [str(i) for i in todo]
        return report
    try:
        for retry in range(settings.send_retries_in_run + 1):
            report.stopped = None
            todo = _one_pass(todo, transport, settings, report)
            if not todo or retry == settings.send_retries_in_run:
                break
            wake = _earliest_retry(todo)
            pause = (wake - _now()).total_seconds() if wake else 0.0
            if pause > settings.send_wait_in_run_seconds:
                break
            time.sleep(max(pause, 0.0))
    finally:
        transport.close()
    with session_scope() as db:
        report.deferred = list(db.scalars(
            select(OutboxMessage.key).where(OutboxMessage.id.in_(todo),
                                            OutboxMessage.status == "pending")))
    return report
