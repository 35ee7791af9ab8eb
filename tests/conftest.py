"""Shared fixtures. Fast tests need none of these; flow tests ask for `prefect_harness`.

- `home`: a fresh COPFLOW_HOME (and database) for one test, set in this process's env.
- `cli`: run the real `copflow` command in a subprocess against that home.
- `prefect_harness`: Prefect's test harness, started once per test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# The email fixtures (real SMTP and HTTP servers on loopback) serve several layers' tests.
pytest_plugins = ["tests.support.mail", "tests.support.objectstore"]
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO = Path(__file__).resolve().parent.parent

# Tests replay 2027 and later whatever the machine's date: every process they start (through
# tests/support/clock/sitecustomize.py) and this one may record days up to this one, no later.
TESTS_LATEST_DAY = "2030-12-31"
os.environ["TESTS_COPFLOW_LATEST_DAY"] = TESTS_LATEST_DAY
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO / "tests" / "support" / "clock"), os.environ.get("PYTHONPATH")) if p)


def _extend_clock() -> None:
    from datetime import date

    import tasks.clock

    tasks.clock.extend_to(date.fromisoformat(TESTS_LATEST_DAY))


_extend_clock()

# Commands that run a flow with no PREFECT_API_URL start copflow's local Prefect server; this
# process's own PREFECT_HOME keeps it out of ~/.prefect, and the fixtures below stop every one.
from tests.support.local_servers import clean_session_home, session_prefect_home, stop_servers_under  # noqa: E402

SESSION_PREFECT_HOME = session_prefect_home()


def pytest_sessionfinish(session: pytest.Session) -> None:
    clean_session_home(SESSION_PREFECT_HOME)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Two workers or machines sharing copflow's data is a PostgreSQL set-up (DESIGN section 5):
    those tests run once, in make test-postgres, and say so when skipped on SQLite."""
    if os.environ.get("COPFLOW_TEST_POSTGRES_URL"):
        return
    skip = pytest.mark.skip(reason="two workers share copflow's data on PostgreSQL: make test-postgres runs it")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def no_local_server_left_in_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end, any local server a module- or session-wide folder's commands started."""
    yield
    stop_servers_under(tmp_path_factory.getbasetemp(), depth=4)


@pytest.fixture(autouse=True)
def no_local_server_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test with its own folder, stop any local Prefect server its commands started there
    (a test's PREFECT_HOME lives in its tmp_path)."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None:
        stop_servers_under(root)


@pytest.fixture(autouse=True)
def environment_as_it_was() -> Iterator[None]:
    """Code run in the test process may set environment variables for its own process (the demo
    points copflow at its folder and quiets Prefect's console log): put them back after each
    test, so they reach no later test nor the servers and workers it starts."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@pytest.fixture(autouse=True)
def events_to_the_harness(request: pytest.FixtureRequest) -> None:
    """Prefect keeps one events worker per process for any running server, bound to the API it
    first sent to: an earlier test's server (now stopped) would take this test's events. Before a
    test on the harness, let any such worker go, so the next one is made for the harness."""
    if "prefect_harness" in request.fixturenames:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=5, at_exit=False)


COPFLOW = str(Path(sys.executable).parent / "copflow")
SAMPLE_CHARTER = REPO / "examples" / "aaot-charter.yaml"


@pytest.fixture(scope="session")
def local_prefect_server() -> str:
    """This test process's local Prefect server, started once (not by whichever test runs first):
    commands that run flows with no PREFECT_API_URL and no PREFECT_HOME of their own share it."""
    done = subprocess.run([COPFLOW, "server", "start"], env={**os.environ, "PREFECT_API_URL": ""},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(" at ", 1)[1].split()[0]


def _fresh_database_url(home: Path) -> str | None:
    """None on SQLite (the home's own file); on PostgreSQL a new, empty database per test."""
    base = os.environ.get("COPFLOW_TEST_POSTGRES_URL")
    if not base:
        return None
    from tests.support.postgres import fresh_database

    return fresh_database(base)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """copflow's schema made once in this test process; each `home` starts from a copy of it."""
    from tests.support.databases import migrated_template

    return migrated_template(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_database: str) -> Iterator[Path]:
    from tasks.storage.db import upgrade
    from tasks.storage.settings import get_settings
    from tests.support.databases import database_from

    home = tmp_path / "copflow-home"
    home.mkdir(mode=0o700)  # on PostgreSQL no database file would create it
    monkeypatch.setenv("COPFLOW_HOME", str(home))
    url = database_from(migrated_database, home)
    if url:
        monkeypatch.setenv("COPFLOW_DATABASE_URL", url)
    else:
        monkeypatch.delenv("COPFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    upgrade()  # at head already: a look at the revision, as every command takes
    yield home
    get_settings.cache_clear()


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(home: Path) -> CliRunner:
    """Run `copflow ARGS...` as a user would; returns the completed process."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([COPFLOW, *args], capture_output=True, text=True, env=full_env,
                              input=input, timeout=timeout, cwd=home.parent)

    return run


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # No heartbeats: these runs end within the test, and stopping a run's heartbeat thread
    # costs up to a second (as for the command line's own runs, flows/runtime/dispatch.py).
    with prefect_test_harness(server_startup_timeout=120), \
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


# The drills' summary line. Tests may run in several processes (pytest-xdist): each test's
# counts travel on its report, and this process (the one that prints) adds them up.
_DRILL_TOTALS: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == "drills":
            _DRILL_TOTALS.update(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _DRILL_TOTALS:
        terminalreporter.write_line(
            "drills: " + ", ".join(f"{k}: {v}" for k, v in sorted(_DRILL_TOTALS.items())))
