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
- a permanent failure about one message (an unknown mailbox) marks that row failed with the
  reason; the batch goes on;
- a permanent refusal about the settings (the sender, the login, the API key) holds that row
  and every other row of the batch ('held', with the reason): they wait for an operator to fix
  the settings and resend them (`copflow outbox resend`), keeping their keys.

What is logged (copflow.email, which reaches the flow run's log) names rows by outbox id and
template, and masks any address in a server's words: Prefect's stores never hold one.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from models.db.schema import outbox_message
from models.db.tables import OutboxMessage
from models.masking import masked
from tasks.crashpoints import crash_point
from tasks.email.message import build_message
from tasks.email.outbox import pending_ids
from tasks.email.transports import (
    ConnectionFailure,
    FileTransport,
    PermanentFailure,
    SettingsRefused,
    TransientFailure,
    Transport,
)
from tasks.storage.db import engine, session_scope
from tasks.storage.settings import Settings, get_settings

log = logging.getLogger("copflow.email")

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class Problem:
    """An email that failed or is held, by ids only (its key holds the address)."""

    outbox_id: int
    template: str
    community_id: int | None
    status: str  # failed | held
    kind: str  # the class of reason: recipient-refused, sender-refused, login-refused, gave-up, ...
    reason: str  # the server's words, addresses masked


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # still pending: retried by a later run
    busy: list[str] = field(default_factory=list)  # claimed by another run that is still sending
    stopped: str | None = None  # why delivery stopped early (transport unreachable, misconfigured)
    held: list[str] = field(default_factory=list)  # refused for the settings: wait for a resend
    problems: list[Problem] = field(default_factory=list)  # each failed or held row, by ids
    for_worker: int = 0  # left queued: this process cannot use the site's transport


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
    with session_scope() as db:
        return pending_ids(db, now=now,
                           stale_before=now - timedelta(seconds=settings.send_claim_timeout_seconds))


CLAIM_BATCH = 100  # rows claimed in one commit
ROWS_PER_CONNECTION = 25  # fewer rows than this per extra connection: not worth opening one


def _claim_batch(ids: list[int], settings: Settings) -> tuple[list[OutboxMessage], dict[int, str]]:
    """Take the rows of this batch that are free, in one commit.

    Returns (claimed rows, {id: why not} for the rest: done/busy/later). The rows are read
    under a lock, so two runs never both claim one: SQLite's BEGIN IMMEDIATE holds the write
    lock for the whole transaction; on PostgreSQL the rows are locked FOR UPDATE, and rows
    another run holds locked right now are skipped (busy) rather than waited for.
    """
    now = _now()
    stale = now - timedelta(seconds=settings.send_claim_timeout_seconds)
    why_not: dict[int, str] = {}
    with session_scope() as db:
        query = select(OutboxMessage).where(OutboxMessage.id.in_(ids))
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = {row.id: row for row in db.scalars(query)}
        claimed: list[OutboxMessage] = []
        for row_id in ids:
            row = rows.get(row_id)
            if row is None:
                # Gone, or locked by another run this moment.
                exists = db.scalar(select(OutboxMessage.id).where(OutboxMessage.id == row_id))
                why_not[row_id] = "busy" if exists is not None else "done"
            elif row.status in ("sent", "failed", "held"):
                why_not[row_id] = "done"
            elif row.status == "sending" and row.claimed_at is not None and row.claimed_at >= stale:
                why_not[row_id] = "busy"
            elif row.status == "pending" and row.next_attempt_at is not None and row.next_attempt_at > now:
                why_not[row_id] = "later"
            else:
                claimed.append(row)
        if claimed:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in claimed]))
                .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        for row in rows.values():
            db.expunge(row)  # row.attempts stays what it was before this claim
    return claimed, why_not


# The SET clause comes from the parameters' names: one statement, compiled once per set of columns.
_FINISH = update(outbox_message).where(outbox_message.c.id == bindparam("row_id"))


def _finish(row_id: int, **values: Any) -> None:
    # Core, in its own commit: one row's outcome, without an ORM session around one UPDATE.
    with engine().begin() as conn:
        conn.execute(_FINISH, {"row_id": row_id, **values})


