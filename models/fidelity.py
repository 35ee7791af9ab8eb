"""Fidelity to the CoP model (DESIGN section 1, "Fidelity is explicit"), from plain facts.

Each criterion is a `Result`: a verdict (met, not met, not yet known) and its evidence. Evidence
is a sentence's name and the facts it states; the words are templates/fidelity/_evidence.j2's.
No I/O: tasks/storage/fidelity.py gathers the facts for a page of CoPs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from itertools import pairwise
from typing import Any

from models.health import CADENCE_DAYS, CADENCE_GRACE, CONCENTRATED_MIN_TASKS, people_doing_half
from models.lifecycle import Stage
from models.sessions import RECENT_KEPT, SessionFacts, SessionsHeld
from models.stories import Consent, consent_kept
from models.vocabulary import Cadence

RECENT_SESSIONS = 4  # "a community that interacts" looks at this many recent sessions
COMMUNITY_MIN_PEOPLE = 3  # ...and needs this many different people among them
MOST_TERMS_RUNNING = 2  # no one leads planning for more than two terms running
LONG_GAPS_SHARE = 0.25  # cadence: more than this share of gaps too long is not the agreed cadence

# A story leaves the CoP in these stored reports (DESIGN 6a: only with the teller's consent). The
# archive is written from the same consent rule as the final report, on the same day.
SPONSOR_REPORT = "sponsor-report"
FINAL_REPORT = "final-report"
PLACES = (SPONSOR_REPORT, FINAL_REPORT)  # in the order they are named
# A story's consent as recorded (the story table); None: not recorded.
NAMED, ANONYMOUS, PRIVATE = Consent.named.value, Consent.anonymous.value, Consent.private.value
# Why a story's sharing broke its teller's consent: it was private, or it named people though
# its teller agreed to share it only without names.
SHARED_PRIVATE, SHARED_NAMED = "private", "named"
# Email kinds that would chase attendance; copflow has none, and this criterion says so.
CHASING_WORDS = ("absence", "absent", "attendance-reminder", "missed-session", "chase", "we-missed-you")

# The criteria, in the order they are shown.
DOMAIN = "domain"
COMMUNITY = "community"
PRACTICE = "practice"
SPONSORS = "sponsors-outside-planning"
ROTATION = "rotation"
CADENCE = "cadence"
VOLUNTARY = "voluntary-attendance"
CONSENT = "story-consent"
CRITERIA = (DOMAIN, COMMUNITY, PRACTICE, SPONSORS, ROTATION, CADENCE, VOLUNTARY, CONSENT)


class Verdict(str, Enum):
    met = "met"
    not_met = "not met"
    unknown = "not yet known"


@dataclass(frozen=True)
class Evidence:
    says: str  # the sentence's name in templates/fidelity/_evidence.j2
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    criterion: str
    verdict: Verdict
    evidence: tuple[Evidence, ...]


def _result(criterion: str, verdict: Verdict, *evidence: Evidence) -> Result:
    return Result(criterion, verdict, evidence)


def _says(says: str, **facts: Any) -> Evidence:
    return Evidence(says, facts)


@dataclass(frozen=True)
class Term:
    """One term of leading planning, oldest first."""

    person: int  # a person id: terms by the same person run together
    name: str
    started_on: date
    sessions: int  # sessions held during the term (so far, for the open one)


@dataclass(frozen=True)
class StoryFact:
    """A story as recorded: its id and its teller's consent (the story table's consent column)."""

    consent: str | None  # named | anonymous | private; None when none was recorded
    story_id: int | None = None


@dataclass(frozen=True)
class SharedStory:
    """A story as a stored report carried it beyond the CoP: the words that left, and where."""

    story_id: int | None  # None: stored before stories carried an id and a consent
    place: str  # SPONSOR_REPORT | FINAL_REPORT
    period: str  # the report's period, as the report names it
    text: str
    teller: str | None = None  # the teller, when the report named them


@dataclass(frozen=True)
class SponsorRole:
    """A sponsor found where sponsors never are: convenor, planning group, lead, or acting."""

    name: str
    role: str  # convenor | planning-group | led-planning | acted


@dataclass(frozen=True)
class FidelityInputs:
    today: date
    stage: Stage
    domain: str | None
    practice: str | None
    cadence: Cadence | None
    launched_on: date | None
    ended_on: date | None  # closing since, or archived on: the cadence is judged up to then
    rotate_every: int
    sessions: Sequence[SessionFacts]  # oldest first
    sponsors: int
    sponsor_roles: Sequence[SponsorRole]
    terms: Sequence[Term]  # oldest first
    planning_work: Mapping[str, int]  # person's name -> planning tasks done
    email_kinds: Sequence[str]  # the template of every email queued for this CoP
    stories: Sequence[StoryFact]
    shared: Sequence[SharedStory] = ()  # every story every stored report carried, oldest first
    names: Sequence[str] = ()  # every name of the CoP's people, sponsors too (what anonymity hides)
    # Different people among the last RECENT_SESSIONS sessions, when the reader counted them (so
    # it need not fetch every attendee id); None: counted here from the sessions' attendee_ids.
    recent_people: int | None = None
    # The sessions already summarised (the portfolio's reader, in SQL): then `sessions` is not read.
    held: SessionsHeld | None = None


@dataclass(frozen=True)
class Fidelity:
    results: tuple[Result, ...]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict is verdict)

    def criteria(self, verdict: Verdict) -> list[str]:
        return [r.criterion for r in self.results if r.verdict is verdict]

    @property
    def verdicts(self) -> dict[str, str]:
        return {r.criterion: r.verdict.value for r in self.results}


def summarise(sessions: Sequence[SessionFacts], recent_people: int | None = None) -> SessionsHeld:
    """What the rules read of these sessions (oldest first); recent_people: as FidelityInputs'."""
    recent = list(sessions)[-RECENT_SESSIONS:]
    return SessionsHeld(
        dates=tuple(s.held_on for s in sessions),
        recent=tuple((s.held_on, s.attended) for s in list(sessions)[-RECENT_KEPT:]),
        outputs=len({o for s in sessions for o in s.outputs}),
        topics=len({t for s in sessions for t in s.topics}),
        recent_people=_people(recent) if recent_people is None else recent_people)


