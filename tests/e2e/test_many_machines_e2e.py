"""More than one machine, end to end: the deployments deployed with a git pull step
(`python -m flows.runtime.deploy --git URL --branch B`), two workers in two directories that hold
no copflow code, each cloning it from a bare git repository for every run, archives in S3 (moto's
server on loopback), copflow's data and Prefect's in PostgreSQL, as more than one machine needs
(so it runs in `make test-postgres` only). Both workers take runs; every run happens once and
every email is sent once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import POOL, PREFECT, REPO, Server, started_server
from tests.e2e.test_server_e2e import SAMPLE, Site
from tests.support.objectstore import S3Store

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only, pytest.mark.timeout(900)]

BRANCH = "e2e-release"
CLOSING, PROPOSED = ["alpha", "beta", "gamma"], ["delta", "epsilon", "zeta"]
SUBMITTED = re.compile(r"submitting flow run '([0-9a-f-]{36})'")
ABORTED = re.compile(r"Aborted submission of flow run '([0-9a-f-]{36})'")  # the other worker had it


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """In the PostgreSQL pass Prefect keeps its state there too, in a database of its own, as at scale."""
    server_only = {}
    if os.environ.get("COPFLOW_TEST_POSTGRES_URL"):
        from sqlalchemy.engine import make_url

        from tests.support.postgres import fresh_database

        url = make_url(fresh_database(os.environ["COPFLOW_TEST_POSTGRES_URL"])).set(drivername="postgresql+asyncpg")
        server_only["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = url.render_as_string(hide_password=False)
    with started_server(tmp_path_factory.mktemp("prefect-server"), server_only) as server:
        yield server


@pytest.fixture(scope="module")
def git_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bare repository holding this checkout's HEAD (committed files only), as a git server would."""
    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("the checkout is not a git repository")
    bare = tmp_path_factory.mktemp("git-server") / "copflow.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    subprocess.run(["git", "-C", str(REPO), "push", "--quiet", str(bare), f"HEAD:refs/heads/{BRANCH}"],
                   check=True, capture_output=True)
    return bare.as_uri()


@pytest.fixture(scope="module")
def deployed_from_git(prefect_server: Server, git_url: str) -> Server:
    pool = prefect_server.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_server.run(sys.executable, "-m", "flows.runtime.deploy", "--git", git_url,
                                "--branch", BRANCH, timeout=300)
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    return prefect_server


def _charter(slug: str) -> str:
    return SAMPLE.read_text().replace("slug: aaot", f"slug: {slug}").replace(
        "name: Alcohol Assertive Outreach", f"name: {slug.title()} Assertive Outreach")


