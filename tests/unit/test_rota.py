"""The planning-lead rota: no single person bears the burden (DESIGN section 1). Pure."""

from __future__ import annotations

from datetime import date

import pytest

from models.rota import Candidate, eligible, next_lead, rota_order, rotation_due


def person(mid: int, *, pg: bool = True, vol: bool = False, out: bool = False, convenor: bool = False,
           sponsor: bool = False, served: int = 0, last: date | None = None,
           joined: date = date(2027, 1, 1)) -> Candidate:
    return Candidate(mid, f"P{mid}", planning_group=pg, volunteered=vol, opted_out=out,
                     is_convenor=convenor, is_sponsor=sponsor, terms_served=served,
                     last_served_until=last, joined_on=joined)


def ids(cs: list[Candidate]) -> list[int]:
    return [c.membership_id for c in cs]


def test_eligible_means_planning_group_or_volunteer_not_opted_out_never_sponsor() -> None:
    pool = [
        person(1),                          # planning group
        person(2, pg=False, vol=True),      # volunteer
        person(3, pg=False),                # ordinary member
        person(4, out=True),                # planning group but opted out
        person(5, pg=False, vol=True, out=True),
        person(6, sponsor=True),            # cannot happen via a charter, but never a lead
        person(7, pg=False, vol=True, sponsor=True),
    ]
    assert ids(eligible(pool)) == [1, 2]


def test_volunteers_come_first_even_over_someone_who_never_served() -> None:
    fresh = person(1)
    volunteer = person(2, pg=False, vol=True, served=2, last=date(2027, 5, 1))
    assert next_lead([fresh, volunteer], outgoing_id=None) == volunteer


def test_among_volunteers_the_least_served_leads() -> None:
    a = person(1, vol=True, served=2, last=date(2027, 1, 1))
    b = person(2, vol=True, served=1, last=date(2027, 6, 1))
    assert next_lead([a, b], outgoing_id=None) == b


def test_then_whoever_has_served_least() -> None:
    a = person(1, served=2, last=date(2026, 1, 1))
    b = person(2, served=1, last=date(2027, 6, 1))
    c = person(3, served=3, last=date(2025, 1, 1))
    assert next_lead([a, b, c], outgoing_id=None) == b


def test_then_whoever_served_longest_ago() -> None:
    recent = person(1, served=1, last=date(2027, 6, 1))
    longer_ago = person(2, served=1, last=date(2027, 2, 1))
    assert next_lead([recent, longer_ago], outgoing_id=None) == longer_ago


def test_ties_go_to_whoever_joined_first_so_the_choice_is_stable() -> None:
    later = person(1, joined=date(2027, 3, 1))
    earlier = person(2, joined=date(2027, 1, 1))
    assert next_lead([later, earlier], outgoing_id=None) == earlier
    assert next_lead([earlier, later], outgoing_id=None) == earlier


def test_opt_outs_are_skipped_even_when_least_served() -> None:
    opted = person(1, out=True)
    served = person(2, served=4, last=date(2027, 1, 1))
    assert next_lead([opted, served], outgoing_id=None) == served


def test_a_sponsor_is_never_picked_even_as_the_only_volunteer() -> None:
    sponsor = person(1, pg=False, vol=True, sponsor=True)
    member = person(2, served=5, last=date(2027, 1, 1))
    assert next_lead([sponsor, member], outgoing_id=None) == member
    assert next_lead([sponsor], outgoing_id=None) is None


def test_the_outgoing_lead_is_not_picked_again_while_anyone_else_is_eligible() -> None:
    outgoing = person(1, vol=True)  # would win on every other rule
    other = person(2, served=3, last=date(2027, 1, 1))
    assert next_lead([outgoing, other], outgoing_id=1) == other


def test_the_outgoing_lead_continues_when_nobody_else_at_all_can() -> None:
    outgoing = person(1, served=1, last=date(2027, 1, 1))
    assert next_lead([outgoing, person(2, pg=False), person(3, out=True)], outgoing_id=1) == outgoing


def test_the_convenor_leads_only_when_no_one_else_is_eligible() -> None:
    convenor = person(1, convenor=True)
    member = person(2, served=9, last=date(2027, 1, 1))
    assert next_lead([convenor, member], outgoing_id=None) == member
    assert next_lead([convenor, person(3, pg=False), person(4, out=True)], outgoing_id=None) == convenor


