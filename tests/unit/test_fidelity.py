"""Fidelity to the CoP model, criterion by criterion, from plain facts: no database, no Prefect."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from models import fidelity as f
from models.fidelity import (
    FINAL_REPORT,
    SPONSOR_REPORT,
    FidelityInputs,
    SharedStory,
    SponsorRole,
    StoryFact,
    Term,
    Verdict,
    assess,
)
from models.lifecycle import Stage
from models.sessions import SessionFacts
from models.vocabulary import Cadence

TODAY = date(2027, 6, 1)
LAUNCHED = date(2027, 1, 5)


def monthly(*people: tuple[int, ...], outputs: tuple[str, ...] = ()) -> list[SessionFacts]:
    """Sessions a month apart ending two weeks before TODAY, each with these people's ids."""
    start = TODAY - timedelta(days=14 + 30 * (len(people) - 1))
    return [SessionFacts(start + timedelta(days=30 * i), ("member",) * len(ids), attendee_ids=ids,
                         outputs=outputs) for i, ids in enumerate(people)]


BASE = FidelityInputs(
    today=TODAY, stage=Stage.active, domain="Alcohol outreach", practice="Cases and stories",
    cadence=Cadence.monthly, launched_on=LAUNCHED, ended_on=None, rotate_every=3,
    sessions=monthly((1, 2, 3), (1, 2, 4), (2, 3, 4), (1, 3, 5), outputs=("A referral checklist",)),
    sponsors=1, sponsor_roles=[],
    terms=[Term(person=1, name="Sam", started_on=LAUNCHED, sessions=3),
           Term(person=2, name="Lee", started_on=date(2027, 4, 1), sessions=1)],
    planning_work={"Sam": 2, "Lee": 2, "Ana": 1}, email_kinds=["member-invitation"] * 4,
    stories=[StoryFact(consent=f.NAMED, story_id=1)],
    shared=[SharedStory(1, SPONSOR_REPORT, "April to June 2027", "Sam Okafor's team now visits twice", "Sam Okafor")],
    names=["Sam Okafor", "Lee Hart", "Ana Costa", "Priya Raman"],
)
Q2, LIFE = "April to June 2027", "January 2027 to January 2028"



def verdict(inputs: FidelityInputs, criterion: str) -> Verdict:
    return next(r.verdict for r in assess(inputs).results if r.criterion == criterion)


def says(inputs: FidelityInputs, criterion: str) -> list[str]:
    return [e.says for r in assess(inputs).results if r.criterion == criterion for e in r.evidence]


def test_a_cop_true_to_the_model_meets_every_criterion_in_order() -> None:
    result = assess(BASE)
    assert [r.criterion for r in result.results] == list(f.CRITERIA)
    assert result.count(Verdict.met) == len(f.CRITERIA), result.verdicts


def test_the_domain_must_be_stated() -> None:
    assert verdict(replace(BASE, domain="  "), f.DOMAIN) is Verdict.not_met
    assert verdict(replace(BASE, domain=None), f.DOMAIN) is Verdict.not_met


def test_a_community_is_several_different_people_meeting() -> None:
    assert verdict(replace(BASE, sessions=[]), f.COMMUNITY) is Verdict.unknown
    pair = replace(BASE, sessions=monthly((1, 2), (1, 2), (2, 1)))
    assert verdict(pair, f.COMMUNITY) is Verdict.not_met
    assert says(pair, f.COMMUNITY) == ["too-few-meeting"]
    # Only the recent sessions count: a crowd long ago is not a community now.
    faded = replace(BASE, sessions=monthly((1, 2, 3, 4, 5), (1, 2), (1, 2), (1, 2), (2, 1)))
    assert verdict(faded, f.COMMUNITY) is Verdict.not_met
    result = next(r for r in assess(BASE).results if r.criterion == f.COMMUNITY)
    assert result.evidence[0].facts == {"people": 5, "sessions": 4, "at_last": 3}


def test_a_community_counted_by_the_reader_is_judged_as_one_counted_here() -> None:
    """The portfolio's read counts the recent sessions' different people in SQL (recent_people)."""
    def community(inputs: f.FidelityInputs) -> object:
        return next(r for r in assess(inputs).results if r.criterion == f.COMMUNITY)

    crowd = replace(BASE, sessions=[replace(s, attendee_ids=()) for s in BASE.sessions], recent_people=5)
    assert community(crowd) == community(BASE)
    pair = replace(BASE, sessions=monthly((1, 2), (1, 2), (2, 1)))
    assert community(replace(pair, recent_people=2)) == community(pair)