def _transient(row: OutboxMessage, reason: str, settings: Settings) -> bool:
    """Record a transient failure; True when the row is still pending (False: gave up)."""
    attempts = row.attempts + 1
    if attempts >= settings.send_attempts:
        _finish(row.id, status="failed", last_error=f"gave up after {attempts} attempts: {reason}")
        return False
    wait = min(timedelta(seconds=settings.send_backoff_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)
    _finish(row.id, status="pending", last_error=reason, next_attempt_at=_now() + wait)
    return True


class _Senders:
    """Transports for this run: one per worker thread (an SMTP connection each), reused."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._all: list[Transport] = []
        self._lock = threading.Lock()
        self.first = transport_from_settings(settings)  # fails early when misconfigured
        self._spare: list[Transport] = [self.first]

    def get(self) -> Transport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            with self._lock:
                transport = self._spare.pop() if self._spare else transport_from_settings(self.settings)
                self._all.append(transport)
            self._local.transport = transport
        return transport

    def close(self) -> None:
        for transport in self._all or [self.first]:
            transport.close()


class _Batch:
    """What the sending threads of one delivery share: whether to stop, and why rows are held."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # no more sending in this delivery
        self.hold: SettingsRefused | None = None  # set: hold the rest for this refusal
        self.first_held: int | None = None
        self.problems: list[Problem] = []
        self._lock = threading.Lock()

    def held_by(self, row: OutboxMessage, exc: SettingsRefused) -> bool:
        """Record the refusal that holds the batch; False when another row's came first."""
        with self._lock:
            first = self.hold is None
            if first:
                self.hold, self.first_held = exc, row.id
            self.stop.set()
        return first

    def held_reason(self) -> str:
        assert self.hold is not None
        return f"held after email #{self.first_held} was refused: {self.hold}"

    def note(self, row: OutboxMessage, status: str, kind: str, reason: str) -> None:
        with self._lock:
            self.problems.append(Problem(outbox_id=row.id, template=row.template,
                                         community_id=row.community_id, status=status, kind=kind,
                                         reason=masked(reason)))


def _refused(row: OutboxMessage, exc: PermanentFailure, batch: _Batch) -> tuple[str, str | None]:
    """A permanent refusal: this row fails, or (about the settings) it and the batch are held."""
    if isinstance(exc, SettingsRefused):
        first = batch.held_by(row, exc)
        reason = str(exc) if first else batch.held_reason()
        _finish(row.id, status="held", last_error=reason, next_attempt_at=None)
        log.warning("email #%d (%s) held: %s [%s]", row.id, row.template, masked(reason), exc.kind)
        if first:
            batch.note(row, "held", exc.kind, str(exc))
        return "held", str(exc)
    _finish(row.id, status="failed", last_error=str(exc))
    log.warning("email #%d (%s) failed: %s [%s]", row.id, row.template, masked(str(exc)), exc.kind)
    batch.note(row, "failed", exc.kind, str(exc))
    return "failed", str(exc)


def _send_one(row: OutboxMessage, senders: _Senders, settings: Settings,
              batch: _Batch) -> tuple[str, str | None]:
    """Send one claimed row and record the outcome in its own commit.

    Returns (what happened, error): sent / failed / held / waiting / gave-up / released / stopped.
    """
    if batch.stop.is_set():
        if batch.hold is not None:  # never tried: its attempts stay as they were
            _finish(row.id, status="held", last_error=batch.held_reason(), attempts=row.attempts)
            return "held", None
        # The transport went away: hand the claim back untouched, for the next pass or run.
        _finish(row.id, status=row.status, claimed_at=row.claimed_at, attempts=row.attempts)
        return "released", None
    crash_point("outbox.claimed")
    transport = senders.get()
    # An earlier attempt, or a send before an operator's resend, may have got through.
    maybe_sent = row.attempts > 0 or row.resends > 0
    try:
        message = build_message(row, settings)
    except ValueError as exc:  # e.g. an address no transport can carry: this row only
        _finish(row.id, status="failed", last_error=f"not sent: {exc}")
        log.warning("email #%d (%s) cannot be built: %s", row.id, row.template, masked(str(exc)))
        batch.note(row, "failed", "cannot-build", str(exc))
        return "failed", str(exc)
    try:
        ref = transport.send(row.key, message, maybe_sent=maybe_sent)
    except PermanentFailure as exc:
        return _refused(row, exc, batch)
    except TransientFailure as exc:
        still = _transient(row, str(exc), settings)
        log.warning("email #%d (%s) not sent yet: %s", row.id, row.template, masked(str(exc)))
        if not still:
            batch.note(row, "failed", "gave-up", str(exc))
        if isinstance(exc, ConnectionFailure):
            # No point trying the rest now; they wait for the next pass or run.
            batch.stop.set()
            return ("stopped" if still else "gave-up"), str(exc)
        return ("waiting" if still else "gave-up"), str(exc)
    crash_point("outbox.sent")
    _finish(row.id, status="sent", sent_at=_now(), transport=transport.name,
            transport_ref=ref[:300], last_error=None, next_attempt_at=None)
    crash_point("outbox.marked")
    return "sent", None


def _send_chunk(claimed: list[OutboxMessage], senders: _Senders, settings: Settings, batch: _Batch,
                pool: ThreadPoolExecutor) -> list[tuple[str, str | None]]:
    # Small batches go down one connection, in order; big ones spread over several, after the
    # first message went alone: a refusal of the settings then stops the batch after one message,
    # not one per connection. Each thread runs in a copy of this context, so its log lines still
    # belong to the run that sends.
    workers = min(settings.send_threads, 1 + len(claimed) // ROWS_PER_CONNECTION)
    if workers <= 1 or not claimed:
        return [_send_one(row, senders, settings, batch) for row in claimed]
    first = _send_one(claimed[0], senders, settings, batch)
    futures = [pool.submit(contextvars.copy_context().run, _send_one, row, senders, settings, batch)
               for row in claimed[1:]]
    return [first] + [f.result() for f in futures]


def _one_pass(ids: list[int], senders: _Senders, settings: Settings,
              report: DeliveryReport, batch: _Batch) -> list[int]:
    """Try each row once, claiming a batch at a time; return the ids still pending."""
    waiting: list[int] = []
    with ThreadPoolExecutor(max_workers=max(1, settings.send_threads),
                            thread_name_prefix="copflow-send") as pool:
        for start in range(0, len(ids), CLAIM_BATCH):
            chunk = ids[start:start + CLAIM_BATCH]
            if batch.stop.is_set():
                waiting.extend(chunk)
                continue
            claimed, why_not = _claim_batch(chunk, settings)
            for row_id in chunk:
                if why_not.get(row_id) == "busy":
                    report.busy.append(str(row_id))  # the outbox id: another run holds it
                elif why_not.get(row_id) == "later":
                    waiting.append(row_id)
            outcomes = _send_chunk(claimed, senders, settings, batch, pool)
            for row, (what, error) in zip(claimed, outcomes, strict=True):
                if what == "sent":
                    report.sent.append(row.key)
                elif what in ("failed", "gave-up"):
                    report.failed.append(row.key)
                elif what == "held":
                    report.held.append(row.key)
                elif what in ("waiting", "released", "stopped"):
                    waiting.append(row.id)
                if what == "stopped":
                    report.stopped = masked(error or "")
    if batch.hold is not None:
        report.held += _hold_pending(waiting, batch.held_reason())
        return []
    return waiting


def _hold_pending(ids: list[int], reason: str) -> list[str]:
    """Hold the batch's rows still pending (not tried, or waiting to retry); their keys."""
    keys: list[str] = []
    for start in range(0, len(ids), 500):  # bound the IN list
        with session_scope() as db:
            query = select(OutboxMessage.id, OutboxMessage.key).where(
                OutboxMessage.id.in_(ids[start:start + 500]), OutboxMessage.status == "pending")
            if db.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = db.execute(query).all()
            db.execute(update(OutboxMessage).where(OutboxMessage.id.in_([i for i, _ in found]))
                       .values(status="held", last_error=reason, next_attempt_at=None)
                       .execution_options(synchronize_session=False))
            keys += [key for _, key in found]
    return keys


def _earliest_retry(ids: list[int]) -> datetime | None:
    with session_scope() as db:
        return db.scalar(select(func.min(OutboxMessage.next_attempt_at))
                         .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending"))


def deliver_pending(ids: list[int] | None = None, settings: Settings | None = None) -> DeliveryReport:
    """Send the given rows (default: every row due now), retrying transient failures a little.

    `settings` come resolved: credentials kept in Prefect blocks are read by the caller
    (tasks/email_tasks.py), so this module needs no Prefect."""
    settings = settings or get_settings()
    report = DeliveryReport()
    todo = due_ids(settings) if ids is None else list(ids)
    if not todo:
        return report
    try:
        senders = _Senders(settings)
    except (ValueError, OSError) as exc:
        report.stopped = masked(f"email transport '{settings.email_transport}' is not ready: {exc}")
        report.deferred = [str(i) for i in todo]
        return report
    batch = _Batch()
    try:
        for retry in range(settings.send_retries_in_run + 1):
            report.stopped = None
            batch.stop.clear()
            todo = _one_pass(todo, senders, settings, report, batch)
            if not todo or retry == settings.send_retries_in_run:
                break
            wake = _earliest_retry(todo)
            pause = (wake - _now()).total_seconds() if wake else 0.0
            if pause > settings.send_wait_in_run_seconds:
                break
            time.sleep(max(pause, 0.0))
    finally:
        senders.close()
    report.problems = batch.problems
    if batch.hold is not None:
        report.stopped = masked(f"{len(report.held)} email(s) held: {batch.hold}")
    with session_scope() as db:
        report.deferred = list(db.scalars(
            select(OutboxMessage.key).where(OutboxMessage.id.in_(todo),
                                            OutboxMessage.status == "pending")))
    return report
