"""The one parameter each lifecycle flow takes (`request`), and what each returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from models.stories import DEFAULT_CONSENT, Consent
from models.vocabulary import SessionFormat


class Request(BaseModel):
    model_config = {"extra": "forbid"}
    today: date | None = Field(default=None, description="The date recorded; None means today.")

    def day(self) -> date:
        return self.today or date.today()


class LaunchRequest(Request):
    slug: str
    actor: str | None = None


class RotateRequest(Request):
    slug: str | None = Field(default=None, description="None: every active CoP whose rotation is due.")
    actor: str | None = None


class HealthRequest(Request):
    slug: str | None = Field(default=None, description="None: every active CoP.")


class CloseRequest(Request):
    slug: str
    actor: str | None = None
    reason: str
    successor: str | None = None
    notice_days: int = 14


class ContinueRequest(Request):
    slug: str
    actor: str | None = None


class ArchiveRequest(Request):
    slug: str | None = Field(default=None, description="None: every closing CoP whose notice has ended.")
    actor: str | None = None
    now: bool = False


class SessionRequest(Request):
    """A session held; the command line sends it here only for a launching CoP's first session."""

    slug: str
    held_on: date
    attended: list[str]
    format: SessionFormat | None = None
    topics: list[str] = []
    methods: list[str] = []
    outputs: list[str] = []
    stories: list[str] = []
    consent: Consent = DEFAULT_CONSENT  # of every story given
    teller: str | None = None
    guests: int = 0
    actor: str | None = None


class PlanRequest(Request):
    """The next session's date (and agenda): every member gets a calendar invite for it."""

    slug: str
    starts_at: datetime
    agenda: list[str] = []
    actor: str | None = None


class ReportRequest(Request):
    slug: str | None = Field(default=None, description="None: every CoP.")


class CommunityResult(BaseModel):
    """What a flow did for one CoP: tasks.usecases.common.Outcome, as the run's result."""

    slug: str
    stage_before: str | None = None
    stage_after: str | None = None
    queued: int = 0  # emails newly queued
    notes: list[str] = []
    planning_lead: str | None = None  # launch, rotate: who leads planning now
    previous_lead: str | None = None  # rotate
    tasks_moved: int = 0  # rotate: open tasks handed over
    no_one_eligible: bool = False  # rotate
    attended: int | None = None  # record-session: how many came
    notice_ends_on: date | None = None  # close
    successor: str | None = None  # close
    archive: str | None = None  # archive: where the bundle is
    attention: list[str] = []  # health
    natural_end: list[str] = []  # health
    figures: dict[str, Any] | None = None  # health (None: in the stored records)
    close_proposed: bool = False  # health
    periods: list[str] = []  # sponsor-report: the periods this run built a report for
    next_period: str | None = None  # sponsor-report
    next_due_on: date | None = None  # sponsor-report


class FlowResult(BaseModel):
    flow: str
    communities: list[CommunityResult] = []
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # still pending: a later run retries them
    delivery_stopped: str | None = None  # why delivery stopped early (transport unreachable)
    summary: str = ""
