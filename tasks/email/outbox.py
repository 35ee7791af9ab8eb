"""The outbox: every email is a row first, keyed so a repeated run never queues it twice."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db.tables import Community, OutboxMessage
from models.errors import BadInput
from tasks.rendering import RenderedEmail


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def check_headers(*, subject: str, name: str, address: str) -> None:
    """Last line of defence before a header: one line each, and a valid address."""
    from email_validator import EmailNotValidError, validate_email

    for what, value in (("subject", subject), ("name", name), ("address", address)):
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise BadInput(f"email {what} must be one line without control characters: {value!r}")
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadInput(f"email address '{address}' is not valid: {exc}") from None


def _insert_ignoring_duplicates(db: Session, values: dict[str, object]) -> bool:
    """INSERT ... ON CONFLICT (key) DO NOTHING on SQLite and PostgreSQL; True if inserted."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # same API
    stmt = (insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(OutboxMessage.id))
    # RETURNING, not rowcount: with psycopg a skipped row's rowcount can read -1 (i.e. "true").
    return db.execute(stmt).first() is not None


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
) -> bool:
    """Queue one email under an idempotency key; False when that key was already queued."""
    check_headers(subject=email.subject, name=to.name, address=to.email)
    return _insert_ignoring_duplicates(
        db,
        {
            "key": key,
            "community_id": community.id if community is not None else None,
            "template": template,
            "to_name": to.name,
            "to_email": to.email,
            "subject": email.subject,
            "text_body": email.text,
            "html_body": email.html,
            "calendar": calendar,
            "status": "pending",
            "attempts": 0,
            "queued_on": today,
            "queued_at": datetime.now(UTC).replace(tzinfo=None),
        },
    )


def pending_ids(db: Session, community_id: int | None = None) -> list[int]:
    stmt = select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "sending")))
    if community_id is not None:
        stmt = stmt.where(OutboxMessage.community_id == community_id)
    return list(db.scalars(stmt.order_by(OutboxMessage.id)))
