"""The first-session invite: its words come from templates/calendar, and a missing domain leaves no gap."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from icalendar import Calendar

from tasks.email.calendar import first_session_invite


def _event(**over: object) -> dict[str, str]:
    community = SimpleNamespace(slug="aaot", name="Alcohol Outreach CoP", first_session=datetime(2027, 1, 14, 14),
                                session_minutes=90, location="Microsoft Teams",
                                domain="Assertive outreach for alcohol dependence")
    for key, value in over.items():
        setattr(community, key, value)
    invite = first_session_invite(community, "Dana Whitlow", "dana@example.nhs.uk")  # type: ignore[arg-type]
    assert invite is not None
    event = next(c for c in Calendar.from_ical(invite).walk() if c.name == "VEVENT")
    return {"summary": str(event["summary"]), "description": str(event["description"])}


def test_the_invite_names_the_session_and_says_attending_is_voluntary() -> None:
    event = _event()
    assert event["summary"] == "Alcohol Outreach CoP: first session"
    assert event["description"] == ("Assertive outreach for alcohol dependence\n\n"
                                    "Attending is voluntary: come when you can.")


def test_without_a_domain_the_description_is_just_the_welcome() -> None:
    assert _event(domain=None)["description"] == "Attending is voluntary: come when you can."
