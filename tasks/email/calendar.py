"""iCalendar invites for a CoP's sessions (RFC 5545, via the icalendar package).

Each planned session is one calendar entry: a stable UID, and a SEQUENCE that goes up with each
change of date, so a member's calendar moves the entry it already has instead of adding another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from models.db.tables import Community
from tasks.agenda import first_session_agenda
from tasks.rendering import render

LOCAL_TIME = ZoneInfo("Europe/London")  # charters give local times without a zone


def first_session_uid(slug: str) -> str:
    return f"first-session-{slug}@copflow"


@dataclass(frozen=True)
class Organiser:
    name: str | None
    email: str | None


def first_session_invite(community: Community, convenor_name: str | None, convenor_email: str | None) -> str | None:
    if community.first_session is None:
        return None
    return session_invite(community, uid=first_session_uid(community.slug), starts_at=community.first_session,
                          sequence=0, agenda=first_session_agenda(),
                          organiser=Organiser(convenor_name, convenor_email), first=True)



def session_invite(community: Community, *, uid: str, starts_at: datetime, sequence: int,
                   agenda: Sequence[str], organiser: Organiser, first: bool = False,
                   cancelled: bool = False) -> str:
    """The .ics of one session; the same uid with a higher sequence updates the entry, or
    (cancelled) takes it out of the calendar."""
    start = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=LOCAL_TIME)
    cal = Calendar()
    cal.add("prodid", "-//copflow//sessions//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    if cancelled:
        event.add("status", "CANCELLED")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=community.session_minutes))
    words = {"community": community, "agenda": list(agenda)}
    kind = "first-session" if first else "session"
    event.add("summary", " ".join(render(f"calendar/{kind}.summary.txt", **words).split()))
    if community.location:
        event.add("location", community.location)
    event.add("description", render(f"calendar/{kind}.description.txt", **words).strip())
    if organiser.email:
        address = vCalAddress(f"mailto:{organiser.email}")
        if organiser.name:
            address.params["cn"] = vText(organiser.name)
        event["organizer"] = address
    cal.add_component(event)
    # Only the rules around the session, not decades of daylight-saving dates.
    cal.add_missing_timezones(first_date=start.date().replace(month=1, day=1),
                              last_date=start.date().replace(year=start.year + 1, month=1, day=1))
    ical: bytes = cal.to_ical()
    return ical.decode()
