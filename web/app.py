"""The web app: FastAPI, server-rendered pages, no state of its own (all of it in the database).

Sessions are Starlette's signed cookies (itsdangerous): HttpOnly, SameSite=Lax, Secure when
COPFLOW_WEB_URL is https. The cookie holds a random session id whose hash the database keeps,
so signing out ends it everywhere, and a CSRF token for the forms.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasks.rendering import TEMPLATES
from tasks.usecases import sign_in as auth
from tasks.web_links import web_secret, web_url
from web import cop_members, cop_tasks, create, decisions, links, member, portfolio, records, signin, sponsor
from web.pages import page

COOKIE = "copflow_session"
HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # a link's token never leaves in a Referer
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """The same protective headers on every response (a plain ASGI wrapper: cheap)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in HEADERS if k not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return (TEMPLATES / "web" / "app.css").read_text(encoding="utf-8")


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for router in (signin.router, portfolio.router, decisions.router, member.router, links.router, sponsor.router,
                   records.router, cop_tasks.router, cop_members.router, create.router):
        app.include_router(router)

    @app.get("/healthz")
    def healthz() -> Response:
        from sqlalchemy import text

        from tasks.storage.db import read_scope

        try:
            with read_scope() as db:
                db.execute(text("SELECT 1"))
        except Exception:  # the database is unreachable: say so, and nothing about why
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/static/app.css")
    def css() -> Response:
        return Response(stylesheet(), media_type="text/css",
                        headers={"cache-control": "public, max-age=3600"})

    @app.exception_handler(HTTPException)
    def http_problem(request: Request, exc: HTTPException) -> Response:
        signin.signed_in(request)
        key = "not-found" if exc.status_code in (404, 405) else "bad-request"
        return page(request, "error.html", exc.status_code, title_key=key)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        signin.signed_in(request)
        return page(request, "error.html", 400, title_key="bad-request")

    app.add_middleware(SessionMiddleware, secret_key=web_secret().decode(), session_cookie=COOKIE,
                       max_age=auth.SESSION_HOURS * 3600, same_site="lax",
                       https_only=web_url().startswith("https://"))
    app.add_middleware(SecurityHeaders)
    return app


def serving_app() -> FastAPI:
    """The app as `copflow web` serves it: Prefect and the decisions' flows loaded, and the
    Prefect API reached once, in the background at start-up, so the first decision does not
    wait for them (tests use create_app, and start nothing)."""
    from web import heap
    from web.deciding import _WARM, start_warming

    app = create_app()
    start_warming()
    heap.settle(loaded=_WARM)  # start-up objects out of the collector's way, Prefect's once warmed
    return app
