"""How every lifecycle flow ends: events, delivery, an artifact, and a small result."""

from __future__ import annotations

from collections.abc import Callable

from prefect.runtime import flow_run

from flows.requests import CommunityResult, FlowResult
from tasks.lifecycle_tasks import announce, deliver, summarise
from tasks.usecases.common import Outcome


def finish(flow_name: str, label: str, outcomes: list[Outcome]) -> FlowResult:
    result = FlowResult(flow=flow_name)
    for outcome in outcomes:
        announce(flow_name, outcome)
    delivered: dict[str, list[str]] = {"sent": [], "failed": [], "deferred": []}
    with_email = [o.slug for o in outcomes if o.queued]
    if with_email:
        delivered = deliver(with_email, label if len(with_email) > 1 else with_email[0])
    result.sent, result.failed, result.deferred = (len(delivered[k]) for k in ("sent", "failed", "deferred"))
    result.communities = [CommunityResult(slug=o.slug, stage_before=o.stage_before,
                                          stage_after=o.stage_after, queued=len(o.queued),
                                          notes=o.notes, detail=o.detail) for o in outcomes]
    result.summary = summarise(flow_name, label, outcomes, delivered)
    return result


def run_name(flow_name: str) -> Callable[[], str]:
    """Name a run from its request: 'rotate: aaot', or 'rotate: all' for a scheduled run."""

    def name() -> str:
        request = flow_run.parameters.get("request")
        slug = request.get("slug") if isinstance(request, dict) else getattr(request, "slug", None)
        return f"{flow_name}: {slug or 'all'}"

    return name
