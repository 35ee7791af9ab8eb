"""The one parameter each lifecycle flow takes (`request`), and what each returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from models.errors import BadInput
from models.stories import DEFAULT_CONSENT, Consent
from models.vocabulary import SessionFormat
from tasks.clock import checked_day
from tasks.run_tally import RunTally
from tasks.storage.operator import SCHEDULED

ACTOR_HELP = ("The person acting, by their copflow person id (never an email address): required to "
              "act on one CoP; empty for a run over every CoP, which acts as the schedule.")
TEXT_HELP = ("The id of the free text typed for this run (a reason, topics, stories), kept in copflow's "
             "database: the command line fills it in, so Prefect's stores never hold that text.")
OPERATOR_HELP = "Who asked for this run: the command line fills in its OS user; empty from the Prefect UI or API."
CHANNEL_HELP = ("Where the person asked for this run: 'web' from the web app (the audit says so); "
                "empty from the command line.")
MAX_ATTENDED = 10_000  # more than any CoP has: a longer list is refused before anything is read


class Request(BaseModel):
    model_config = {"extra": "forbid"}
    today: date | None = Field(default=None, description="The date recorded; None means today. "
                               "A past date replays; a future one is refused.")
    operator: str | None = Field(default=None, max_length=64, pattern=r"^[^@\s]+$", description=OPERATOR_HELP)
    text_id: int | None = Field(default=None, ge=1, description=TEXT_HELP)
    channel: Literal["web"] | None = Field(default=None, description=CHANNEL_HELP)
    # The fields a person types freely: kept in copflow's database, the run given text_id.
    FREE_TEXT: ClassVar[tuple[str, ...]] = ()

    def day(self) -> date:
        """The day to record under, never in the future (a day's slack for another time zone)."""
        return checked_day(self.today, "today", slack_days=1)

    def operator_name(self, every_cop: bool) -> str | None:
        """Who to record as the operator: the one who asked, or the schedule for a run over every CoP."""
        return self.operator or (SCHEDULED if every_cop else None)

DRAWN_HELP = ("The CoP's version when the person's confirmation form was drawn (the web app): a CoP "
              "changed since is refused, nothing changed. Empty: not checked.")


class ActingRequest(Request):
    """A request some person makes on one CoP (or, with no slug where allowed, the schedule's)."""

    actor_id: int | None = Field(default=None, ge=1, description=ACTOR_HELP)
    drawn_version: int | None = Field(default=None, ge=1, description=DRAWN_HELP)

    @contextmanager
    def asked(self, every_cop: bool) -> Iterator[None]:
        """Inside: changes are recorded with this request's operator and channel, and a CoP
        changed since the person's form was drawn is refused."""
        from tasks.storage.operator import operated_by
        from tasks.usecases.acting import as_drawn

        with operated_by(self.operator_name(every_cop), self.channel), as_drawn(self.drawn_version):
            yield

    def require_actor(self) -> int:
        """Who acts on one CoP: an on-request run without an actor is refused, nothing changed."""
        if self.actor_id is None:
            raise BadInput("actor_id: say who acts (their copflow person id); a run on one CoP "
                           "without an actor is refused, and nothing was changed")
        return self.actor_id

    def as_schedule(self) -> None:
        """A run over every CoP acts as the schedule: naming a person is a mistake, refused."""
        if self.actor_id is not None:
            raise BadInput("actor_id: a run over every CoP acts as the schedule and takes no actor; "
                           "nothing was changed")


class LaunchRequest(ActingRequest):
    slug: str


class RotateRequest(ActingRequest):
    slug: str | None = Field(default=None, description="None: every active CoP whose rotation is due.")


class HealthRequest(Request):
    slug: str | None = Field(default=None, description="None: every active CoP.")


class CloseRequest(ActingRequest):
    FREE_TEXT: ClassVar[tuple[str, ...]] = ("reason",)
    slug: str
    reason: str = Field(description="Why the CoP is closing, in the decider's words (the command line keeps "
                        "it in copflow's database and fills in text_id instead).")
    successor: str | None = Field(default=None, description="The slug of a CoP that carries the work on.")
    notice_days: int = Field(default=14, description="Days of notice before the archive (members may ask "
                             "to continue meanwhile).")


class ContinueRequest(ActingRequest):
    slug: str


class ArchiveRequest(ActingRequest):
    slug: str | None = Field(default=None, description="None: every closing CoP whose notice has ended.")
    now: bool = Field(default=False, description="Archive one CoP before its notice ends (a decider's "
                      "choice; a run over every CoP never does).")


class WithdrawRequest(ActingRequest):
    FREE_TEXT: ClassVar[tuple[str, ...]] = ("reason",)
    slug: str
    reason: str = Field(description="Why it is withdrawn (kept in copflow's database by the command line).")


class StepDownRequest(ActingRequest):
    """A planning lead leaves the CoP (leaving) or opts out of leading; the next follows at once."""

    slug: str
    member: int = Field(description="The member's id in copflow (never their address).")
    leaving: bool


class SessionRequest(ActingRequest):
    """A session held; the command line sends it here only for a launching CoP's first session."""

    FREE_TEXT: ClassVar[tuple[str, ...]] = ("topics", "methods", "outputs", "stories")
    slug: str
    held_on: date
    attended: list[int] = Field(max_length=MAX_ATTENDED,
                                description="Person ids of those who came (never email addresses).")
    format: SessionFormat | None = None
    topics: list[str] = []
    methods: list[str] = []
    outputs: list[str] = []
    stories: list[str] = []
    consent: Consent = DEFAULT_CONSENT  # of every story given
    teller_id: int | None = Field(default=None, ge=1, description="Person id of who told the stories "
                                  "(never an email address).")
    guests: int = 0


class PlanRequest(ActingRequest):
    """The next session's date (and agenda): every member gets a calendar invite for it."""

    FREE_TEXT: ClassVar[tuple[str, ...]] = ("agenda",)
    slug: str
    starts_at: datetime
    agenda: list[str] = []


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

    @property
    def stage_changed(self) -> bool:
        return self.stage_before is not None and self.stage_before != self.stage_after

    @property
    def queued_count(self) -> int:
        return self.queued


class FlowResult(BaseModel):
    flow: str
    # A run for one CoP: its result. A run over every CoP (tally set): every CoP up to
    # tasks.run_tally.LISTED, past that only those needing attention, at most LISTED of them.
    communities: list[CommunityResult] = []
    tally: RunTally | None = None  # a run over every CoP: counts over all of them
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # still pending: a later run retries them
    delivery_stopped: str | None = None  # why delivery stopped early (transport unreachable)
    held: int = 0  # refused for the site's settings: wait for `copflow outbox resend --held`
    for_worker: int = 0  # left queued: this process cannot use the site's transport
    summary: str = ""
