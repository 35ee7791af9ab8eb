"""`copflow serve` reads the same prefect.yaml that operations staff deploy; a bad file is
one clear line and exit 2, before anything is served."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.any_database  # the prefect.yaml is refused before any database is opened


def test_serve_refuses_a_missing_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("serve", "--prefect-file", str(tmp_path / "nowhere.yaml"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"copflow: {tmp_path / 'nowhere.yaml'}: cannot read it (No such file or directory)"]


def test_serve_refuses_a_schedule_it_cannot_keep(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    odd = tmp_path / "prefect.yaml"
    odd.write_text("deployments:\n  - name: daily\n    entrypoint: flows/health.py:health\n"
                   "    schedules: [{interval: 3600}]\n")
    done = cli("serve", "--prefect-file", str(odd))
    assert done.returncode == 2
    assert "cron" in done.stderr and len(done.stderr.strip().splitlines()) == 1
