"""Rendering pages from templates/web/, and the CSRF token every form carries."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from tasks.rendering import render

CSRF = "csrf"  # the key in the signed session cookie


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def csrf_ok(request: Request, sent: str | None) -> bool:
    token = request.session.get(CSRF)
    return isinstance(token, str) and isinstance(sent, str) and len(token) >= 32 \
        and hmac.compare_digest(token.encode(), sent.encode())


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    html = render(f"web/{template}", csrf_token=csrf_token(request), viewer=viewer, **context)
    return HTMLResponse(html, status_code=status)


def safe_next(value: str | None) -> str | None:
    """A path on this site to go to after signing in; anything else (another site, a scheme,
    //host, a backslash some browsers read as a slash, control characters) is dropped."""
    if not value or len(value) > 300 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
