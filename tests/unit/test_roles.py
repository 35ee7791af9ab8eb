"""Roles changing hands (issue 13 section 1) as pure rules: withdraw, a draft's charter, the
convenor role, a new address, a lead stepping down, the drafted convenor. No database."""

from __future__ import annotations

from datetime import date

import pytest

from models.errors import BadInput, Refused
from models.lifecycle import Role, Stage, require_transition
from models.roles import kept_slug, require_convenor, require_draft, require_new_address, require_new_convenor
from models.rota import Candidate, convenor_drafted, next_lead, suggest_leads
from models.stages import (
    REPORTING_STAGES,
    erasure_due,
    hands_over_on_step_down,
    require_withdraw,
    was_withdrawn,
    withdraw_reason,
)


@pytest.mark.parametrize("stage", [Stage.proposed, Stage.launching])
def test_a_cop_that_never_met_is_withdrawn_to_archived(stage: Stage) -> None:
    assert require_withdraw(stage, "x") is Stage.archived
    assert require_transition(stage, Stage.archived, "x") == "withdraw"


@pytest.mark.parametrize("stage", [Stage.active, Stage.closing])
def test_a_cop_that_met_closes_instead_of_withdrawing(stage: Stage) -> None:
    with pytest.raises(Refused, match="only a proposed or launching CoP can be withdrawn"):
        require_withdraw(stage, "x")


def test_withdraw_needs_a_reason() -> None:
    with pytest.raises(BadInput, match="--reason"):
        withdraw_reason("  ")
    assert withdraw_reason("  not this year ") == "not this year"


def test_a_withdrawn_cop_gets_no_reports_and_its_details_can_be_erased_in_time() -> None:
    assert Stage.archived not in REPORTING_STAGES
    assert was_withdrawn(Stage.archived, closing_since=None)
    assert not was_withdrawn(Stage.archived, closing_since=date(2027, 1, 1))
    assert not was_withdrawn(Stage.launching, closing_since=None)
    withdrawn_on = date(2027, 1, 10)
    assert not erasure_due(Stage.archived, withdrawn_on, date(2027, 4, 9), 90)
    assert erasure_due(Stage.archived, withdrawn_on, date(2027, 4, 10), 90)


@pytest.mark.parametrize("role", [Role.planning_group, Role.member, Role.sponsor, Role.stranger])
def test_only_the_convenor_withdraws_or_rewrites_a_draft(role: Role) -> None:
    with pytest.raises(Refused, match="only the convenor of x may"):
        require_convenor(role, "a@example.org", "x", "withdraw x")
    assert require_convenor(Role.convenor, "a@example.org", "x", "withdraw x") is Role.convenor


@pytest.mark.parametrize("stage", [Stage.launching, Stage.active, Stage.closing, Stage.archived])
def test_a_charter_is_replaced_only_while_proposed(stage: Stage) -> None:
    with pytest.raises(Refused, match="only while proposed"):
        require_draft(stage, "x")
    assert require_draft(Stage.proposed, "x") is Stage.proposed


def test_the_slug_stays() -> None:
    assert kept_slug("aaot", None) == "aaot"  # none written: a new name is not a rename
    assert kept_slug("aaot", "aaot") == "aaot"
    with pytest.raises(BadInput, match="^slug: the charter says 'other'; aaot keeps its slug"):
        kept_slug("aaot", "other")


def new_convenor(**kw: bool) -> str:
    facts = {"current": True, "planning_group": True, "is_convenor": False, "is_sponsor": False} | kw
    return require_new_convenor(email="sam@example.org", slug="x", **facts)


def test_the_convenor_role_goes_to_a_current_planning_group_member() -> None:
    assert new_convenor() == "sam@example.org"
    with pytest.raises(Refused, match="not on the planning group"):
        new_convenor(planning_group=False)
    with pytest.raises(BadInput, match="not a current member"):
        new_convenor(current=False)
    with pytest.raises(BadInput, match="already the convenor"):
        new_convenor(is_convenor=True)
    with pytest.raises(Refused, match="sponsors are never the convenor"):
        new_convenor(is_sponsor=True)


def test_a_new_address_is_nobody_elses() -> None:
    assert require_new_address("a@x.org", "b@x.org", "x", owner_of_new_here=False,
                               owner_of_new_elsewhere=False) == "b@x.org"
    with pytest.raises(BadInput, match="already recorded"):
        require_new_address("a@x.org", "a@x.org", "x", owner_of_new_here=False, owner_of_new_elsewhere=False)
    with pytest.raises(Refused, match="belongs to another person in x"):
        require_new_address("a@x.org", "b@x.org", "x", owner_of_new_here=True, owner_of_new_elsewhere=True)
    with pytest.raises(Refused, match="another person in copflow"):
        require_new_address("a@x.org", "b@x.org", "x", owner_of_new_here=False, owner_of_new_elsewhere=True)


@pytest.mark.parametrize(("stage", "follows"), [
    (Stage.proposed, False), (Stage.launching, True), (Stage.active, True), (Stage.closing, True),
    (Stage.archived, False)])
def test_a_lead_who_steps_down_is_followed_at_once_while_the_cop_meets(stage: Stage, follows: bool) -> None:
    assert hands_over_on_step_down(stage) is follows


def person(mid: int, name: str, *, pg: bool = False, out: bool = False, convenor: bool = False,
           sponsor: bool = False) -> Candidate:
    return Candidate(mid, name, planning_group=pg or convenor, volunteered=False, opted_out=out,
                     is_convenor=convenor, is_sponsor=sponsor)


def test_when_everyone_opts_out_the_convenor_is_drafted() -> None:
    team = [person(1, "Dana", convenor=True), person(2, "Sam", pg=True, out=True), person(3, "Lee")]
    pick = next_lead(team, outgoing_id=2)
    assert pick is not None and pick.name == "Dana" and convenor_drafted(pick)
    volunteer = [*team, person(4, "Ana", pg=True)]
    assert not convenor_drafted(next_lead(volunteer, outgoing_id=2))
    assert not convenor_drafted(None)


def test_the_drafted_convenor_is_told_of_the_most_active_members_who_might_lead() -> None:
    team = [person(1, "Dana", convenor=True), person(2, "Sam", pg=True, out=True), person(3, "Lee"),
            person(4, "Ana"), person(5, "Bo"), person(6, "Cy"), person(7, "Priya", sponsor=True),
            person(8, "Ed", pg=True)]
    attended = {1: 9, 2: 9, 3: 4, 4: 6, 5: 4, 6: 1, 7: 9, 8: 8}
    names = [c.name for c in suggest_leads(team, attended, outgoing_id=8)]
    # most sessions first, ties by name; never the convenor, a sponsor, the opted-out or the outgoing
    assert names == ["Ana", "Bo", "Lee"]
    assert suggest_leads(team, {}, outgoing_id=None) == []  # nobody has come yet: nobody named
