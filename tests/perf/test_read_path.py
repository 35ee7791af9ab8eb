"""The read-only commands stay fast: they load neither Prefect nor the settings machinery.

A user notices a half-second pause on `community show`; most of it is module loading, so the
guard here is on what gets loaded (times are measured by `make bench`, never asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("prefect", "pydantic_settings", "alembic", "jinja2", "rich", "email_validator", "httpx")

PROBE = """
import json, sys
from cli.app import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


def _loaded_by(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["loaded"]


@pytest.mark.parametrize("args", [
    ("community", "show", "aaot"),
    ("community", "show", "aaot", "--json"),
    ("community", "list"),
    ("audit", "aaot"),
])
def test_read_only_commands_load_no_heavy_modules(cli, args: tuple[str, ...]) -> None:
    from tests.conftest import SAMPLE_CHARTER

    assert cli("community", "create", str(SAMPLE_CHARTER)).returncode == 0
    assert _loaded_by(*args) == []


def test_the_database_url_is_read_the_same_way_as_the_settings(home: Path, monkeypatch) -> None:
    from tasks.paths import database_url
    from tasks.settings import Settings

    assert database_url() == Settings().db_url
    monkeypatch.setenv("COPFLOW_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert database_url() == Settings().db_url == "sqlite:////tmp/elsewhere.db"
    monkeypatch.delenv("COPFLOW_DATABASE_URL")
    monkeypatch.delenv("COPFLOW_HOME")
    monkeypatch.setenv("copflow_home", str(home / "lower"))
    assert database_url() == Settings().db_url
    assert database_url().endswith("/lower/copflow.db")
