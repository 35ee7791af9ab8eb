"""`copflow web`: the web app, where people sign in as themselves (web/)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.common import say


def web(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: loopback only).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Processes serving requests (they share nothing but the database).")]
    = 1,
) -> None:
    """Serve the web app until interrupted (Ctrl-C). People reach it at COPFLOW_WEB_URL."""
    import uvicorn

    from tasks.rendering import render
    from tasks.storage.db import require_schema
    from tasks.storage.operator import online
    from tasks.storage.paths import env
    from tasks.storage.settings import get_settings
    from tasks.web_links import secret_source, web_secret, web_url

    if env("WEB_URL") is None:  # links then lead here (this process, and the workers it starts)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host  # noqa: S104
        os.environ["COPFLOW_WEB_URL"] = f"http://{shown}:{port}"
    online()
    settings = get_settings()  # a wrong setting is said before anything starts
    require_schema()
    web_secret()  # made now (embedded defaults) or checked, so the first page does not fail
    say(render("cli/web.txt", url=web_url(), host=host, port=port, secret=secret_source(),
               outbox=settings.outbox_dir.resolve() if settings.email_transport == "file" else None).rstrip())
    # No access log: sign-in and action links carry their token in the path.
    uvicorn.run("web.app:serving_app", factory=True, workers=workers, host=host, port=port,
                access_log=False, log_level="warning",
                proxy_headers=True, forwarded_allow_ips=env("WEB_TRUSTED_PROXIES") or "127.0.0.1",
                server_header=False)


def register(app: typer.Typer) -> None:
    app.command("web")(web)
