"""The iCalendar invite for a CoP's first session (RFC 5545, via the icalendar package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from models.db.tables import Community
from tasks.rendering import render

LOCAL_TIME = ZoneInfo("Europe/London")  # charters give local times without a zone


def first_session_invite(community: Community, convenor_name: str | None, convenor_email: str | None) -> str | None:
    if community.first_session is None:
        return None
    start = community.first_session.replace(tzinfo=LOCAL_TIME)
    cal = Calendar()
    cal.add("prodid", "-//copflow//first session//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    # A stable UID, so a resent invite updates the same calendar entry.
    event.add("uid", f"first-session-{community.slug}@copflow")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=community.session_minutes))
    event.add("summary", " ".join(render("calendar/first-session.summary.txt", community=community).split()))
    if community.location:
        event.add("location", community.location)
    event.add("description", render("calendar/first-session.description.txt", community=community).strip())
    if convenor_email:
        organiser = vCalAddress(f"mailto:{convenor_email}")
        if convenor_name:
            organiser.params["cn"] = vText(convenor_name)
        event["organizer"] = organiser
    cal.add_component(event)
    # Only the rules around the session, not decades of daylight-saving dates.
    cal.add_missing_timezones(first_date=start.date().replace(month=1, day=1),
                              last_date=start.date().replace(year=start.year + 1, month=1, day=1))
    ical: bytes = cal.to_ical()
    return ical.decode()
