"""An archive store whose library is not installed (copflow installed without its `s3` or `azure`
extra): `copflow doctor` and `copflow archive` say in one line what to install, and the CoP stays
as it was. The library is hidden from the command as a machine without it would be: its import fails."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.support.lifecycle import CONVENOR, DAY0, closing, counts, create, stage

NO_SERVER = {"PREFECT_API_URL": ""}
STORES = [("s3://trust-archives/copflow", "s3fs", "pip install 'copflow[s3]'"),
          ("az://copflow-archives/bundles", "adlfs", "pip install 'copflow[azure]'")]


def _without(tmp_path: Path, library: str) -> dict[str, str]:
    """An environment in which `import library` fails, as on a machine without it."""
    shim = tmp_path / "missing-libraries"
    shim.mkdir(exist_ok=True)
    (shim / f"{library}.py").write_text(f"raise ImportError(\"No module named '{library}'\")\n")
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH")) if p)}


@pytest.mark.parametrize(("url", "library", "install"), STORES, ids=["s3", "azure"])
def test_doctor_names_the_extra_a_store_needs(cli: CliRunner, tmp_path: Path, url: str, library: str,
                                              install: str) -> None:
    done = cli("doctor", env={**NO_SERVER, **_without(tmp_path, library), "COPFLOW_ARCHIVE_URL": url})
    assert done.returncode == 1
    protocol = url.split("://")[0]
    assert (f"FAIL archive: COPFLOW_ARCHIVE_URL: {protocol}:// archives need {library}, which is not "
            f"installed here; run: {install}") in done.stderr.splitlines()


def test_doctor_says_which_library_a_store_uses(cli: CliRunner) -> None:
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_ARCHIVE_URL": "s3://trust-archives/copflow"})
    assert "ok   archive: s3://trust-archives/copflow (s3fs installed)" in done.stdout.splitlines()


@pytest.mark.parametrize(("url", "library", "install"), STORES, ids=["s3", "azure"])
def test_archive_without_the_stores_library_changes_nothing(cli: CliRunner, tmp_path: Path, url: str,
                                                            library: str, install: str) -> None:
    closing(create())
    before = counts()
    env = {**NO_SERVER, **_without(tmp_path, library), "COPFLOW_ARCHIVE_URL": url}
    for args in (["aaot", "--as", CONVENOR, "--now"], ["--all"]):
        done = cli("archive", *args, "--today", str(DAY0 + timedelta(days=40)), env=env)
        assert done.returncode == 2, done.stderr
        protocol = url.split("://")[0]
        assert done.stderr.splitlines() == [f"copflow: COPFLOW_ARCHIVE_URL: {protocol}:// archives need "
                                            f"{library}, which is not installed here; run: {install}"]
    assert stage("aaot") == "closing" and counts() == before


def test_the_archive_flow_on_a_worker_without_the_library_fails_at_once_and_changes_nothing(
        home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from flows.archive import archive
    from flows.requests import ArchiveRequest
    from models.errors import BadInput
    from tasks.storage.settings import get_settings

    closing(create())
    before = counts()
    monkeypatch.setenv("COPFLOW_ARCHIVE_URL", "s3://trust-archives/copflow")
    from fsspec.registry import _registry

    monkeypatch.setitem(sys.modules, "s3fs", None)  # `import s3fs` fails, as where it is not installed
    monkeypatch.delitem(_registry, "s3", raising=False)  # nor is it known from an earlier test
    get_settings.cache_clear()
    with pytest.raises(BadInput, match=r"need s3fs, which is not installed here; run: pip install 'copflow\[s3\]'"):
        archive(request=ArchiveRequest(today=DAY0 + timedelta(days=40)))
    assert stage("aaot") == "closing" and counts() == before