@pytest.fixture
def site(deployed_from_git: Server, tmp_path: Path, s3_store: S3Store,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """Six CoPs: three closing with their notice over, three proposed; set up in this process,
    through the use cases, so the workers' time goes on the runs under test."""
    from tasks.storage.settings import get_settings
    from tests.support.lifecycle import closing, create

    site = Site(deployed_from_git, tmp_path)
    site.env.update(s3_store.env, COPFLOW_ARCHIVE_URL=s3_store.archive_url)
    site.ok("init")
    for name, value in site.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    for slug in CLOSING:
        closing(create(_charter(slug)))
    for slug in PROPOSED:
        create(_charter(slug))
    yield site
    get_settings.cache_clear()


def _api(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    for _ in range(30):  # a busy SQLite-backed server says 503; Prefect's own client retries it too
        response = httpx.request(method, f"{server.api_url}{path}", json=body, timeout=30)
        if response.status_code not in (429, 503):
            break
        time.sleep(1)
    response.raise_for_status()
    return response.json()


def _run(server: Server, deployment: str, request: dict[str, Any]) -> str:
    """A flow run of the deployment, as the UI's run form makes one; its id."""
    found = _api(server, "GET", f"/deployments/name/{deployment}")
    return str(_api(server, "POST", f"/deployments/{found['id']}/create_flow_run",
                    {"parameters": {"request": request}})["id"])


def _finished(server: Server, ids: list[str], deadline: float) -> list[dict[str, Any]]:
    while True:
        runs = _api(server, "POST", "/flow_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
        if all(r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for r in runs) or \
                time.monotonic() > deadline:
            return runs
        time.sleep(1)


def test_two_workers_elsewhere_clone_the_code_and_share_the_runs_each_once(site: Site, tmp_path: Path) -> None:
    server = site.server
    machines = {name: tmp_path / name for name in ("machine-a", "machine-b")}
    day = "2027-02-15"  # the closing CoPs' notice ended on 7 February
    with server.background("machine-a", PREFECT, "worker", "start", "--pool", POOL, "--name", "machine-a",
                           "--limit", "1", env=site.env, cwd=_made(machines["machine-a"])) as a, \
            server.background("machine-b", PREFECT, "worker", "start", "--pool", POOL, "--name", "machine-b",
                              "--limit", "1", env=site.env, cwd=_made(machines["machine-b"])) as b:
        convenor = site.person_id("dana@example.nhs.uk")
        ids = [_run(server, "archive/on-request", {"slug": s, "actor_id": convenor, "today": day}) for s in CLOSING]
        ids += [_run(server, "launch/on-request", {"slug": s, "actor_id": convenor, "today": day}) for s in PROPOSED]
        runs = _finished(server, ids, time.monotonic() + 600)
        assert a.poll() is None and b.poll() is None

    logs = {name: server.log_tail(name, 100_000) for name in machines}
    assert sorted(r["state"]["type"] for r in runs) == ["COMPLETED"] * len(ids), \
        [r["state"] for r in runs if r["state"]["type"] != "COMPLETED"] + [logs["machine-a"][-3000:]]
    # Both workers may reach for a run; the server gives it to one and the other stands down.
    taken = {name: [i for i in SUBMITTED.findall(log) if i not in ABORTED.findall(log)]
             for name, log in logs.items()}
    assert all(taken.values()), taken  # both machines worked
    assert Counter(i for found in taken.values() for i in found) == Counter(ids)  # each run by one, once
    for run in runs:  # and ran once: one Running state in its history
        states = _api(server, "GET", f"/flow_run_states/?flow_run_id={run['id']}")
        assert [s["type"] for s in states].count("RUNNING") == 1

    # Neither machine holds the code: each run cloned the branch first (into the run's own
    # temporary directory, which the process worker removes afterwards).
    for name, folder in machines.items():
        assert list(folder.iterdir()) == [], name
        assert logs[name].count("Deployment step 'git_clone' completed successfully") == len(taken[name])

    assert {s: site.stage(s) for s in CLOSING + PROPOSED} == {**dict.fromkeys(CLOSING, "archived"),
                                                              **dict.fromkeys(PROPOSED, "launching")}
    _archives_in_s3(site, CLOSING)
    _every_email_once(site)


def _made(folder: Path) -> Path:
    folder.mkdir()
    return folder


def _archives_in_s3(site: Site, slugs: list[str]) -> None:
    from tasks.archive.check import check_bundle

    for slug in slugs:
        uri = json.loads(site.ok("community", "show", slug, "--json"))["archive"]
        assert uri == f"{site.env['COPFLOW_ARCHIVE_URL']}/{slug}"
        assert check_bundle(uri).ok, check_bundle(uri).problems


def _every_email_once(site: Site) -> None:
    rows = site.outbox_rows()
    assert rows and len({r.key for r in rows}) == len(rows)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * len(rows)
    files = sorted((site.home / "outbox").glob("*.eml"))
    assert len(files) == len(rows)
    kinds = Counter(r.template for r in rows)
    assert kinds["final-sponsor-report"] == len(CLOSING), kinds  # one sponsor per CoP, told once
