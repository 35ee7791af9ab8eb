"""Signed links for the web app: the secret that signs them, and members' action links in emails.

An action link is signed (itsdangerous), single-purpose (one action), bound to one person and
one CoP, and expires; the web app verifies it and records it as used, so it works once. The
secret is COPFLOW_WEB_SECRET; on the embedded defaults, when that is unset, one is made once
into COPFLOW_HOME/web-secret (0600), so the flows that write emails and the web app agree.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.errors import BadInput
from tasks.storage.paths import env, home, private_folder

SECRET_FILE = "web-secret"  # noqa: S105 - the name of the file, not a secret
DEFAULT_URL = "http://127.0.0.1:8000"
ACTIONS = ("volunteer", "opt-out", "stop-emails", "leave")
LINK_DAYS = 30  # an invitation's links outlast a quarter's first sessions, then expire
MIN_SECRET = 32
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def web_url() -> str:
    """Where people reach the web app (COPFLOW_WEB_URL), without a trailing slash."""
    return (env("WEB_URL") or DEFAULT_URL).rstrip("/")


@lru_cache(maxsize=4)
def _secret_for(value: str | None, folder: str) -> bytes:
    if value is not None:
        if len(value) < MIN_SECRET:
            raise BadInput(f"COPFLOW_WEB_SECRET: at least {MIN_SECRET} characters, please "
                           "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return value.encode()
    path = private_folder(Path(folder), "COPFLOW_HOME") / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    with os.fdopen(fd) as source:
        made = source.read().strip()
    if len(made) < MIN_SECRET:
        raise BadInput(f"{path}: too short to be a secret; delete it and a new one is made")
    return made.encode()


def web_secret() -> bytes:
    return _secret_for(env("WEB_SECRET"), str(home().resolve()))


def secret_source() -> str:
    """Where the secret comes from, for the start-up line (never the secret itself)."""
    return "COPFLOW_WEB_SECRET" if env("WEB_SECRET") is not None else str(home().resolve() / SECRET_FILE)


def keyed_hash(value: str, purpose: str) -> str:
    """A stable, keyed digest: addresses and client addresses are counted, never stored."""
    return hmac.new(web_secret(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _serializer() -> Any:
    return _serializer_for(web_secret())


@lru_cache(maxsize=4)
def _serializer_for(secret: bytes) -> Any:
    """One per secret: an email to each of a CoP's members signs several links each."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt="copflow-action-link")


@dataclass(frozen=True)
class ActionLink:
    person_id: int
    community_id: int
    action: str


def action_token(link: ActionLink) -> str:
    return str(_serializer().dumps({"p": link.person_id, "c": link.community_id, "a": link.action,
                                    "n": secrets.token_urlsafe(12)}))


def action_url(link: ActionLink) -> str:
    return f"{web_url()}/act/{action_token(link)}"


class LinkProblem(Exception):
    """Why a link is refused: expired, or not one copflow signed."""


def read_action_token(token: str) -> ActionLink:
    from itsdangerous import BadSignature, SignatureExpired

    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86_400)
    except SignatureExpired:
        raise LinkProblem("expired") from None
    except BadSignature:
        raise LinkProblem("not valid") from None
    try:
        link = ActionLink(int(data["p"]), int(data["c"]), str(data["a"]))
    except (KeyError, TypeError, ValueError):
        raise LinkProblem("not valid") from None
    if link.action not in ACTIONS:
        raise LinkProblem("not valid")
    return link
