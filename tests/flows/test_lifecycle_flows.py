"""The lifecycle flows under Prefect's test harness: a CoP's whole life, and retries."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from flows.archive import archive
from flows.close import close
from flows.continue_ import continue_community
from flows.health import health
from flows.launch import launch
from flows.requests import (
    ArchiveRequest,
    CloseRequest,
    ContinueRequest,
    HealthRequest,
    LaunchRequest,
    RotateRequest,
)
from flows.rotate import rotate
from models.db.tables import AuditEntry
from models.errors import Refused
from tasks.usecases.membership import volunteer
from tests.support.lifecycle import (
    CONVENOR,
    DAY0,
    EVERYONE,
    SPONSOR,
    counts,
    create,
    hold_session,
    in_db,
    outbox,
    pid,
    stage,
)

pytestmark = pytest.mark.flows


def flow_runs(slug: str) -> dict[str, str]:
    """Flow run id -> run name, for every flow run named in this CoP's audit trail."""
    from prefect.client.orchestration import get_client

    ids = in_db(lambda db: set(db.scalars(select(AuditEntry.flow_run_id)
                                          .where(AuditEntry.flow_run_id.is_not(None)))))
    with get_client(sync_client=True) as client:
        return {i: client.read_flow_run(i).name for i in ids}


def artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      sort=ArtifactSort.CREATED_DESC, limit=1)
    return str(found[0].data) if found else ""


def test_the_whole_life_of_a_cop(home: Path, emitted: Any) -> None:
    slug = create()
    result = launch(request=LaunchRequest(slug=slug, actor_id=pid(CONVENOR), today=DAY0))
    assert stage(slug) == "launching" and result.sent == 4
    assert len(list((home / "outbox").glob("invite_*.eml"))) == 3  # the members; not the convenor

    day = DAY0
    for _ in range(3):  # the first session makes it active; after 3, rotation is due
        day += timedelta(days=28)
        hold_session(slug, day, EVERYONE)
    assert stage(slug) == "active"
    in_db(volunteer, slug, "lee@example.org", opt_out=False, actor="lee@example.org", today=day)
    scheduled = rotate(request=RotateRequest(today=day))
    assert [c.planning_lead for c in scheduled.communities] == ["Lee Hart"]
    assert len(outbox("handover-pack")) == 2

    checked = health(request=HealthRequest(today=day + timedelta(days=1)))
    assert [c.slug for c in checked.communities] == [slug]

    day += timedelta(days=5)
    close(request=CloseRequest(slug=slug, actor_id=pid(CONVENOR), reason="priorities moved on", today=day))
    assert stage(slug) == "closing"
    continue_community(request=ContinueRequest(slug=slug, actor_id=pid("sam@example.nhs.uk"), today=day))
    assert stage(slug) == "active"
    day += timedelta(days=2)
    close(request=CloseRequest(slug=slug, actor_id=pid(CONVENOR), reason="the work is done", notice_days=7,
                               today=day))
    assert len(outbox("closing-notice")) == 8  # both closes gave notice and thanks

    assert archive(request=ArchiveRequest(today=day + timedelta(days=6))).communities == []
    done = archive(request=ArchiveRequest(today=day + timedelta(days=7)))  # the schedule, notice over
    assert [c.stage_after for c in done.communities] == ["archived"]
    assert (home / "archives" / slug / "SHA256SUMS").exists()
    assert [m.to_email for m in outbox("final-sponsor-report")] == [SPONSOR]
    assert all(m.status == "sent" for m in outbox())

    names = sorted(flow_runs(slug).values())
    assert names == ["archive: all", "close: aaot", "close: aaot", "continue: aaot",
                     "launch: aaot", "rotate: all"]
    changes = [(e.payload["from"], e.payload["to"]) for e in emitted.read()
               if e.event == "copflow.community.stage-changed"
               and e.resource.id == f"copflow.community.{slug}"]
    assert changes == [("proposed", "launching"), ("active", "closing"), ("closing", "active"),
                       ("active", "closing"), ("closing", "archived")]
    assert "launching" in artifact("launch-aaot") and "archived" in artifact("archive-all")
    assert "@" not in artifact("launch-aaot")


