"""The one parameter each lifecycle flow takes (`request`), and what each returns."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

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
    story: str | None = None
    actor: str | None = None


class CommunityResult(BaseModel):
    slug: str
    stage_before: str | None = None
    stage_after: str | None = None
    queued: int = 0
    notes: list[str] = []
    detail: dict[str, Any] = {}


class FlowResult(BaseModel):
    flow: str
    communities: list[CommunityResult] = []
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    summary: str = ""


# The sponsor-report flow. Results live here, not in the flow's own file: a worker loads that
# file under another module name, and the command line must be able to read the result back.
class ReportRequest(BaseModel):
    slug: str | None = None  # None: every CoP
    today: date | None = None


class CommunityReports(BaseModel):
    slug: str
    stage: str
    periods: list[str] = []  # reports built by this run
    queued: int = 0
    next_period: str | None = None
    next_due_on: date | None = None


class ReportSummary(BaseModel):
    today: date
    communities: list[CommunityReports]
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    delivery_stopped: str | None = None
