"""The first session's agenda when the planning group has set none: what the seed's first
session covered (templates/calendar/first-session.agenda.txt, one item a line)."""

from __future__ import annotations

from tasks.rendering import render


def first_session_agenda() -> list[str]:
    return [line.strip() for line in render("calendar/first-session.agenda.txt").splitlines() if line.strip()]
