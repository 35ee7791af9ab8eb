"""Session invites: words from templates/calendar, the first session's agenda, a missing domain
leaves no gap, and a changed date updates the same calendar entry."""

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
    assert event["description"] == (AGENDA + "Assertive outreach for alcohol dependence\n\n"
                                    "Attending is voluntary: come when you can.")


AGENDA = ("Agenda:\n- Welcome, and what this community of practice is for\n"
          "- Who is here: practitioners, experts by experience and researchers\n"
          "- How we will work together: length, frequency and format of sessions\n"
          "- Choosing the first cases and topics to share\n\n")


def test_without_a_domain_the_description_is_the_agenda_and_the_welcome() -> None:
    assert _event(domain=None)["description"] == AGENDA + "Attending is voluntary: come when you can."


def test_a_moved_session_keeps_its_uid_and_goes_up_a_sequence() -> None:
    from tasks.email.calendar import Organiser, session_invite

    community = SimpleNamespace(slug="aaot", name="Alcohol Outreach CoP", session_minutes=60, location=None,
                                domain=None)
    versions = [Calendar.from_ical(session_invite(
        community, uid="session-x-aaot@copflow", starts_at=start, sequence=n, agenda=["Case review"],  # type: ignore[arg-type]
        organiser=Organiser("Dana Whitlow", "dana@example.nhs.uk"))) for n, start in
        enumerate([datetime(2027, 3, 11, 14), datetime(2027, 3, 18, 10)])]
    events = [next(c for c in cal.walk() if c.name == "VEVENT") for cal in versions]
    assert {str(e["uid"]) for e in events} == {"session-x-aaot@copflow"}
    assert [int(e["sequence"]) for e in events] == [0, 1]
    assert [e.decoded("dtstart").isoformat() for e in events] == ["2027-03-11T14:00:00+00:00",
                                                                 "2027-03-18T10:00:00+00:00"]
    assert str(events[1]["summary"]) == "Alcohol Outreach CoP: session"
    assert str(events[1]["description"]).startswith("Agenda:\n- Case review")
