"""How every flow ends: events, delivery, an artifact, and a small result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed

from flows.requests import CommunityResult, FlowResult, Request
from tasks.email_tasks import deliver
from tasks.lifecycle_tasks import announce, summarise
from tasks.run_tally import LISTED, DeliveryCounts, RunTally, needs_attention
from tasks.usecases.common import Outcome

# A run whose emails failed, were held or could not be sent ends in this state: Completed
# (what it changed is committed and stays; the convenor's command reports it as done), under a
# name that stands out in the UI's run list, and with a message saying what went wrong.
WITH_WARNINGS = "Completed with warnings"
FlowEnd = FlowResult | State[Any]
# A run over every CoP delivers as it goes, this many CoPs' emails at a time (a few MB of keys).
DELIVER_EVERY = 5_000


def ended(result: FlowResult) -> FlowEnd:
    """The result, or a Completed state named WITH_WARNINGS carrying it when email went wrong."""
    trouble = [f"{n} {what}" for n, what in ((result.failed, "email(s) failed"),
                                              (result.held, "email(s) held")) if n]
    if result.delivery_stopped and not trouble:
        trouble.append(f"delivery stopped: {result.delivery_stopped}")
    if not trouble:
        return result
    return Completed(data=result, name=WITH_WARNINGS,
                     message="; ".join(trouble) + "; see the run's log and `copflow outbox --failed`")


class RunResults:
    """A run's per-CoP results, made as each page of outcomes comes in: the page's Outcomes (with
    their outbox keys) are let go at once. A run for one CoP keeps its full result; a run over
    every CoP (every_cop) keeps counts (RunTally) and names at most LISTED CoPs: all of them while
    there are no more, then only those needing attention, so its memory does not grow with N."""

    def __init__(self, flow_name: str, *, every_cop: bool = False) -> None:
        self.flow_name = flow_name
        self.communities: list[CommunityResult] = []
        self.tally = RunTally() if every_cop else None
        # Email pages delivered themselves on task workers (flows/_pages.py), and the batches a
        # run over every CoP delivered as it went: counted, not named.
        self.delivered = DeliveryCounts()
        self.with_email: list[str] = []  # CoPs that queued email and were not delivered yet

    def add(self, outcomes: Iterable[Outcome]) -> RunResults:
        for outcome in outcomes:
            announce(self.flow_name, outcome)
            if self.tally is None:
                self.communities.append(community_result(outcome))
                continue
            self.tally.count(outcome)
            self._keep(outcome)
            if outcome.queued:
                self.with_email.append(outcome.slug)
        if self.tally is not None and len(self.with_email) >= DELIVER_EVERY:
            self.deliver_waiting()  # in batches as the run goes: the list of CoPs stays short
        return self

    def _keep(self, outcome: Outcome) -> None:
        assert self.tally is not None
        if self.tally.seen == LISTED + 1:  # past LISTED CoPs: name only those needing attention
            self.communities = [c for c in self.communities if _needs_attention(c)]
        if self.tally.seen <= LISTED:
            self.communities.append(community_result(outcome))
        elif needs_attention(outcome):
            if len(self.communities) < LISTED:
                self.communities.append(community_result(outcome))
            else:
                self.tally.not_listed += 1

    def deliver_waiting(self) -> None:
        for start in range(0, len(self.with_email), DELIVER_EVERY):
            self.delivered.add(deliver(self.with_email[start:start + DELIVER_EVERY], "all"))
        self.with_email = []


def _needs_attention(c: CommunityResult) -> bool:
    return bool(c.attention or c.natural_end or c.close_proposed or c.no_one_eligible)


def finish(flow_name: str, label: str, outcomes: list[Outcome] | RunResults, *,
           deliver_for: Sequence[str] | None = None, artifact: bool = True) -> FlowEnd:
    """Announce, deliver, summarise. Delivery covers `deliver_for` (default: the CoPs that
    queued email in this run), each CoP's own rows only, with any a crashed run left."""
    run = outcomes if isinstance(outcomes, RunResults) else RunResults(flow_name).add(outcomes)
    results = run.communities
    delivered = run.delivered
    if run.tally is not None:  # a run over every CoP: in batches, counted
        if deliver_for is not None:
            run.with_email = list(deliver_for)
        run.deliver_waiting()
    else:
        with_email = list(deliver_for) if deliver_for is not None else [c.slug for c in results if c.queued]
        if with_email:  # spread pages sent their own: this finds only what they left
            delivered.add(deliver(with_email, label if len(with_email) > 1 else with_email[0]))
    return ended(FlowResult(
        flow=flow_name, communities=results, tally=run.tally,
        sent=delivered.sent, failed=delivered.failed, deferred=delivered.deferred,
        delivery_stopped=delivered.stopped, held=delivered.held, for_worker=delivered.for_worker,
        summary=summarise(flow_name, label, results, delivered, artifact=artifact, tally=run.tally),
    ))


# Every field of a CommunityResult is given, so one shared set says so for all of them: pydantic
# would keep a set of 20 names per CoP (2 KB; 20 MB in a run over 10,000 CoPs). Adding a name
# on assignment (the demo sets figures) changes nothing, as every name is in it already.
ALL_GIVEN = set(CommunityResult.model_fields)


def community_result(o: Outcome) -> CommunityResult:
    result = CommunityResult(
        slug=o.slug, stage_before=o.stage_before, stage_after=o.stage_after, queued=len(o.queued),
        notes=o.notes, planning_lead=o.planning_lead, previous_lead=o.previous_lead,
        tasks_moved=o.tasks_moved, no_one_eligible=o.no_one_eligible, attended=o.attended,
        notice_ends_on=o.notice_ends_on, successor=o.successor, archive=o.archive,
        attention=o.attention, natural_end=o.natural_end, figures=o.figures,
        close_proposed=o.close_proposed, periods=o.periods, next_period=o.next_period,
        next_due_on=o.next_due_on,
    )
    object.__setattr__(result, "__pydantic_fields_set__", ALL_GIVEN)
    return result


RequestT = TypeVar("RequestT", bound=Request)


def with_text(request: RequestT) -> RequestT:
    """The request with the free text its run was given by id (tasks/storage/flow_text.py)."""
    if request.text_id is None:
        return request
    from tasks.storage import flow_text

    kept = flow_text.read(request.text_id)
    return request.model_copy(update={k: v for k, v in kept.items() if k in type(request).FREE_TEXT})


def run_name(flow_name: str) -> Callable[[], str]:
    """Name a run from its request: 'rotate: aaot', or 'rotate: all' for a scheduled run."""

    def name() -> str:
        request = flow_run.parameters.get("request")
        slug = request.get("slug") if isinstance(request, dict) else getattr(request, "slug", None)
        return f"{flow_name}: {slug or 'all'}"

    return name
