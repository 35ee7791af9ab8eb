"""Flow-test fixtures: the Prefect test harness plus a record of the events flows emit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, prefect_harness: None) -> Iterator[list[Any]]:
    """Every Prefect event emitted during the test (read after the flow returns)."""
    from prefect.events.clients import AssertingEventsClient
    from prefect.events.worker import EventsWorker

    AssertingEventsClient.reset()
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    captured: list[Any] = []

    class Events(list):  # type: ignore[type-arg]
        def read(self) -> list[Any]:
            worker.wait_until_empty()
            for client in AssertingEventsClient.all:
                captured.extend(client.pop_events())
            return captured

    yield Events()  # type: ignore[misc]
    worker.drain()