def assess(inputs: FidelityInputs) -> Fidelity:
    held = summarise(inputs.sessions, inputs.recent_people) if inputs.held is None else inputs.held
    return Fidelity((
        domain(inputs.domain),
        community(held),
        practice(inputs.practice, held, inputs.stories),
        sponsors_outside_planning(inputs.sponsors, inputs.sponsor_roles),
        rotation(inputs.stage, inputs.terms, inputs.planning_work, inputs.rotate_every),
        cadence(inputs, held),
        voluntary_attendance(inputs.email_kinds),
        story_consent(inputs.stories, inputs.shared, inputs.names),
    ))


def domain(text: str | None) -> Result:
    """Criterion 1: a shared domain, stated in the charter."""
    if text and text.strip():
        return _result(DOMAIN, Verdict.met, _says("domain-stated"))
    return _result(DOMAIN, Verdict.not_met, _says("domain-missing"))


def _people(sessions: Sequence[SessionFacts]) -> int:
    """Different people among these sessions (a session recorded without ids counts its seats)."""
    ids = {pid for s in sessions for pid in s.attendee_ids}
    return max(len(ids), max((s.attended for s in sessions), default=0))


def community(held: SessionsHeld) -> Result:
    """Criterion 2: members who interact, i.e. several different people meeting, not one or two."""
    if not held.dates:
        return _result(COMMUNITY, Verdict.unknown, _says("no-session-yet"))
    recent = [attended for _, attended in held.recent[-RECENT_SESSIONS:]]
    if held.recent_people is None:  # not counted: one session alone had enough people (see SessionsHeld)
        if max(recent) < COMMUNITY_MIN_PEOPLE:
            raise ValueError("the different people at the last sessions were not counted, and the verdict needs them")
        return _result(COMMUNITY, Verdict.met, _says("enough-at-one-session", most=max(recent),
                                                     sessions=len(recent), at_last=recent[-1]))
    facts = {"people": max(held.recent_people, max(recent)), "sessions": len(recent), "at_last": recent[-1]}
    if facts["people"] >= COMMUNITY_MIN_PEOPLE:
        return _result(COMMUNITY, Verdict.met, _says("people-meeting", **facts))
    return _result(COMMUNITY, Verdict.not_met, _says("too-few-meeting", least=COMMUNITY_MIN_PEOPLE, **facts))