def test_a_reader_showing_verdicts_only_may_leave_the_people_uncounted_where_one_session_had_enough() -> None:
    """The portfolio counts no different people when a recent session alone had three: the
    verdict is the same, and its evidence says only what was counted."""
    def community(inputs: f.FidelityInputs) -> f.Result:
        return next(r for r in assess(inputs).results if r.criterion == f.COMMUNITY)

    counted = f.summarise(BASE.sessions)
    uncounted = replace(BASE, sessions=(), held=replace(counted, recent_people=None))
    assert community(uncounted).verdict is community(BASE).verdict is Verdict.met
    assert [(e.says, dict(e.facts)) for e in community(uncounted).evidence] == [
        ("enough-at-one-session", {"most": 3, "sessions": 4, "at_last": 3})]
    # Where the verdict turns on the count, a reader that left it out is a mistake, not a guess.
    pairs = f.summarise(monthly((1, 2), (1, 2), (2, 1)))
    with pytest.raises(ValueError, match="not counted"):
        assess(replace(BASE, sessions=(), held=replace(pairs, recent_people=None)))


def test_a_practice_is_stated_and_shown_by_stories_or_outputs() -> None:
    assert verdict(replace(BASE, practice=None), f.PRACTICE) is Verdict.not_met
    assert verdict(replace(BASE, sessions=[]), f.PRACTICE) is Verdict.unknown
    silent = replace(BASE, sessions=monthly((1, 2, 3), (2, 3, 4)), stories=[])
    assert verdict(silent, f.PRACTICE) is Verdict.not_met
    topics = replace(silent, sessions=[replace(s, topics=("Engagement",)) for s in silent.sessions])
    assert verdict(topics, f.PRACTICE) is Verdict.unknown  # talked about, not yet shown
    assert verdict(replace(silent, stories=[StoryFact(consent=None)]), f.PRACTICE) is Verdict.met


@pytest.mark.parametrize("role", ["convenor", "planning-group", "led-planning", "acted"])
def test_a_sponsor_in_any_role_of_planning_or_deciding_breaks_the_model(role: str) -> None:
    inputs = replace(BASE, sponsor_roles=[SponsorRole(name="Priya Raman", role=role)])
    result = next(r for r in assess(inputs).results if r.criterion == f.SPONSORS)
    assert result.verdict is Verdict.not_met
    assert result.evidence[0].facts == {"name": "Priya Raman", "role": role}


def test_rotation_needs_terms_and_no_one_leading_more_than_two_terms_running() -> None:
    assert verdict(replace(BASE, stage=Stage.proposed, terms=[]), f.ROTATION) is Verdict.unknown
    assert says(replace(BASE, terms=[]), f.ROTATION) == ["no-lead-yet"]
    sam = [Term(1, "Sam", LAUNCHED + timedelta(days=90 * i), 3) for i in range(3)]
    assert verdict(replace(BASE, terms=sam[:2]), f.ROTATION) is Verdict.met  # two running is allowed
    three = replace(BASE, terms=sam)
    assert verdict(three, f.ROTATION) is Verdict.not_met
    led = next(e for r in assess(three).results for e in r.evidence if e.says == "led-too-long")
    assert led.facts == {"name": "Sam", "since": LAUNCHED, "terms": 3, "sessions": 9, "limit": 6}
    # One term that never rotated, past two terms' worth of sessions, is as long.
    assert verdict(replace(BASE, terms=[Term(1, "Sam", LAUNCHED, 7)]), f.ROTATION) is Verdict.not_met
    # Terms apart are not running: Sam, Lee, Sam.
    apart = [sam[0], Term(2, "Lee", LAUNCHED, 3), sam[1], sam[2]]
    assert verdict(replace(BASE, terms=apart), f.ROTATION) is Verdict.met


def test_rotation_needs_the_planning_work_spread() -> None:
    one = replace(BASE, planning_work={"Sam": 6, "Lee": 1})
    assert verdict(one, f.ROTATION) is Verdict.not_met
    assert "work-concentrated" in says(one, f.ROTATION)
    few = replace(BASE, planning_work={"Sam": 2, "Lee": 1})  # too little work to call it concentrated
    assert verdict(few, f.ROTATION) is Verdict.met


