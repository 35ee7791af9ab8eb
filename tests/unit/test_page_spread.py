"""Which way a run over every CoP does its pages: in its own process unless task workers are
configured and a Prefect server is there for them to take pages from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows._pages import spreading
from tasks.storage.paging import pages
from tasks.storage.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_pages_stay_in_process_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPFLOW_PAGE_WORKERS", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert not spreading()


def test_task_workers_are_used_only_through_a_server(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("COPFLOW_PAGE_WORKERS", "2")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert spreading()
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert not spreading()
    assert "task workers need a Prefect server" in caplog.text


def test_the_page_size_setting_makes_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPFLOW_PAGE_SIZE", "4")
    assert [len(p) for p in pages(list(range(10)))] == [4, 4, 2]
    assert [len(p) for p in pages(list(range(10)), 5)] == [5, 5]
