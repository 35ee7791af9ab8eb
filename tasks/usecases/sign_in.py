"""Who is signed in: one-time sign-in links, sessions and rate limits, all kept in the database
(so replicas share them). Tokens and session ids are random; only their hashes are stored.
The web app (web/signin.py) and the demo both sign people in through here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, delete, func, select, update
from sqlalchemy.orm import Session

from models.db.tables import OutboxMessage, Person, WebSession, WebToken
from tasks.email.outbox import Recipient, enqueue
from tasks.rendering import render_email
from tasks.storage.db import read_scope, session_scope
from tasks.storage.queries import person_by_email
from tasks.web_links import keyed_hash, token_hash, web_url

SIGN_IN_MINUTES = 15
SESSION_HOURS = 12  # a signed-in browser signs in again the next day
WINDOW = timedelta(minutes=15)  # the rate limits count sign-in requests over this window
ADDRESS_LIMIT = 3  # links asked for one address in the window
CLIENT_LIMIT = 10  # links asked from one client in the window
KEEP = timedelta(days=1)  # sign-in rows older than this are no use to anyone: pruned


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person."""

    person_id: int
    name: str
    email: str


@dataclass(frozen=True)
class SignInRequest:
    limited: bool
    outbox_id: int | None = None  # the email to deliver now (None: nobody has that address)


def request_sign_in(address: str, client: str, next_path: str | None) -> SignInRequest:
    """Queue a one-time link for this address if a person has it; the caller answers the same
    either way. Refused (limited) past the per-address or per-client limit."""
    at = now()
    address_hash, client_hash = keyed_hash(address, "address"), keyed_hash(client, "client")
    with session_scope() as db:
        db.execute(delete(WebToken).where(WebToken.purpose == "sign-in", WebToken.created_at < at - KEEP))
        recent = select(func.count()).select_from(WebToken).where(
            WebToken.purpose == "sign-in", WebToken.created_at > at - WINDOW)
        if (db.scalar(recent.where(WebToken.address_hash == address_hash)) or 0) >= ADDRESS_LIMIT \
                or (db.scalar(recent.where(WebToken.client_hash == client_hash)) or 0) >= CLIENT_LIMIT:
            return SignInRequest(limited=True)
        person = person_by_email(db, address) or _programme_staff(db, address)
        token = secrets.token_urlsafe(32)
        row = WebToken(purpose="sign-in", token_hash=token_hash(token),
                       person_id=person.id if person else None, address_hash=address_hash,
                       client_hash=client_hash, next_path=next_path, created_at=at,
                       expires_at=at + timedelta(minutes=SIGN_IN_MINUTES))
        db.add(row)
        db.flush()
        # Rendered for an unknown address too, so the answer takes about as long either way.
        email = render_email("web-sign-in", recipient_name=person.name if person else "",
                             link=f"{web_url()}/sign-in/{token}", minutes=SIGN_IN_MINUTES)
        if person is None or person.email is None:
            return SignInRequest(limited=False)
        key = f"sign-in:{row.id}"
        enqueue(db, key=key, community=None, template="web-sign-in",
                to=Recipient(name=person.name, email=person.email), email=email, today=date.today())
        return SignInRequest(limited=False,
                             outbox_id=db.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)))


def _programme_staff(db: Session, address: str) -> Person | None:
    """Programme staff (COPFLOW_PROGRAMME_STAFF) may sign in before any CoP knows them: they are
    then kept as a person with no CoP, named by their address until a CoP names them."""
    from tasks.storage.settings import get_settings

    email = address.strip().lower()
    if email not in get_settings().programme_staff_emails:
        return None
    person = Person(name=email, email=email)
    db.add(person)
    db.flush()
    return person


def _usable(token: str, at: datetime) -> list[ColumnElement[bool]]:
    return [WebToken.token_hash == token_hash(token), WebToken.purpose == "sign-in",
            WebToken.used_at.is_(None), WebToken.expires_at > at, WebToken.person_id.is_not(None)]


def sign_in_usable(token: str) -> bool:
    """Whether this link would sign someone in now (looking changes nothing)."""
    with read_scope() as db:
        return db.scalar(select(WebToken.id).where(*_usable(token, now()))) is not None


@dataclass(frozen=True)
class NewSession:
    session_id: str
    next_path: str | None


def use_sign_in(token: str) -> NewSession | None:
    """Spend the link (once: a conditional update, so two clicks cannot both win) and start a session."""
    at = now()
    with session_scope() as db:
        spent = db.execute(update(WebToken).where(*_usable(token, at)).values(used_at=at)
                           .returning(WebToken.person_id, WebToken.next_path)).first()
        if spent is None:
            return None
        session_id = secrets.token_urlsafe(32)
        db.add(WebSession(session_hash=token_hash(session_id), person_id=spent.person_id, created_at=at))
        return NewSession(session_id, spent.next_path)


def viewer(session_id: object, db: Connection | None = None) -> Viewer | None:
    """The person this session belongs to, while it is live (not signed out, not too old).
    db: a read transaction the page also uses (one round of connection set-up, not two)."""
    if not isinstance(session_id, str) or not session_id:
        return None
    if db is None:
        with read_scope() as own:
            return viewer(session_id, own)
    row = db.execute(
        select(Person.id, Person.name, Person.email).join(WebSession, WebSession.person_id == Person.id)
        .where(WebSession.session_hash == token_hash(session_id), WebSession.ended_at.is_(None),
               WebSession.created_at > now() - timedelta(hours=SESSION_HOURS))).first()
    if row is None or row.email is None:  # an erased person's session ends with their address
        return None
    return Viewer(row.id, row.name, row.email)


def end_session(session_id: object) -> None:
    if isinstance(session_id, str) and session_id:
        with session_scope() as db:
            db.execute(update(WebSession).where(WebSession.session_hash == token_hash(session_id),
                                                WebSession.ended_at.is_(None)).values(ended_at=now()))
