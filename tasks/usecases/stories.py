"""Stories of change: adding one that surfaced later, and what may leave the CoP.

`shareable_stories` is the one path by which a story reaches anyone outside the CoP (sponsor
reports, the final report, the archive): private stories never, anonymous ones without the
names of the CoP's people, named ones as told. `story_consents` says, for each story shared in a
stored report, whether its consent was kept (fidelity reads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.db import schema
from models.db.tables import Community, CopSession, Membership, SponsorReport, Story
from models.lifecycle import Stage
from models.reporting import Period, shared_stories
from models.reporting import Story as SharedStory
from models.sessions import require_in_life
from models.stages import require_session
from models.stories import DEFAULT_CONSENT, Consent, StoryFacts, consent_kept
from tasks.rendering import render
from tasks.storage import audit
from tasks.storage.queries import sponsors_of
from tasks.usecases.acting import acting_decider
from tasks.usecases.sessions import teller_of


@dataclass(frozen=True)
class StoryAdded:
    story_id: int
    told_on: date
    session_held_on: date | None  # the session it joined; None: it belongs to the CoP


def add_story(db: Session, slug: str, *, on: date, text: str, consent: Consent = DEFAULT_CONSENT,
              teller: str | None = None, actor: str | None, today: date) -> StoryAdded:
    """A story that surfaced later: it joins the session held on that day, or, when none was,
    the CoP itself under that day (a story told in a corridor is still the CoP's)."""
    community, who = acting_decider(db, slug, actor)
    require_session(Stage(community.stage), slug)
    require_in_life(on, community.created_on, today, slug)
    teller_id = teller_of(db, community, teller).person_id if teller is not None else None
    session = db.scalars(select(CopSession).where(CopSession.community_id == community.id,
                                                  CopSession.held_on == on)).one_or_none()
    story = Story(community_id=community.id, session_id=session.id if session else None, told_on=on,
                  text=text, teller_id=teller_id, consent=Consent(consent).value, recorded_on=today)
    db.add(story)
    db.flush()
    audit.record(db, community, actor=who, action="story.added", on_date=today,
                 after={"story": story.id, "told_on": str(on), "at_session": session is not None,
                        "consent": story.consent})
    return StoryAdded(story_id=story.id, told_on=on, session_held_on=session.held_on if session else None)


def story_facts(db: Session, community: Community) -> list[StoryFacts]:
    return stories_of(db, [community.id])[community.id]


def stories_of(db: Session, community_ids: Sequence[int]) -> dict[int, list[StoryFacts]]:
    """Each CoP's stories, by day told then id, with the teller's name: one query for them all."""
    found: dict[int, list[StoryFacts]] = {cid: [] for cid in community_ids}
    told, teller = schema.story, schema.person
    for s in db.execute(
        select(told.c.id, told.c.community_id, told.c.told_on, told.c.recorded_on, told.c.text,
               told.c.consent, told.c.session_id, teller.c.name.label("teller"))
        .outerjoin(teller, told.c.teller_id == teller.c.id)
        .where(told.c.community_id.in_(list(community_ids))).order_by(told.c.told_on, told.c.id)
    ):
        found[s.community_id].append(StoryFacts(
            story_id=s.id, told_on=s.told_on, recorded_on=s.recorded_on, text=s.text,
            consent=Consent(s.consent), teller=s.teller, at_session=s.session_id is not None))
    return found


def people_names(db: Session, community: Community) -> list[str]:
    """Every name of the CoP's people, past and present, sponsors too: what anonymity takes out."""
    members = db.scalars(select(Membership).options(selectinload(Membership.person))
                         .where(Membership.community_id == community.id))
    return [m.person.name for m in members] + [s.person.name for s in sponsors_of(db, community)]


def name_withheld() -> str:
    return render("stories/name-withheld.txt").strip()


def shareable_stories(db: Session, community: Community, period: Period) -> list[SharedStory]:
    """The stories that surfaced in the period, in the words that may leave the CoP."""
    return shared_stories(period, story_facts(db, community), people_names(db, community), name_withheld())


@dataclass(frozen=True)
class SharedStoryRecord:
    """One story as a stored report carried it: where it went and whether its consent was kept."""

    story_id: int | None  # None: shared before stories carried a consent (nobody was asked)
    consent: str | None  # the story's consent now; None when unknown
    shared_in: str  # "sponsor report: <period>" or "final report: <period>"
    kept: bool


def story_consents(db: Session, community: Community) -> list[SharedStoryRecord]:
    """Every story every stored report of this CoP carried, with its consent and whether it was
    kept (a story archived later goes through the same shareable_stories path)."""
    consents = {s.story_id: s.consent for s in story_facts(db, community)}
    names = people_names(db, community)
    records = []
    reports = db.scalars(select(SponsorReport).where(SponsorReport.community_id == community.id)
                         .order_by(SponsorReport.period_start, SponsorReport.final))
    for row in reports:
        place = f"{'final report' if row.final else 'sponsor report'}: {row.figures.get('period_label')}"
        for raw in row.figures.get("stories") or ():
            records.append(_record_of(raw, consents, names, place))
    return records


def _record_of(raw: dict[str, Any], consents: dict[int, Consent], names: list[str],
               place: str) -> SharedStoryRecord:
    story_id = raw.get("story_id")
    consent = consents.get(story_id) if isinstance(story_id, int) else None
    kept = consent is not None and consent_kept(consent, str(raw.get("text", "")), names, raw.get("teller"))
    return SharedStoryRecord(story_id=story_id if isinstance(story_id, int) else None,
                             consent=consent.value if consent else None, shared_in=place, kept=kept)