def test_the_convenor_leads_as_a_last_resort_even_off_the_planning_group() -> None:
    convenor = person(1, pg=False, convenor=True)
    assert next_lead([convenor, person(2, pg=False)], outgoing_id=None) == convenor


def test_a_convenor_who_opted_out_is_not_picked_and_then_nobody_leads() -> None:
    convenor = person(1, convenor=True, out=True)
    assert next_lead([convenor, person(2, pg=False)], outgoing_id=None) is None


def test_the_convenor_steps_in_rather_than_the_outgoing_lead_serving_twice_running() -> None:
    # Both rules hold: the only other eligible person is the convenor.
    outgoing = person(1)
    convenor = person(2, convenor=True, served=3, last=date(2027, 1, 1))
    assert next_lead([outgoing, convenor], outgoing_id=1) == convenor


def test_an_outgoing_convenor_hands_to_a_member_who_becomes_eligible() -> None:
    convenor = person(1, convenor=True, served=1, last=date(2027, 1, 1))
    volunteer = person(2, pg=False, vol=True)
    assert next_lead([convenor, volunteer], outgoing_id=1) == volunteer


def test_a_lone_convenor_continues_after_their_own_term() -> None:
    convenor = person(1, convenor=True, served=1, last=date(2027, 1, 1))
    assert next_lead([convenor], outgoing_id=1) == convenor


def test_nobody_at_all() -> None:
    assert next_lead([], outgoing_id=None) is None
    assert next_lead([person(1, pg=False), person(2, sponsor=True)], outgoing_id=None) is None


def test_a_whole_rota_spreads_the_work() -> None:
    # Simulate six terms among three planning-group members: everyone leads twice, never twice running.
    people = {i: person(i) for i in (1, 2, 3)}
    outgoing: int | None = None
    picks = []
    for term in range(6):
        pick = next_lead(list(people.values()), outgoing_id=outgoing)
        assert pick is not None and pick.membership_id != outgoing
        picks.append(pick.membership_id)
        p = people[pick.membership_id]
        people[p.membership_id] = person(p.membership_id, served=p.terms_served + 1,
                                         last=date(2027, 1 + term, 1))
        outgoing = pick.membership_id
    assert picks == [1, 2, 3, 1, 2, 3]


@pytest.mark.parametrize(("held", "at_start", "every", "due"), [
    (0, 0, 3, False), (2, 0, 3, False), (3, 0, 3, True), (4, 0, 3, True),
    (5, 3, 3, False), (6, 3, 3, True), (1, 0, 1, True),
])
def test_rotation_is_due_after_the_agreed_number_of_sessions(held: int, at_start: int, every: int,
                                                              due: bool) -> None:
    assert rotation_due(held, at_start, every) is due


def test_the_rota_order_starts_with_the_next_pick_and_keeps_the_order_of_resort() -> None:
    # A volunteer, the least served, one served long ago, the convenor, the outgoing lead, an
    # opted-out member and a sponsor: the console shows who leads next, in turn.
    pool = [person(1, served=2, last=date(2027, 3, 1)), person(2, vol=True, served=3),
            person(3, served=1, last=date(2027, 1, 1)), person(4, convenor=True, pg=False),
            person(5, served=1, last=date(2027, 6, 1)), person(6, out=True), person(7, sponsor=True)]
    order = rota_order(pool, outgoing_id=5)
    assert ids(order) == [2, 3, 1, 4, 5]
    pick = next_lead(pool, outgoing_id=5)
    assert pick is not None and order[0] == pick


def test_the_rota_order_is_empty_when_nobody_can_lead() -> None:
    assert rota_order([person(6, out=True), person(7, sponsor=True)], outgoing_id=None) == []


def test_of_two_open_terms_the_lead_is_the_one_begun_last() -> None:
    from dataclasses import dataclass

    from models.rota import lead_term

    @dataclass(frozen=True)
    class Open:
        id: int
        started_on: date

    terms = [Open(7, date(2027, 3, 1)), Open(3, date(2027, 5, 1)), Open(9, date(2027, 5, 1))]
    assert (lead_term(terms), lead_term([])) == (Open(9, date(2027, 5, 1)), None)
