"""An operator queues emails again that failed or were held (`copflow outbox resend`).

Each goes back to pending under its own idempotency key, once: a row already pending, sending
or sent is left alone, and two resends at once queue it once (the update checks the status it
read). The audit names the operator (the account that typed the command): it is operations
work on the outbox, not a decision about a CoP, so no `--as` is asked for.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage
from models.errors import BadInput
from tasks.storage import audit

RESENDABLE = ("failed", "held")


@dataclass
class Resent:
    queued: list[int] = field(default_factory=list)  # outbox ids queued again
    left: dict[str, str] = field(default_factory=dict)  # key -> its status, not queued again


def os_operator() -> str:
    """Who typed the command, as the operating system knows them."""
    try:
        return f"operator {getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no password entry (a bare container)
        return f"operator uid {os.getuid()}"


def _chosen(db: Session, keys: Sequence[str], statuses: Sequence[str]) -> list[OutboxMessage]:
    if keys:
        rows = list(db.scalars(select(OutboxMessage).where(OutboxMessage.key.in_(list(keys)))))
        unknown = sorted(set(keys) - {r.key for r in rows})
        if unknown:
            raise BadInput(f"outbox resend: no email has the key '{unknown[0]}'; "
                           "see 'copflow outbox --failed --json'")
        return sorted(rows, key=lambda r: r.id)
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(list(statuses)))
                           .order_by(OutboxMessage.id)))


def resend(db: Session, *, keys: Sequence[str], statuses: Sequence[str], operator: str, today: date,
           why: str | None = None) -> Resent:
    """Queue again the rows named by key (failed or held ones), or every row in `statuses`."""
    if bool(keys) == bool(statuses):
        raise BadInput("outbox resend: name the emails by key, or use --failed or --held")
    done = Resent()
    for row in _chosen(db, keys, statuses):
        if row.status not in RESENDABLE:
            done.left[row.key] = row.status
            continue
        queued = db.execute(
            update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.status == row.status)
            .values(status="pending", attempts=0, resends=OutboxMessage.resends + 1, last_error=None,
                    next_attempt_at=None, claimed_at=None)
            .execution_options(synchronize_session=False))
        if queued.rowcount != 1:  # type: ignore[attr-defined]  # another resend was first
            continue
        community = db.get(Community, row.community_id) if row.community_id is not None else None
        audit.record(db, community, actor=operator, action="email.resent", on_date=today, why=why,
                     before={"outbox": row.id, "status": row.status, "template": row.template},
                     after={"status": "pending"})
        done.queued.append(row.id)
    return done
