"""Helpers for lifecycle tests: a CoP in any stage, through the real use cases and database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select

from models.db.tables import AuditEntry, Community, OutboxMessage
from tasks.charter_file import load_charter, parse_charter
from tasks.storage.db import session_scope
from tests.conftest import SAMPLE_CHARTER

T = TypeVar("T")
CONVENOR = "dana@example.nhs.uk"
SPONSOR = "priya@example.nhs.uk"
MEMBER = "lee@example.org"
STRANGER = "nobody@example.com"
EVERYONE = ["dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk"]
DAY0 = date(2027, 1, 4)


def in_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with session_scope() as db:
        return fn(db, *args, **kwargs)


def create(charter_text: str | None = None) -> str:
    from tasks.usecases.communities import create_community

    charter = parse_charter(charter_text) if charter_text else load_charter(SAMPLE_CHARTER)
    return in_db(lambda db: create_community(db, charter, DAY0).slug)


def hold_session(slug: str, on: date, attended: list[str] | None = None, actor: str = CONVENOR,
                 **kw: Any) -> None:
    """Record a session, by the convenor unless another actor is named."""
    from tasks.usecases.sessions import record_session

    in_db(record_session, slug, held_on=on, attended=attended or EVERYONE, format=None,
          topics=kw.pop("topics", ["a case"]), actor=actor, today=on, **kw)


def launched(slug: str = "aaot", convenor: str = CONVENOR) -> str:
    from tasks.usecases.launch import launch

    in_db(launch, slug, actor=convenor, today=DAY0, flow_run_id=None)
    return slug


def active(slug: str = "aaot", attended: list[str] | None = None, convenor: str = CONVENOR) -> str:
    launched(slug, convenor)
    hold_session(slug, DAY0 + timedelta(days=10), attended, actor=convenor)
    return slug


def closing(slug: str = "aaot", **kw: Any) -> str:
    from tasks.usecases.close import close

    active(slug)
    in_db(close, slug, actor=CONVENOR, reason="the work is done", successor=kw.get("successor"),
          notice_days=14, today=DAY0 + timedelta(days=20), flow_run_id=None)
    return slug


def stage(slug: str) -> str:
    return in_db(lambda db: db.scalar(select(Community.stage).where(Community.slug == slug)))


def counts() -> tuple[int, int, int]:
    """(audit entries, outbox rows, community version sum): any write changes one of them."""
    def read(db: Any) -> tuple[int, int, int]:
        return (db.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                db.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
                db.scalar(select(func.sum(Community.version))) or 0)
    return in_db(read)


def outbox(template: str | None = None) -> list[OutboxMessage]:
    def read(db: Any) -> list[OutboxMessage]:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if template:
            stmt = stmt.where(OutboxMessage.template == template)
        return list(db.scalars(stmt))
    return in_db(read)


def audit_actions(slug: str) -> list[str]:
    def read(db: Any) -> list[str]:
        cid = db.scalar(select(Community.id).where(Community.slug == slug))
        return list(db.scalars(select(AuditEntry.action).where(AuditEntry.community_id == cid)
                               .order_by(AuditEntry.id)))
    return in_db(read)


def pid(email: str) -> int:
    """A person's id: what a flow is told (Prefect's stores never hold an address)."""
    from models.db.tables import Person

    found = in_db(lambda db: db.scalar(select(Person.id).where(Person.email == email)))
    assert found is not None, email
    return int(found)
