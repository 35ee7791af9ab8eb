"""`copflow gallery DEST`: one of every kind of email copflow sends, to look at rather than read.

Plays the demo's year (examples/demo-scenario.yaml) and a short epilogue on its successor and
one more CoP (examples/gallery-epilogue.yaml: the kinds the year never reaches, a web sign-in
link among them, asked for as the web app asks, with no web server) in COPFLOW_HOME/gallery,
its own folder, cleared at the start of each run. Then, for each kind of email, the one chosen
in SHOWN (else the first written): DEST/<kind>.html as the HTML part, DEST/<kind>.txt as the
headers a reader sees and the plain-text part, and DEST/<kind>.png, the HTML as Chromium
shows it (Debian's chromium, driven by Playwright; skipped, with a note, when either is
absent). DEST/README.md is the index. Every word it writes itself is in templates/gallery/.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Annotated

import typer

from models.errors import BadInput

# The command line imports this module: yaml, pydantic, rich and Prefect load only when it runs.
EPILOGUE = Path(__file__).resolve().parent.parent / "examples" / "gallery-epilogue.yaml"
# The email shown for a kind that was written more than once: the first whose key matches.
SHOWN = {
    "member-invitation": re.compile(r"invite:peer-support:kofi@"),  # grew out of another CoP
    "handover-pack": re.compile(r"handover:aaot:\d+:joy@"),  # chosen by the rota, may decline
    "sponsor-report": re.compile(r"report:aaot:2026-07-01:priya@"),  # a fall in attendance
    "closing-notice": re.compile(r"closing:aaot:.*:tom@"),  # invited to the successor
    "close-proposal": re.compile(r"close-proposal:aaot:.*:joy@"),
    "final-sponsor-report": re.compile(r"final-report:aaot:priya@"),
    "session-invitation": re.compile(r"session-invite:peer-support:.*:kofi@"),  # a member's, not a runner's
    "no-one-eligible": re.compile(r"no-one-eligible:peer-support:.*:niamh@"),  # names who stays lead
    "continuing-notice": re.compile(r"continuing:peer-support:.*:kofi@"),  # a member's, with a reply
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH = 680  # about what a mail client's reading pane gives a message


@dataclass(frozen=True)
class Shown:
    kind: str
    key: str
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message[name] or "").strip()

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        return str(body.get_content()) if body is not None else ""


def gallery_home() -> Path:
    """COPFLOW_HOME/gallery (default ./copflow-data/gallery): the gallery's own folder."""
    return (Path(os.environ.get("COPFLOW_HOME") or "./copflow-data") / "gallery").resolve()


def chromium() -> str | None:
    """Debian's chromium (COPFLOW_CHROMIUM names another), or None when it is not installed."""
    named = os.environ.get("COPFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return named if Path(named).is_file() else None


def play_all() -> Path:
    """The demo's year and the epilogue, quietly, in the gallery's folder; returns the outbox."""
    from rich.console import Console

    from demo.play import clear, play, use_embedded_defaults
    from demo.scenario import load_scenario
    from tasks.storage.settings import get_settings

    year = load_scenario()
    epilogue = load_scenario(EPILOGUE, continues=year)  # a broken file stops here, before clearing
    home = gallery_home()
    clear(home)
    use_embedded_defaults(home)
    play(Console(file=io.StringIO()), [*year.steps, *epilogue.steps])
    return get_settings().outbox_dir.resolve()


def choose(outbox: Path) -> list[Shown]:
    """One email of each kind, in the order the kinds were first written."""
    from sqlalchemy import select

    from models.db.tables import OutboxMessage
    from tasks.storage.db import session_scope

    with session_scope() as db:
        rows = list(db.execute(select(OutboxMessage.key, OutboxMessage.template).order_by(OutboxMessage.id)))
    messages = {}
    for path in outbox.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        messages[str(message["X-Copflow-Key"]).strip()] = message
    chosen: dict[str, str] = {}
    for key, kind in rows:
        pattern = SHOWN.get(kind)
        if key in messages and (kind not in chosen or (pattern and pattern.match(key)
                                                       and not pattern.match(chosen[kind]))):
            chosen[kind] = key
    return [Shown(kind, key, messages[key]) for kind, key in chosen.items()]


def write_parts(dest: Path, shown: list[Shown]) -> None:
    from tasks.rendering import render

    for s in shown:
        (dest / f"{s.kind}.html").write_text(s.part("html"), encoding="utf-8")
        text = render("gallery/message.txt", headers=[(h, s.header(h)) for h in
                                                      ("From", "To", "Reply-To", "Subject")],
                      body=s.part("plain"))
        (dest / f"{s.kind}.txt").write_text(text, encoding="utf-8")


def screenshots(dest: Path, shown: list[Shown], browser_path: str) -> None:
    """Each HTML part as Chromium shows it at a reading pane's width, the whole message."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": 600},
                                          java_script_enabled=False)
            page = context.new_page()
            for s in shown:
                page.set_content(s.part("html"), wait_until="load")
                page.screenshot(path=str(dest / f"{s.kind}.png"), full_page=True)
        finally:
            browser.close()


def why_no_pictures() -> tuple[str | None, str | None]:
    """(the browser to use, or why there are no pictures)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return None, "playwright"
    path = chromium()
    return (path, None) if path else (None, "chromium")


def gallery(
    dest: Annotated[Path, typer.Argument(help="Folder to write into (e.g. docs/emails); made if absent.")],
) -> None:
    """One of every kind of email copflow sends, from the demo: HTML, text and a picture of each.

    Plays the demo's year and a short epilogue in COPFLOW_HOME/gallery, then writes
    DEST/<kind>.html, DEST/<kind>.txt and DEST/<kind>.png (taken by Chromium), and an index,
    DEST/README.md.
    """
    from tasks.rendering import render

    if dest.exists() and not dest.is_dir():
        raise BadInput(f"{dest} is not a folder")
    outbox = play_all()
    shown = choose(outbox)
    dest.mkdir(parents=True, exist_ok=True)
    write_parts(dest, shown)
    browser, missing = why_no_pictures()
    if browser:
        screenshots(dest, shown, browser)
    for stale in dest.glob("*.png") if not browser else ():
        stale.unlink()  # a picture from an earlier run would no longer match its email
    (dest / "README.md").write_text(render("gallery/index.md", shown=shown, pictures=bool(browser)),
                                    encoding="utf-8")
    typer.echo(render("gallery/done.txt", dest=dest, kinds=len(shown), outbox=outbox,
                      emails=len(list(outbox.glob("*.eml"))), missing=missing).rstrip())
