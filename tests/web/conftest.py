"""Fixtures for the web app: a home with the sample CoP launched, and a client on the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import lifecycle as cop
from tests.web import support


@pytest.fixture
def launched_home(home: Path) -> Path:
    cop.create()
    cop.launched()
    return home


@pytest.fixture
def web(launched_home: Path) -> Iterator[TestClient]:
    with support.client() as c:
        yield c