def test_a_second_run_with_the_same_inputs_queues_and_records_nothing_more(home: Path, prefect_harness: None) -> None:
    slug = create()
    request = LaunchRequest(slug=slug, actor_id=pid(CONVENOR), today=DAY0)
    launch(request=request)
    after_first = counts()
    with pytest.raises(Refused, match="already launching"):
        launch(request=request)
    assert counts() == after_first

    day = DAY0 + timedelta(days=30)
    hold_session(slug, day, EVERYONE)
    for make in (lambda: rotate(request=RotateRequest(slug=slug, actor_id=pid(CONVENOR), today=day)),
                 lambda: health(request=HealthRequest(slug=slug, today=day))):
        make()
        once = counts()
        make()
        assert counts() == once


def test_a_flow_refuses_a_sponsor_and_changes_nothing(home: Path, prefect_harness: None) -> None:
    slug = create()
    before = counts()
    with pytest.raises(Refused, match="sponsors receive reports and never decide"):
        launch(request=LaunchRequest(slug=slug, actor_id=pid(SPONSOR), today=DAY0))
    assert counts() == before and stage(slug) == "proposed"


def test_the_first_session_makes_a_cop_active_through_the_stage_change_path(
        home: Path, emitted: Any) -> None:
    from flows.requests import SessionRequest
    from flows.session import record_session

    slug = create()
    launch(request=LaunchRequest(slug=slug, actor_id=pid(CONVENOR), today=DAY0))
    day = DAY0 + timedelta(days=10)
    result = record_session(request=SessionRequest(slug=slug, held_on=day, attended=[pid(e) for e in EVERYONE],
                                                   topics=["a case"], actor_id=pid(CONVENOR), today=day))
    assert stage(slug) == "active"
    assert [(c.stage_before, c.stage_after, c.attended) for c in result.communities] == [
        ("launching", "active", 4)]
    change = in_db(lambda db: db.scalars(select(AuditEntry).where(
        AuditEntry.action == "stage.changed").order_by(AuditEntry.id.desc()).limit(1)).one())
    assert (change.before, change.after, change.why) == (
        {"stage": "launching"}, {"stage": "active"}, "first session held")
    assert flow_runs(slug)[change.flow_run_id] == "record-session: aaot"
    changes = [(e.payload["from"], e.payload["to"]) for e in emitted.read()
               if e.event == "copflow.community.stage-changed"]
    assert changes == [("proposed", "launching"), ("launching", "active")]


def test_each_task_run_is_named_for_what_it_does(home: Path, prefect_harness: None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    slug = create()
    state = launch(request=LaunchRequest(slug=slug, actor_id=pid(CONVENOR), today=DAY0), return_state=True)
    result = state.result()
    assert result.communities[0].planning_lead == "Sam Okafor" and result.sent == 4
    wanted, names = [f"deliver: {slug}", f"launch: {slug}"], []
    # Task runs reach the API as events, shipped in the background: they may land just after the flow ends.
    for _ in range(60):
        with get_client(sync_client=True) as client:
            names = sorted(r.name for r in client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))))
        if names == wanted:
            break
        time.sleep(0.5)
    assert names == wanted


def test_a_database_hiccup_is_retried_once_and_queues_nothing_twice(
        home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    import tasks.usecases.launch as launching

    real, tries = launching.launch, []

    def locked_once(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)  # the work is done, then the commit fails: rolled back
        tries.append(outcome.slug)
        if len(tries) == 1:
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        return outcome

    monkeypatch.setattr(launching, "launch", locked_once)
    slug = create()
    result = launch(request=LaunchRequest(slug=slug, actor_id=pid(CONVENOR), today=DAY0))
    assert tries == [slug, slug] and stage(slug) == "launching"
    assert result.sent == 4 and len(outbox("member-invitation")) == 3
