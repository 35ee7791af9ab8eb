"""Every CoP can end, every role can change hands (issue 13 section 1): the use cases on a real
database, one transaction each."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import String, cast, func, or_, select

from models.db.tables import Attendance, AuditEntry, Community, Membership, OutboxMessage, Person, PlanningTask
from models.errors import BadInput, Refused
from tasks.charter_file import parse_charter
from tasks.storage.queries import current_term, get_community
from tasks.usecases.charter_update import update_community
from tasks.usecases.membership import leave, volunteer
from tasks.usecases.planning_tasks import add_task
from tasks.usecases.retention import erase_expired_contacts
from tasks.usecases.roles import change_email, hand_convenor
from tasks.usecases.sponsor_reports import queue_due_reports
from tasks.usecases.withdraw import withdraw
from tests.support.lifecycle import (
    CONVENOR,
    DAY0,
    MEMBER,
    SPONSOR,
    active,
    audit_actions,
    counts,
    create,
    hold_session,
    in_db,
    launched,
    outbox,
    stage,
)

SAM = "sam@example.nhs.uk"
ANA = "ana@example.ac.uk"


def lead(slug: str = "aaot") -> str | None:
    def read(db):  # type: ignore[no-untyped-def]
        term = current_term(db, get_community(db, slug))
        return term.membership.person.name if term else None
    return in_db(read)


def owners(slug: str = "aaot") -> dict[str, str]:
    return in_db(lambda db: {t.title: t.owner.person.name for t in db.scalars(
        select(PlanningTask).where(PlanningTask.status == "open"))})


# --- withdraw ---------------------------------------------------------------------------------

def test_a_draft_is_withdrawn_quietly_and_its_people_erased_after_retention(home: Path) -> None:
    create()
    done = in_db(withdraw, "aaot", actor=CONVENOR, reason="Not the right time", today=DAY0, flow_run_id=None)
    assert (done.stage_before, done.stage_after, done.queued) == ("proposed", "archived", [])
    assert stage("aaot") == "archived" and outbox() == []  # nobody was invited: nobody to tell
    with pytest.raises(Refused, match="archived and read-only"):
        in_db(withdraw, "aaot", actor=CONVENOR, reason="again", today=DAY0, flow_run_id=None)
    assert in_db(erase_expired_contacts, today=DAY0 + timedelta(days=89), retention_days=90) == {}
    assert in_db(erase_expired_contacts, today=DAY0 + timedelta(days=90), retention_days=90) == {"aaot": 5}
    assert in_db(lambda db: db.scalars(select(Person.email)).all()) == [None] * 5


def test_a_launched_cop_that_never_met_tells_the_invited_kindly_and_reports_stop(home: Path) -> None:
    create()
    launched()
    before = len(outbox())
    done = in_db(withdraw, "aaot", actor=CONVENOR, reason="Too few people free this year",
                 today=DAY0 + timedelta(days=5), flow_run_id="run-1")
    notes = outbox("withdrawn-notice")
    assert len(done.queued) == len(notes) == 4 and len(outbox()) == before + 4
    assert sorted(n.to_email for n in notes) == sorted([SAM, MEMBER, ANA, SPONSOR])  # not the convenor
    member_note = next(n for n in notes if n.to_email == MEMBER)
    sponsor_note = next(n for n in notes if n.to_email == SPONSOR)
    assert "Too few people free this year" in member_note.text_body
    assert "Too few people free this year" not in sponsor_note.text_body + sponsor_note.html_body
    assert "will not go ahead" in member_note.subject and "copflow " not in member_note.text_body
    assert lead() is None  # the first lead's term ended with it
    # No report of any period, ever: it never met.
    community = in_db(lambda db: get_community(db, "aaot"))
    assert community.archived_on == DAY0 + timedelta(days=5) and community.archive_uri is None
    assert in_db(lambda db: queue_due_reports(db, get_community(db, "aaot"), today=DAY0 + timedelta(days=400),
                                              flow_run_id=None)) == []
    assert audit_actions("aaot")[-2:] == ["stage.changed", "lead.term-ended"]


def test_withdrawing_calls_off_the_last_date_planned_in_members_calendars(home: Path) -> None:
    from datetime import datetime

    from tasks.usecases.planning_sessions import plan_session

    create()
    launched()
    # The planning group moved the first session twice: members' calendars hold its third version.
    for day in (20, 27):
        in_db(plan_session, "aaot", starts_at=datetime(2027, 1, day, 14), actor=SAM, today=DAY0)
    in_db(withdraw, "aaot", actor=CONVENOR, reason="Too few people free", today=DAY0 + timedelta(days=5),
          flow_run_id=None)
    notes = {n.to_email: n for n in outbox("withdrawn-notice")}
    lines = str(notes[MEMBER].calendar).splitlines()
    assert {"METHOD:CANCEL", "STATUS:CANCELLED", "UID:first-session-aaot@copflow", "SEQUENCE:3"} <= set(lines)
    assert any(line.startswith("DTSTART;TZID=Europe/London:20270127T140000") for line in lines)
    assert notes[SPONSOR].calendar is None


@pytest.mark.parametrize(("who", "error", "says"), [
    (SAM, Refused, "only the convenor of aaot may"),
    (SPONSOR, Refused, "sponsors receive reports and never decide"),
    ("nobody@example.com", BadInput, "nobody@example.com is not known to copflow"),  # bad input, exit 2
])
def test_only_the_convenor_withdraws(home: Path, who: str, error: type[Exception], says: str) -> None:
    create()
    launched()
    before = counts()
    with pytest.raises(error, match=says):
        in_db(withdraw, "aaot", actor=who, reason="r", today=DAY0, flow_run_id=None)
    assert counts() == before and stage("aaot") == "launching"


def test_a_cop_that_met_is_closed_not_withdrawn_and_a_reason_is_needed(home: Path) -> None:
    create()
    active()
    with pytest.raises(Refused, match="only a proposed or launching CoP can be withdrawn"):
        in_db(withdraw, "aaot", actor=CONVENOR, reason="r", today=DAY0, flow_run_id=None)
    with pytest.raises(BadInput, match="--reason"):
        in_db(withdraw, "aaot", actor=CONVENOR, reason=" ", today=DAY0, flow_run_id=None)
    assert stage("aaot") == "active"


# --- a draft's charter ------------------------------------------------------------------------

FIXED = """
name: Alcohol Outreach CoP
domain: Outreach for people with alcohol dependence
practice: Cases from outreach teams
cadence: fortnightly
convenor: {name: Dana Whitlow, email: dana@example.nhs.uk}
sponsors: [{name: Raj Patel, email: raj@example.nhs.uk, organisation: Example ICB}]
members:
  - {name: Sam Okafor, email: sam@example.nhs.uk, planning_group: true}
  - {name: Lee Hart, email: lee@example.org, kind: expert-by-experience}
  - {name: Kim Lowe, email: kim@example.org, kind: researcher}
