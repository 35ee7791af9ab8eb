"""The convenor's console: the extra sections of a CoP's page for its convenor and planning group.

The same URL as a member's page (web/member.py): a member sees their own part; a decider sees that
and the CoP's standing, people, tasks and audit too. Read-only here; the forms that change things
are their own pages, linked from the console.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from web.charts import Chart, line_chart
from web.console_reads import Console, console
from web.reads import MyCommunity


def console_for(db: Connection, cop: MyCommunity | None, today: date) -> tuple[Console, Chart] | None:
    """The console for a current convenor or planning-group member (the deciders); None otherwise."""
    if cop is None or not (cop.is_convenor or cop.planning_group):
        return None
    found = console(db, cop.slug, today)
    return found, line_chart(found.attendance)