def practice(text: str | None, held: SessionsHeld, stories: Sequence[StoryFact]) -> Result:
    """Criterion 3: members share stories and cases; the charter says what, sessions show it."""
    if not (text and text.strip()):
        return _result(PRACTICE, Verdict.not_met, _says("practice-missing"))
    if not held.dates:
        return _result(PRACTICE, Verdict.unknown, _says("practice-stated"), _says("no-session-yet"))
    sessions, outputs = len(held.dates), held.outputs
    shown = _says("practice-shown", stories=len(stories), outputs=outputs, sessions=sessions)
    if stories or outputs:
        return _result(PRACTICE, Verdict.met, _says("practice-stated"), shown)
    if held.topics:
        return _result(PRACTICE, Verdict.unknown, _says("practice-stated"),
                       _says("only-topics", topics=held.topics, sessions=sessions))
    return _result(PRACTICE, Verdict.not_met, _says("practice-stated"), shown)


def sponsors_outside_planning(sponsors: int, roles: Sequence[SponsorRole]) -> Result:
    """Sponsors are informed, never in charge: none convenes, plans, leads or acts."""
    if roles:
        return _result(SPONSORS, Verdict.not_met,
                       *(_says("sponsor-in-role", name=r.name, role=r.role) for r in roles))
    return _result(SPONSORS, Verdict.met, _says("sponsors-outside", sponsors=sponsors))


def runs(terms: Sequence[Term]) -> list[tuple[Term, int, int]]:
    """Consecutive terms by one person: (the run's first term, how many terms, sessions led)."""
    out: list[tuple[Term, int, int]] = []
    for term in terms:
        if out and out[-1][0].person == term.person:
            first, count, sessions = out[-1]
            out[-1] = (first, count + 1, sessions + term.sessions)
        else:
            out.append((term, 1, term.sessions))
    return out


def rotation(stage: Stage, terms: Sequence[Term], work: Mapping[str, int], rotate_every: int) -> Result:
    """No one leads for more than two terms running (a term: rotate_every sessions), and the
    planning work is spread, not done mostly by one person."""
    if not terms:
        says = "not-launched" if stage is Stage.proposed else "no-lead-yet"
        return _result(ROTATION, Verdict.unknown, _says(says))
    evidence = [_says("terms-so-far", terms=len(terms), people=len({t.person for t in terms}))]
    too_long = [(first, count, sessions) for first, count, sessions in runs(terms)
                if count > MOST_TERMS_RUNNING or sessions > MOST_TERMS_RUNNING * max(rotate_every, 1)]
    for first, count, sessions in too_long:
        evidence.append(_says("led-too-long", name=first.name, since=first.started_on, terms=count,
                              sessions=sessions, limit=MOST_TERMS_RUNNING * rotate_every))
    total, half = sum(work.values()), people_doing_half(work)
    concentrated = half == 1 and total >= CONCENTRATED_MIN_TASKS
    if concentrated:
        name, done = max(work.items(), key=lambda item: item[1])
        evidence.append(_says("work-concentrated", name=name, done=done, total=total))
    elif total:
        evidence.append(_says("work-spread", total=total, people=len([n for n in work.values() if n]),
                              half=half))
    verdict = Verdict.not_met if too_long or concentrated else Verdict.met
    return _result(ROTATION, verdict, *evidence)


def _gaps(days: Sequence[date]) -> list[int]:
    return [(later - earlier).days for earlier, later in pairwise(days)]