"""


def test_a_draft_charter_is_replaced_whole_and_the_slug_stays(home: Path) -> None:
    create()
    in_db(add_task, "aaot", title="Find a room", due=None, notes=None, actor=CONVENOR, today=DAY0)
    day = DAY0 + timedelta(days=1)
    in_db(update_community, "aaot", parse_charter(FIXED), written_slug=None, actor=CONVENOR, today=day)
    cop = in_db(lambda db: get_community(db, "aaot"))
    assert (cop.slug, cop.name, cop.cadence, cop.practice) == (
        "aaot", "Alcohol Outreach CoP", "fortnightly", "Cases from outreach teams")
    people = in_db(lambda db: {m.person.name: m.left_on for m in db.scalars(select(Membership))})
    assert people == {"Dana Whitlow": None, "Sam Okafor": None, "Lee Hart": None, "Kim Lowe": None,
                      "Ana Costa": day}  # taken off the draft: recorded as gone, history kept
    # Priya is part of no CoP now: her address is erased at once (no retention would reach it).
    assert in_db(lambda db: db.scalar(select(Person.email).where(Person.name == "Priya Raman"))) is None
    assert not in_db(lambda db: db.scalars(select(AuditEntry.id).where(or_(
        cast(AuditEntry.before, String).contains(SPONSOR), cast(AuditEntry.after, String).contains(SPONSOR)))).all())
    assert owners() == {"Find a room": "Dana Whitlow"}
    assert audit_actions("aaot")[-1] == "community.updated"


@pytest.mark.parametrize(("setup", "actor", "written", "error", "says"), [
    ("launched", CONVENOR, None, Refused, "only while proposed"),
    ("created", SAM, None, Refused, "only the convenor of aaot may"),
    ("created", CONVENOR, "other", BadInput, "^slug: the charter says 'other'"),
])
def test_a_charter_update_refused_changes_nothing(home: Path, setup: str, actor: str, written: str | None,
                                                  error: type[Exception], says: str) -> None:
    create()
    if setup == "launched":
        launched()
    before = counts()
    with pytest.raises(error, match=says):
        in_db(update_community, "aaot", parse_charter(FIXED), written_slug=written, actor=actor, today=DAY0)
    assert counts() == before


def test_a_charter_update_that_fails_half_way_writes_nothing(home: Path) -> None:
    create()
    create(FIXED.replace("Alcohol Outreach CoP", "Other CoP").replace("Kim Lowe", "Kimberly Lowe"))
    before = counts()
    # Kim is recorded (in the other CoP) as Kimberly: the same check as create, on the field.
    with pytest.raises(BadInput, match=r"^members\[2\].name: kim@example.org is already recorded"):
        in_db(update_community, "aaot", parse_charter(FIXED), written_slug=None, actor=CONVENOR, today=DAY0)
    assert counts() == before
    assert in_db(lambda db: get_community(db, "aaot").name) == "Alcohol Assertive Outreach Community of Practice"


# --- the convenor role ------------------------------------------------------------------------

def test_the_convenor_hands_over_and_may_then_leave_so_the_enthusiasts_signal_can_fire(home: Path) -> None:
    from tasks.usecases.health import check_page

    create()
    active()
    day = DAY0 + timedelta(days=20)
    in_db(hand_convenor, "aaot", SAM, actor=CONVENOR, today=day)
    roles = in_db(lambda db: {m.person.name: (m.is_convenor, m.planning_group) for m in db.scalars(select(Membership))})
    assert roles["Sam Okafor"] == (True, True) and roles["Dana Whitlow"] == (False, True)
    in_db(leave, "aaot", CONVENOR, actor=CONVENOR, today=day)  # refused before the handover
    [checked] = in_db(check_page, ["aaot"], today=day, flow_run_id=None)
    assert "convenor-and-planning-group-left" in checked.natural_end
    actions = audit_actions("aaot")
    assert actions.index("convenor.handed-over") < actions.index("member.left")


def test_the_convenor_role_goes_only_to_the_planning_group_and_only_a_decider_passes_it(home: Path) -> None:
    create()
    active()
    before = counts()
    with pytest.raises(Refused, match="not on the planning group"):
        in_db(hand_convenor, "aaot", MEMBER, actor=CONVENOR, today=DAY0)
    with pytest.raises(Refused, match="may not act on aaot"):
        in_db(hand_convenor, "aaot", SAM, actor=MEMBER, today=DAY0)
    with pytest.raises(Refused, match="sponsors are never the convenor"):
        in_db(hand_convenor, "aaot", SPONSOR, actor=CONVENOR, today=DAY0)
    assert counts() == before
    in_db(hand_convenor, "aaot", SAM, actor=SAM, today=DAY0)  # a planning-group member may
    with pytest.raises(Refused, match="the convenor cannot leave"):
        in_db(leave, "aaot", SAM, actor=SAM, today=DAY0)


# --- a new address ----------------------------------------------------------------------------

def test_a_new_address_keeps_one_person_with_their_history(home: Path) -> None:
    create()
    active()
    from tasks.email.delivery import deliver_pending

    hold_session("aaot", DAY0 + timedelta(days=40), [MEMBER, SAM])
    assert deliver_pending().sent  # the invitations went out to the old address
    new = "lee.hart@example.org"
    in_db(change_email, "aaot", MEMBER, new, actor=MEMBER, today=DAY0 + timedelta(days=41))
    person = in_db(lambda db: db.scalars(select(Person).where(Person.name == "Lee Hart")).one())
    assert person.email == new
    came = in_db(lambda db: db.scalar(select(func.count()).select_from(Attendance)
                                      .join(Membership).where(Membership.person_id == person.id)))
    assert came == 2  # both sessions stay theirs
    # The old address is in no copy copflow keeps: erasure would look only for the new one.
    quoting_old = in_db(lambda db: db.scalars(select(AuditEntry.id).where(or_(
        AuditEntry.actor == MEMBER, cast(AuditEntry.before, String).contains(MEMBER),
        cast(AuditEntry.after, String).contains(MEMBER)))).all())
    mail_to_old = in_db(lambda db: db.scalars(select(OutboxMessage.id).where(or_(
        OutboxMessage.to_email == MEMBER, OutboxMessage.key.contains(MEMBER)))).all())
    assert quoting_old == [] and mail_to_old == []
    invite = outbox("member-invitation")
    assert f"invite:aaot:{new}" in [m.key for m in invite]  # a re-run does not invite them again
    assert f"[earlier address of person #{person.id}]" in [m.to_email for m in invite]  # sent, not to new
    entry = in_db(lambda db: db.scalars(select(AuditEntry).where(AuditEntry.action == "member.email-changed")).one())
    assert entry.actor == new and MEMBER not in str(entry.before) + str(entry.after)


def test_a_new_address_that_is_someone_elses_is_refused(home: Path) -> None:
    create()
    launched()
    before = counts()
    with pytest.raises(Refused, match="belongs to another person in aaot"):
        in_db(change_email, "aaot", MEMBER, SAM, actor=MEMBER, today=DAY0)
    with pytest.raises(Refused, match="belongs to another person in aaot"):
        in_db(change_email, "aaot", MEMBER, SPONSOR, actor=CONVENOR, today=DAY0)
    with pytest.raises(Refused, match="may not act on aaot"):
        in_db(change_email, "aaot", SAM, "s@example.org", actor=MEMBER, today=DAY0)
    assert counts() == before


def test_unsent_mail_follows_the_person_to_the_new_address(home: Path) -> None:
    create()
    launched()  # the invitations are queued, not yet delivered
    in_db(change_email, "aaot", ANA, "ana@example.org", actor=CONVENOR, today=DAY0)
    invite = next(m for m in outbox("member-invitation") if m.to_name == "Ana Costa")
    assert (invite.to_email, invite.key, invite.status) == ("ana@example.org", "invite:aaot:ana@example.org", "pending")


# --- the planning lead steps down -------------------------------------------------------------

def test_a_lead_who_leaves_is_followed_at_once_with_the_tasks_handed_over(home: Path) -> None:
    create()
    active()
    assert lead() == "Sam Okafor"
    day = DAY0 + timedelta(days=15)
    in_db(volunteer, "aaot", ANA, opt_out=False, actor=ANA, today=day)
    in_db(add_task, "aaot", title="Book a speaker", due=None, notes=None, actor=SAM, today=day)
    in_db(leave, "aaot", SAM, actor=SAM, today=day)
    assert lead() == "Ana Costa"  # no gap until the weekly rotation
    assert owners() == {"Book a speaker": "Ana Costa"}
    [pack] = outbox("handover-pack")  # the leaver is not written to
    assert pack.to_email == ANA and "Book a speaker" in pack.text_body and "Sam Okafor" in pack.text_body
    assert audit_actions("aaot")[-3:] == ["member.left", "lead.rotated", "tasks.handed-over"]


def test_opting_out_while_lead_ends_the_term_and_hands_over(home: Path) -> None:
    create()
    active()
    day = DAY0 + timedelta(days=15)
    in_db(volunteer, "aaot", MEMBER, opt_out=False, actor=MEMBER, today=day)
    in_db(add_task, "aaot", title="Draft the agenda", due=None, notes=None, actor=SAM, today=day)
    in_db(volunteer, "aaot", SAM, opt_out=True, actor=SAM, today=day)
    assert lead() == "Lee Hart" and owners() == {"Draft the agenda": "Lee Hart"}
    assert sorted(p.to_email for p in outbox("handover-pack")) == sorted([SAM, MEMBER])


def test_when_everyone_opts_out_the_convenor_is_drafted_told_and_given_names(home: Path) -> None:
    create()
    active()
    for on in (DAY0 + timedelta(days=30), DAY0 + timedelta(days=60)):
        hold_session("aaot", on, [MEMBER, SAM, CONVENOR])
    day = DAY0 + timedelta(days=61)
    in_db(volunteer, "aaot", SAM, opt_out=True, actor=SAM, today=day)
    assert lead() == "Dana Whitlow"
    [drafted] = outbox("convenor-drafted")
    assert drafted.to_email == CONVENOR
    assert [p.to_email for p in outbox("handover-pack")] == [SAM]  # the outgoing lead, thanked
    for body in (drafted.text_body, drafted.html_body):
        assert "as convenor, you are leading planning for now" in body
        assert body.index("Lee Hart, who came to 3 sessions") < body.index("Ana Costa, who came to 1 session")
        assert "Sam Okafor, who came" not in body  # opted out: not suggested


def test_a_lead_who_leaves_with_nobody_to_follow_leaves_the_tasks_with_the_convenor(home: Path) -> None:
    create()
    in_db(volunteer, "aaot", CONVENOR, opt_out=True, actor=CONVENOR, today=DAY0)
    active()
    in_db(add_task, "aaot", title="Book a speaker", due=None, notes=None, actor=SAM, today=DAY0)
    in_db(leave, "aaot", SAM, actor=SAM, today=DAY0 + timedelta(days=12))
    assert lead() is None
    assert owners() == {"Book a speaker": "Dana Whitlow"}
    assert [m.to_email for m in outbox("no-one-eligible")] == [CONVENOR]
    assert in_db(lambda db: db.scalar(select(Community.stage))) == "active"