def test_sessions_at_the_agreed_cadence() -> None:
    assert verdict(replace(BASE, stage=Stage.proposed, launched_on=None), f.CADENCE) is Verdict.unknown
    assert verdict(replace(BASE, cadence=None), f.CADENCE) is Verdict.not_met
    lapsed = replace(BASE, today=TODAY + timedelta(days=60))
    assert verdict(lapsed, f.CADENCE) is Verdict.not_met  # nothing for two and a half months
    gappy = replace(BASE, sessions=[SessionFacts(d, ("m",)) for d in (
        date(2027, 1, 14), date(2027, 3, 30), date(2027, 5, 20))])
    assert verdict(gappy, f.CADENCE) is Verdict.not_met  # 2 of 2 gaps too long
    # A closing CoP is judged up to the day it began to close, not on after it.
    closing = replace(lapsed, stage=Stage.closing, ended_on=BASE.sessions[-1].held_on + timedelta(days=10))
    assert verdict(closing, f.CADENCE) is Verdict.met


def test_a_launched_cop_that_never_met_is_off_cadence_once_its_time_has_passed() -> None:
    waiting = replace(BASE, stage=Stage.launching, sessions=[], today=LAUNCHED + timedelta(days=20))
    assert verdict(waiting, f.CADENCE) is Verdict.unknown
    assert verdict(replace(waiting, today=LAUNCHED + timedelta(days=60)), f.CADENCE) is Verdict.not_met
    assert says(replace(waiting, today=LAUNCHED + timedelta(days=60)), f.CADENCE) == ["never-met"]


def test_voluntary_attendance_means_no_email_chases_anyone() -> None:
    assert verdict(replace(BASE, email_kinds=[]), f.VOLUNTARY) is Verdict.met
    chased = replace(BASE, email_kinds=["member-invitation", "attendance-reminder", "absence-follow-up"])
    result = next(r for r in assess(chased).results if r.criterion == f.VOLUNTARY)
    assert result.verdict is Verdict.not_met
    assert result.evidence[0].facts == {"count": 2, "kinds": ["absence-follow-up", "attendance-reminder"]}
    # Every kind of email copflow sends today passes.
    ours = ["member-invitation", "sponsor-launch-notice", "sponsor-report", "final-sponsor-report",
            "handover-pack", "convenor-nudge", "close-proposal", "closing-notice", "continuing-notice",
            "no-one-eligible"]
    assert not [k for k in ours if f.chases(k)]


def consent_result(stories: list[StoryFact], shared: list[SharedStory]) -> f.Result:
    return next(r for r in assess(replace(BASE, stories=stories, shared=shared)).results
                if r.criterion == f.CONSENT)


def test_a_story_kept_in_the_cop_needs_no_consent_to_share() -> None:
    result = consent_result([StoryFact(f.PRIVATE, 1), StoryFact(f.ANONYMOUS, 2)], [])
    assert result.verdict is Verdict.met
    assert result.evidence[0].facts == {"stories": 2, "shared": 0, "places": [], "named": 0, "anonymous": 0,
                                        "stayed": 2}


def test_stories_shared_as_their_consent_allows_meet_it_with_the_evidence() -> None:
    stories = [StoryFact(f.NAMED, 1), StoryFact(f.ANONYMOUS, 2), StoryFact(f.PRIVATE, 3)]
    shared = [SharedStory(1, SPONSOR_REPORT, Q2, "Sam Okafor's team now visits twice", "Sam Okafor"),
              SharedStory(2, SPONSOR_REPORT, Q2, "[name withheld] now phones the ward first"),
              SharedStory(1, FINAL_REPORT, LIFE, "Sam Okafor's team now visits twice", "Sam Okafor")]
    result = consent_result(stories, shared)
    assert result.verdict is Verdict.met
    # Counted by story, not by report: story 1 went in a quarter's report and the final one.
    assert result.evidence[0].facts == {"stories": 3, "shared": 2, "places": [SPONSOR_REPORT, FINAL_REPORT],
                                        "named": 1, "anonymous": 1, "stayed": 1}


def test_a_private_story_in_a_report_breaks_consent_whatever_its_words() -> None:
    result = consent_result([StoryFact(f.NAMED, 1), StoryFact(f.PRIVATE, 2)],
                            [SharedStory(1, SPONSOR_REPORT, Q2, "A named story"),
                             SharedStory(2, SPONSOR_REPORT, Q2, "Words with no name in them")])
    assert result.verdict is Verdict.not_met
    assert [e.facts for e in result.evidence] == [
        {"story": 2, "consent": f.PRIVATE, "place": SPONSOR_REPORT, "period": Q2, "problem": f.SHARED_PRIVATE}]