def cadence(inputs: FidelityInputs, sessions: SessionsHeld) -> Result:
    """Sessions at the agreed cadence: the CoP meets now, and most gaps between sessions kept it."""
    if inputs.stage is Stage.proposed or inputs.launched_on is None:
        return _result(CADENCE, Verdict.unknown, _says("not-launched"))
    if inputs.cadence is None:
        return _result(CADENCE, Verdict.not_met, _says("no-cadence"))
    allowed = int(CADENCE_DAYS[inputs.cadence] * CADENCE_GRACE)
    until = min(inputs.today, inputs.ended_on) if inputs.ended_on else inputs.today
    held = sorted(d for d in sessions.dates if d <= until)
    agreed = {"cadence": inputs.cadence.value, "allowed": allowed}
    if not held:
        waited = (until - inputs.launched_on).days
        facts = {"launched_on": inputs.launched_on, "days": waited, **agreed}
        if waited > allowed:
            return _result(CADENCE, Verdict.not_met, _says("never-met", **facts))
        return _result(CADENCE, Verdict.unknown, _says("first-session-awaited", **facts))
    gaps = _gaps(held)
    long_gaps = [g for g in gaps if g > allowed]
    since_last = (until - held[-1]).days
    evidence = [_says("sessions-held", sessions=len(held), launched_on=inputs.launched_on, **agreed)]
    if gaps:
        evidence.append(_says("gaps", gaps=len(gaps), long=len(long_gaps), longest=max(gaps), **agreed))
    evidence.append(_says("last-session", on=held[-1], days=since_last, late=since_last > allowed,
                          ended=inputs.ended_on is not None and until == inputs.ended_on))
    kept = since_last <= allowed and len(long_gaps) <= LONG_GAPS_SHARE * len(gaps)
    return _result(CADENCE, Verdict.met if kept else Verdict.not_met, *evidence)


def chases(template: str) -> bool:
    """Whether an email of this kind chases attendance (voluntary attendance forbids it)."""
    return any(word in template for word in CHASING_WORDS)


def voluntary_attendance(email_kinds: Iterable[str]) -> Result:
    """Attendance is voluntary: no email chases or shames an absent member."""
    kinds = list(email_kinds)
    chasing = sorted({k for k in kinds if chases(k)})
    if chasing:
        count = sum(1 for k in kinds if chases(k))
        return _result(VOLUNTARY, Verdict.not_met, _says("emails-chased", count=count, kinds=chasing))
    return _result(VOLUNTARY, Verdict.met, _says("no-chasing", emails=len(kinds)))


def sharing_problem(shared: SharedStory, consent: str | None, names: Sequence[str]) -> str | None:
    """How this sharing broke the teller's consent (SHARED_PRIVATE, SHARED_NAMED), or None when
    it kept it: a private story never leaves the CoP; an anonymous one leaves without its teller's
    name or any name of the CoP's people; only a named one may name them. Unknown consent: None."""
    if consent is None or consent_kept(Consent(consent), shared.text, names, shared.teller):
        return None
    return SHARED_PRIVATE if consent == PRIVATE else SHARED_NAMED


def story_consent(stories: Sequence[StoryFact], shared: Sequence[SharedStory], names: Sequence[str]) -> Result:
    """Each story a stored report carried beyond the CoP, judged against its teller's consent as
    recorded: not met when one went against it, not yet known when one has no recorded consent."""
    if not shared:  # the usual case: nothing left the CoP, so every story stayed (as below, quicker)
        return _result(CONSENT, Verdict.met, _says("consent-kept", stories=len(stories), shared=0, places=[],
                                                   named=0, anonymous=0, stayed=len(stories)))
    consents: dict[int | None, str | None] = {s.story_id: s.consent for s in stories if s.story_id is not None}
    unknown = [s for s in shared if consents.get(s.story_id) is None]
    broken = [(s, why) for s in shared if (why := sharing_problem(s, consents.get(s.story_id), names))]
    places = [p for p in PLACES if any(s.place == p for s in shared)]
    evidence = [_says("shared-against-consent", story=s.story_id, consent=consents[s.story_id],
                      place=s.place, period=s.period, problem=why) for s, why in broken]
    if unknown:
        evidence.append(_says("consent-not-recorded", count=len(unknown), shared=len(shared),
                              places=[p for p in PLACES if any(s.place == p for s in unknown)]))
    if broken:
        return _result(CONSENT, Verdict.not_met, *evidence)
    if unknown:
        return _result(CONSENT, Verdict.unknown, *evidence)
    left = {s.story_id: consents[s.story_id] for s in shared}
    return _result(CONSENT, Verdict.met, _says(
        "consent-kept", stories=len(stories), shared=len(left), places=places,
        named=sum(1 for c in left.values() if c == NAMED),
        anonymous=sum(1 for c in left.values() if c == ANONYMOUS),
        stayed=sum(1 for s in stories if s.story_id not in left)))
