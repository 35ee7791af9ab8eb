"""How every flow ends: events, delivery, an artifact, and a small result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed

from flows.requests import CommunityResult, FlowResult, Request
from tasks.email.delivery import DeliveryReport
from tasks.email_tasks import deliver
from tasks.lifecycle_tasks import announce, summarise
from tasks.usecases.common import Outcome

# A run whose emails failed, were held or could not be sent ends in this state: Completed
# (what it changed is committed and stays; the convenor's command reports it as done), under a
# name that stands out in the UI's run list, and with a message saying what went wrong.
WITH_WARNINGS = "Completed with warnings"
FlowEnd = FlowResult | State[Any]
SENT_ON_PAGE = "(on a page)"  # an email a spread page delivered: counted, never named


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
    their outbox keys) are let go at once, so a run over 10,000 CoPs holds only the small results."""

    def __init__(self, flow_name: str) -> None:
        self.flow_name = flow_name
        self.communities: list[CommunityResult] = []
        # Email pages delivered themselves on task workers (flows/_pages.py): counted, not named.
        self.delivered = DeliveryReport()

    def add(self, outcomes: Iterable[Outcome]) -> RunResults:
        for outcome in outcomes:
            announce(self.flow_name, outcome)
            self.communities.append(community_result(outcome))
        return self

    def page_delivered(self, *, sent: int, failed: int, deferred: int, held: int, for_worker: int,
                       stopped: str | None) -> None:
        d = self.delivered  # one shared string per email: a list of references, not of keys
        d.sent += [SENT_ON_PAGE] * sent
        d.failed += [SENT_ON_PAGE] * failed
        d.deferred += [SENT_ON_PAGE] * deferred
        d.held += [SENT_ON_PAGE] * held
        d.for_worker += for_worker
        d.stopped = d.stopped or stopped


def finish(flow_name: str, label: str, outcomes: list[Outcome] | RunResults, *,
           deliver_for: Sequence[str] | None = None, artifact: bool = True) -> FlowEnd:
    """Announce, deliver, summarise. Delivery covers `deliver_for` (default: the CoPs that
    queued email in this run), each CoP's own rows only, with any a crashed run left."""
    run = outcomes if isinstance(outcomes, RunResults) else RunResults(flow_name).add(outcomes)
    results = run.communities
    with_email = list(deliver_for) if deliver_for is not None else [c.slug for c in results if c.queued]
    delivered = run.delivered
    if with_email:  # spread pages sent their own: this finds only what they left
        delivered = both(delivered, deliver(with_email, label if len(with_email) > 1 else with_email[0]))
    return ended(FlowResult(
        flow=flow_name, communities=results,
        sent=len(delivered.sent), failed=len(delivered.failed), deferred=len(delivered.deferred),
        delivery_stopped=delivered.stopped, held=len(delivered.held), for_worker=delivered.for_worker,
        summary=summarise(flow_name, label, results, delivered, artifact=artifact),
    ))


def both(first: DeliveryReport, second: DeliveryReport) -> DeliveryReport:
    if not (first.sent or first.failed or first.deferred or first.held or first.for_worker or first.stopped):
        return second
    return DeliveryReport(
        sent=first.sent + second.sent, failed=first.failed + second.failed,
        deferred=first.deferred + second.deferred, busy=first.busy + second.busy,
        stopped=first.stopped or second.stopped, held=first.held + second.held,
        problems=first.problems + second.problems, for_worker=first.for_worker + second.for_worker)


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
