"""Rotation through the real use cases and database: fairness, handover, nobody eligible."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from models.db.tables import PlanningTask
from tasks.storage.queries import current_term, get_community
from tasks.usecases.membership import leave, volunteer
from tasks.usecases.planning_tasks import add_task
from tasks.usecases.rotate import rotate
from tests.support.lifecycle import (
    CONVENOR,
    DAY0,
    audit_actions,
    create,
    hold_session,
    in_db,
    launched,
    outbox,
)

TEAM = """
name: Falls Prevention CoP
slug: falls
domain: Preventing falls in older people at home
practice: Cases from community teams
cadence: weekly
rotate_every_sessions: 2
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors: [{name: Priya Raman, email: priya@example.nhs.uk}]
members:
  - {name: Ada One, email: ada@example.org, kind: practitioner, planning_group: true}
  - {name: Bo Two, email: bo@example.org, kind: practitioner, planning_group: true}
  - {name: Cy Three, email: cy@example.org, kind: researcher, planning_group: true}
  - {name: Di Four, email: di@example.org, kind: expert-by-experience, planning_group: true}
  - {name: Ed Five, email: ed@example.org, kind: practitioner, planning_group: true}
  - {name: Fi Six, email: fi@example.org, kind: practitioner}
"""
ALL = ["dana@example.nhs.uk", "ada@example.org", "bo@example.org", "cy@example.org",
       "di@example.org", "ed@example.org", "fi@example.org"]


def lead(slug: str) -> str | None:
    def read(db):  # type: ignore[no-untyped-def]
        term = current_term(db, get_community(db, slug))
        return term.membership.person.name if term else None
    return in_db(read)


def test_rota_is_fair_over_a_long_run(home: Path) -> None:
    slug = create(TEAM)
    in_db(volunteer, slug, "ed@example.org", opt_out=True, actor="ed@example.org", today=DAY0)
    launched(slug)
    leads = [lead(slug)]
    day = DAY0
    for round_no in range(1, 25):
        if round_no == 7:  # Fi offers to lead: she goes next, and joins the planning group
            in_db(volunteer, slug, "fi@example.org", opt_out=False, actor="fi@example.org", today=day)
        for _ in range(2):
            day += timedelta(days=7)
            hold_session(slug, day, ALL)
        in_db(rotate, slug, actor=None, today=day, flow_run_id=None, scheduled=True)
        leads.append(lead(slug))
        if round_no == 7:
            assert leads[-1] == "Fi Six"

    assert all(a != b for a, b in pairwise(leads)), leads  # never twice in a row
    assert "Ed Five" not in leads  # opted out: never chosen
    assert "Dana Whitlow" not in leads  # the convenor leads only when nobody else can
    served = Counter(leads)
    assert max(served.values()) - min(served.values()) <= 1, served  # shared evenly
    assert audit_actions(slug).count("lead.rotated") == 24


def test_open_tasks_are_handed_over_with_dates_and_notes(home: Path) -> None:
    slug = create(TEAM)
    launched(slug)
    outgoing = lead(slug)
    day = DAY0 + timedelta(days=7)
    in_db(add_task, slug, title="Book the room", due=day + timedelta(days=20), notes="Ask for the big one",
          actor=CONVENOR, today=day)
    in_db(add_task, slug, title="Find a case", due=None, notes=None, actor=CONVENOR, today=day)
    done = in_db(add_task, slug, title="Send slides", due=None, notes=None, actor=CONVENOR, today=day).id
    from tasks.usecases.planning_tasks import complete_task
    in_db(complete_task, slug, done, actor=CONVENOR, today=day)
    hold_session(slug, day, ALL)

    in_db(rotate, slug, actor=CONVENOR, today=day, flow_run_id="run-1")
    incoming = lead(slug)
    assert incoming != outgoing
    owners = in_db(lambda db: {t.title: (t.owner.person.name, t.status)
                               for t in db.scalars(select(PlanningTask))})
    assert owners == {"Book the room": (incoming, "open"), "Find a case": (incoming, "open"),
                      "Send slides": (outgoing, "done")}
    packs = outbox("handover-pack")
    assert {p.to_name for p in packs} == {incoming, outgoing}
    for p in packs:
        assert "Book the room" in p.text_body and "Ask for the big one" in p.text_body
        assert f"{(day + timedelta(days=20)):%-d %B %Y}" in p.text_body
        assert "Find a case" in p.text_body and "Send slides" not in p.text_body

    # The same request again (a retry) changes nothing and sends nothing more.
    before = (len(outbox()), audit_actions(slug))
    in_db(rotate, slug, actor=CONVENOR, today=day, flow_run_id="run-1")
    assert (len(outbox()), audit_actions(slug)) == before
    assert lead(slug) == incoming


def test_tasks_of_someone_who_left_go_to_the_incoming_lead(home: Path) -> None:
    slug = create(TEAM)
    launched(slug)
    first = lead(slug)
    day = DAY0 + timedelta(days=7)
    in_db(add_task, slug, title="Write up the case", due=None, notes=None, actor=CONVENOR, today=day)
    hold_session(slug, day, ALL)
    leaver = next(e for e in ALL if e.split("@")[0] == first.split()[0].lower())
    in_db(leave, slug, leaver, actor=leaver, today=day)
    in_db(rotate, slug, actor=None, today=day, flow_run_id=None, scheduled=True)
    owner = in_db(lambda db: db.scalars(select(PlanningTask)).one().owner.person.name)
    assert owner == lead(slug) != first
    assert [p.to_name for p in outbox("handover-pack")] == [owner]  # the leaver is not written to


SMALL = """
name: Tiny CoP
slug: tiny
domain: d
practice: p
cadence: monthly
rotate_every_sessions: 1
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors: [{name: Priya Raman, email: priya@example.nhs.uk}]
members:
  - {name: Sam Okafor, email: sam@example.nhs.uk, kind: practitioner, planning_group: true}
  - {name: Lee Hart, email: lee@example.org, kind: expert-by-experience}
  - {name: Ana Costa, email: ana@example.ac.uk, kind: researcher}
