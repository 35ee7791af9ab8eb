"""A CoP with two open planning-lead terms (an older copflow's bug, a hand edit): the lead is the
one whose term began last (models.rota.lead_term), everywhere the lead is read; nothing raises."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from models.db.tables import Community, Membership, Person, RoleTerm
from tests.support.lifecycle import CONVENOR, DAY0, MEMBER, active, create, in_db

LATER = DAY0 + timedelta(days=12)


def _second_open_term(db: Any) -> None:
    community = db.query(Community).filter_by(slug="aaot").one()
    lee = db.query(Membership).join(Person).filter(Person.email == MEMBER).one()
    db.add(RoleTerm(community_id=community.id, membership_id=lee.id, started_on=LATER, sessions_at_start=1))


def _two_open() -> None:
    create()
    active()
    in_db(_second_open_term)
    assert in_db(lambda db: db.query(RoleTerm).filter(RoleTerm.ended_on.is_(None)).count()) == 2


def test_every_read_of_the_lead_names_the_term_begun_last(home: Path) -> None:
    from tasks.storage.db import read_scope
    from tasks.storage.queries import current_term, get_community
    from tasks.storage.views import show_community
    from tasks.usecases.replies import replies_of
    from web.cop_reads import people_of

    _two_open()
    term = in_db(lambda db: current_term(db, get_community(db, "aaot")))
    with read_scope() as db:
        shown = show_community(db, "aaot")["planning_lead"]
    replies = in_db(lambda db: replies_of(db, get_community(db, "aaot")))
    leads = [p.name for p in people_of("aaot").members if p.leads]
    assert (term.membership.person.email, shown["name"], replies.lead and replies.lead.email, leads) == \
        (MEMBER, "Lee Hart", MEMBER, ["Lee Hart"])


def test_reports_and_rotation_go_on_with_the_latest_lead(home: Path) -> None:
    from tasks.storage.queries import get_community
    from tasks.usecases.rotate import rotate
    from tasks.usecases.sponsor_reports import queue_due_reports

    _two_open()
    in_db(lambda db: queue_due_reports(db, get_community(db, "aaot"), today=DAY0 + timedelta(days=40),
                                       flow_run_id=None))
    outcome = in_db(rotate, "aaot", actor=CONVENOR, today=LATER + timedelta(days=1), flow_run_id=None)
    assert outcome.planning_lead is not None and outcome.planning_lead != "Lee Hart"


def test_the_command_line_shows_one_lead_and_no_traceback(home: Path, cli: Any) -> None:
    _two_open()
    shown = cli("community", "show", "aaot", "--json")
    assert (shown.returncode, shown.stderr) == (0, "")
    assert json.loads(shown.stdout)["planning_lead"]["name"] == "Lee Hart"
