"""The outbox: every email is a row first, keyed so a repeated run never queues it twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage
from models.errors import BadInput
from models.text import text_problem
from tasks.rendering import RenderedEmail
from tasks.storage.db import insert_if_absent


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def check_headers(*, subject: str, name: str, address: str) -> None:
    """Last line of defence before a header: one line each as a mail reader decodes it (no
    encoded word, no control, format or line-separator character), and a valid address."""
    for what, value in (("subject", subject), ("name", name), ("address", address)):
        problem = text_problem(value)
        if problem:
            raise BadInput(f"email {what} {problem}; a header is one line as read: {value!r}")
    problem = _address_problem(address)
    if problem:
        raise BadInput(f"email address '{address}' is not valid: {problem}")


@lru_cache(maxsize=256)
def _address_problem(address: str) -> str | None:
    """Why email_validator refuses this address, or None; each address checked once a run (a
    CoP's convenor answers every one of its sponsors' reports)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def enqueue(
    db: Session,
    *,
    key: str,
    community: Community | None,
    template: str,
    to: Recipient,
    email: RenderedEmail,
    today: date,
    calendar: str | None = None,
    reply_to: Recipient | None = None,
) -> bool:
    """Queue one email under an idempotency key; False when that key was already queued.
    reply_to: who a reply reaches (the convenor or the planning lead), never the recipient."""
    check_headers(subject=email.subject, name=to.name, address=to.email)
    if reply_to is not None and reply_to.email.lower() == to.email.lower():
        reply_to = None  # nobody is asked to write to themselves
    if reply_to is not None:
        check_headers(subject=email.subject, name=reply_to.name, address=reply_to.email)
    return insert_if_absent(
        db, OutboxMessage,
        {
            "key": key,
            "community_id": community.id if community is not None else None,
            "template": template,
            "to_name": to.name,
            "to_email": to.email,
            "reply_to_name": reply_to.name if reply_to else None,
            "reply_to_email": reply_to.email if reply_to else None,
            "subject": email.subject,
            "text_body": email.text,
            "html_body": email.html,
            "calendar": calendar,
            "status": "pending",
            "attempts": 0,
            "queued_on": today,
            "queued_at": datetime.now(UTC).replace(tzinfo=None),
        },
        unique=["key"],
    )


UNSENT = ("pending", "sending")  # queued, or claimed by a run that may not have finished


def pending_ids(db: Session, slugs: Sequence[str] | None = None, *, now: datetime | None = None,
                stale_before: datetime | None = None) -> list[int]:
    """Outbox rows still to send, oldest first: every CoP's, or these CoPs' (this run's, and any
    a crashed run left).

    now: only the rows a run may try now: pending and past their backoff, or claimed before
    stale_before (a claim since then belongs to a run still sending it).
    """
    query = select(OutboxMessage.id).where(OutboxMessage.status.in_(UNSENT)).order_by(OutboxMessage.id)
    if now is not None:
        query = query.where(or_(
            (OutboxMessage.status == "pending")
            & (OutboxMessage.next_attempt_at.is_(None) | (OutboxMessage.next_attempt_at <= now)),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < (stale_before or now)),
        ))
    if slugs is None:
        return list(db.scalars(query))
    ids: list[int] = []
    for start in range(0, len(slugs), 500):  # bound the IN list
        ids += db.scalars(query.join(Community, OutboxMessage.community_id == Community.id)
                          .where(Community.slug.in_(list(slugs[start:start + 500]))))
    return sorted(ids)