"""


def test_when_nobody_else_is_eligible_nobody_is_picked_and_people_are_told(home: Path) -> None:
    slug = create(SMALL)
    in_db(volunteer, slug, "dana@example.nhs.uk", opt_out=True, actor="dana@example.nhs.uk", today=DAY0)
    launched(slug)
    assert lead(slug) == "Sam Okafor"
    day = DAY0 + timedelta(days=30)
    hold_session(slug, day, ["sam@example.nhs.uk", "lee@example.org"])
    for _ in range(2):  # the daily schedule, twice: told once
        in_db(rotate, slug, actor=None, today=day, flow_run_id=None, scheduled=True)
    assert lead(slug) == "Sam Okafor"  # nothing changed
    told = outbox("no-one-eligible")
    assert sorted(m.to_email for m in told) == ["dana@example.nhs.uk", "sam@example.nhs.uk"]
    # The lead who stays is spoken to, not about; everyone else is told who stays.
    words = {m.to_email: " ".join(m.text_body.split()) for m in told}
    assert "you stay planning lead for now" in words["sam@example.nhs.uk"]
    assert "Sam Okafor stays" not in words["sam@example.nhs.uk"]
    assert "Sam Okafor stays planning lead for now" in words["dana@example.nhs.uk"]
    assert audit_actions(slug).count("rotation.no-one-eligible") == 1
    assert "lead.rotated" not in audit_actions(slug)


def test_handover_email_reaches_the_outbox_folder_as_a_real_message(home: Path) -> None:
    from tasks.email.delivery import deliver_pending

    slug = create(SMALL)
    launched(slug)
    in_db(volunteer, slug, "lee@example.org", opt_out=False, actor="lee@example.org", today=DAY0)
    hold_session(slug, DAY0 + timedelta(days=3), ["lee@example.org"])
    in_db(rotate, slug, actor=CONVENOR, today=DAY0 + timedelta(days=3), flow_run_id=None)
    assert lead(slug) == "Lee Hart"
    report = deliver_pending([m.id for m in outbox("handover-pack")])
    assert len(report.sent) == 2
    files = sorted((home / "outbox").glob("handover*.eml"))
    msg = message_from_bytes(files[0].read_bytes())
    assert "Lee Hart is now planning lead" in msg["Subject"]