@pytest.mark.parametrize(("text", "teller", "kept"), [
    ("[name withheld] now phones the ward first", None, True),
    ("Lee now phones the ward first", None, False),  # a first name is a name
    ("The ward now phones LEE HART first", None, False),  # whatever its case
    ("[name withheld] now phones the ward first", "Lee Hart", False),  # the teller credited
    ("Sleepless nights are fewer now", None, True),  # "Lee" inside a word is not a name
])
def test_an_anonymous_story_leaves_only_without_names(text: str, teller: str | None, kept: bool) -> None:
    result = consent_result([StoryFact(f.ANONYMOUS, 7)], [SharedStory(7, FINAL_REPORT, LIFE, text, teller)])
    assert (result.verdict is Verdict.met) is kept
    if not kept:
        assert result.evidence[0].facts["problem"] == f.SHARED_NAMED


def test_only_consent_to_name_lets_a_story_name_people() -> None:
    named = "Lee Hart and Ana Costa changed the first letter"
    assert consent_result([StoryFact(f.NAMED, 1)], [SharedStory(1, SPONSOR_REPORT, Q2, named, "Lee Hart")]
                          ).verdict is Verdict.met
    for consent in (f.ANONYMOUS, f.PRIVATE):
        assert consent_result([StoryFact(consent, 1)], [SharedStory(1, SPONSOR_REPORT, Q2, named)]
                              ).verdict is Verdict.not_met, consent


def test_a_story_shared_with_no_recorded_consent_is_not_yet_known() -> None:
    # Stored before stories carried an id, or no longer on record: nobody can say it was agreed.
    result = consent_result([StoryFact(f.NAMED, 1)], [SharedStory(1, SPONSOR_REPORT, Q2, "Told"),
                                                      SharedStory(None, SPONSOR_REPORT, Q2, "Older"),
                                                      SharedStory(9, FINAL_REPORT, LIFE, "Gone")])
    assert result.verdict is Verdict.unknown
    assert result.evidence[0].facts == {"count": 2, "shared": 3, "places": [SPONSOR_REPORT, FINAL_REPORT]}
    # A breach beside it is still a breach, and both are shown.
    breached = consent_result([StoryFact(f.PRIVATE, 1)], [SharedStory(1, SPONSOR_REPORT, Q2, "Told"),
                                                          SharedStory(None, SPONSOR_REPORT, Q2, "Older")])
    assert breached.verdict is Verdict.not_met
    assert [e.says for e in breached.evidence] == ["shared-against-consent", "consent-not-recorded"]


RAW = re.compile(r"\bNone\b(?! of)|\bTrue\b|\bFalse\b|[{}\[\]]|\d{4}-\d\d-\d\d")  # reprs, ISO dates


def test_every_piece_of_evidence_reads_as_a_sentence() -> None:
    """Each evidence the rules can give has its own words in templates/fidelity/_evidence.j2."""
    from tasks.usecases.fidelity import sentence, titles

    variants = [BASE, replace(BASE, domain=None, practice=None, cadence=None, sessions=[], stories=[],
                              terms=[], email_kinds=["chase-up"]),
                replace(BASE, stage=Stage.launching, sessions=[], today=LAUNCHED + timedelta(days=90),
                        sponsor_roles=[SponsorRole("Priya", "acted")], planning_work={"Sam": 9},
                        terms=[Term(1, "Sam", LAUNCHED, 9)],
                        stories=[StoryFact(f.PRIVATE, 1), StoryFact(f.ANONYMOUS, 2)],
                        shared=[SharedStory(1, SPONSOR_REPORT, Q2, "Told"),
                                SharedStory(2, FINAL_REPORT, LIFE, "Lee said", "Lee Hart"),
                                SharedStory(None, SPONSOR_REPORT, Q2, "Older")]),
                replace(BASE, shared=[SharedStory(None, SPONSOR_REPORT, Q2, "Older")]),
                replace(BASE, stories=[StoryFact(f.NAMED, 1), StoryFact(f.ANONYMOUS, 2), StoryFact(f.PRIVATE, 3)],
                        shared=[SharedStory(1, SPONSOR_REPORT, Q2, "Told"),
                                SharedStory(2, FINAL_REPORT, LIFE, "Told")]),
                replace(BASE, sessions=(), held=replace(f.summarise(BASE.sessions), recent_people=None))]
    seen = set()
    for inputs in variants:
        for result in assess(inputs).results:
            assert titles()[result.criterion]
            for e in result.evidence:
                words = sentence(e)
                seen.add(e.says)
                assert words and words != e.says and words.endswith("."), (e, words)
                assert not RAW.search(words), words
    assert len(seen) >= 15
