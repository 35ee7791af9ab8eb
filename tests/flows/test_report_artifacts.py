"""What a sponsor-report run leaves for operations in Prefect: one table per page of CoPs in a
run over every CoP, and each report's full, keyed copy in a run for one CoP."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from flows.sponsor_report import ReportRequest, sponsor_report
from models.stories import Consent
from tasks.storage.paging import pages
from tests.support.mail import EVERYONE, SPONSORS, make_active_cop, record
from tests.support.markdown import as_shown

pytestmark = pytest.mark.flows

DAY = date(2027, 4, 1)
HOSTILE = "Fish & <b>chips</b> CoP"


def _cops() -> None:
    """cop-a and cop-b have a first quarter to report; cop-c launched today, so nothing is due."""
    for slug, name in (("cop-a", HOSTILE), ("cop-b", "Second CoP")):
        make_active_cop(date(2027, 1, 5), date(2027, 1, 10), slug=slug, name=name)
        record(slug, date(2027, 1, 14), EVERYONE[:4], topics=["<script>alert(1)</script> & cases"],
               stories=["A story of change"], consent=Consent.named)
    record("cop-b", date(2027, 2, 11), EVERYONE)
    make_active_cop(DAY, DAY, slug="cop-c", name="Third CoP")


def _run(request: ReportRequest) -> list[Any]:
    """Run the flow; return the artifacts its run left (oldest first)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    state = sponsor_report(request=request, return_state=True)
    assert state.is_completed(), state
    run_id: UUID | None = state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    return sorted(found, key=lambda a: a.created)


def test_a_run_over_every_cop_leaves_one_table_per_page(prefect_harness, home, monkeypatch) -> None:
    monkeypatch.setattr("flows.sponsor_report.pages", lambda items: pages(items, 2))
    _cops()
    artifacts = _run(ReportRequest(today=DAY))
    # Pages [cop-a, cop-b] and [cop-c]: one artifact each, unkeyed, in the page's task run.
    assert len(artifacts) == 2
    assert all(a.key is None and a.type == "markdown" and a.task_run_id for a in artifacts)
    first, second = (as_shown(str(a.data)) for a in artifacts)
    assert "cop-a to cop-b" in first and "2 report(s) built for 2 CoP(s)" in first
    # slug, period, emails queued, sessions, attendances, different people, typical, members, stories
    assert "| cop-a | January to March 2027 | 2 | 1 | 4 | 4 | 4.0 | 5 | 1 |" in first
    assert "| cop-b | January to March 2027 | 2 | 2 | 9 | 5 | 4.5 | 5 | 1 |" in first
    assert "cop-c" not in first and "No report was due for the 1 CoP(s) in this page." in second
    assert "Sponsor reports: cop-c\n" in second
    text = first + second + "".join(str(a.description) for a in artifacts)
    assert "@" not in text and "Priya" not in text  # figures only: no addresses, no names
    assert "script" not in text and "chips" not in text  # nor user text to escape
    # Again the same day: nothing new is built, and the tables say so.
    again = _run(ReportRequest(today=DAY))
    assert [a.key for a in again] == [None, None]
    assert all("No report was due" in str(a.data) for a in again)


def test_a_run_for_one_cop_keeps_its_keyed_full_copy(prefect_harness, home) -> None:
    _cops()
    artifacts = _run(ReportRequest(slug="cop-a", today=DAY))
    assert [a.key for a in artifacts] == ["sponsor-report-cop-a-2027-01-01"]  # no page table
    copy = str(artifacts[0].data)
    assert "January to March 2027" in copy and "| Sessions | 1 |" in copy
    assert not any(s in copy for s in SPONSORS) and "@" not in copy
    # Names and topics are escaped once: a markdown renderer shows them as typed, runs no tag.
    assert "<b>" not in copy and "<script>" not in copy
    assert HOSTILE in as_shown(copy)
    assert "<script>alert(1)</script> & cases" in as_shown(copy)
    assert "&amp;amp;" not in copy
