"""The first session's agenda when the planning group has set none: what the seed's first
session covered (templates/calendar/first-session.agenda.txt, one item a line). Read as plain
text, not through Jinja, so `community show` stays a light read."""

from __future__ import annotations

from pathlib import Path

AGENDA_FILE = Path(__file__).resolve().parents[1] / "templates" / "calendar" / "first-session.agenda.txt"


def first_session_agenda() -> list[str]:
    return [line.strip() for line in AGENDA_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
