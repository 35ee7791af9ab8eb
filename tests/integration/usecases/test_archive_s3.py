"""Archives in object storage: a CoP archived to S3 (a real S3 API on loopback, moto's server),
its checksums, and erasure rewriting the bundle there, as an operator's store would see them."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.archive.check import check_bundle
from tasks.usecases.archive import archive
from tasks.usecases.planning_tasks import add_task
from tasks.usecases.retention import erase_expired_contacts
from tests.support.lifecycle import CONVENOR, DAY0, active, create, in_db, stage
from tests.support.objectstore import S3Store

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
ARCHIVED = DAY0 + timedelta(days=21)


@pytest.fixture
def in_s3(home: Path, s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    from tasks.storage.settings import get_settings

    monkeypatch.setenv("COPFLOW_ARCHIVE_URL", s3_store.archive_url)
    get_settings.cache_clear()
    return s3_store


def _store() -> object:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)  # what the bucket holds now, not a cached listing


def _archived(slug: str = "aaot") -> str:
    from tasks.usecases.close import close

    active(create())
    in_db(add_task, slug, title="Write up the case", due=None,
          notes="ring Sam on 07700 900123 or mail sam@example.nhs.uk", actor=CONVENOR, today=DAY0 + timedelta(days=11))
    in_db(close, slug, actor=CONVENOR, reason="the work is done", successor=None, notice_days=14,
          today=DAY0 + timedelta(days=20), flow_run_id=None)
    out = in_db(archive, slug, actor=CONVENOR, now=True, today=ARCHIVED, flow_run_id="r1")
    return str(out.archive)


def test_a_cop_archived_to_s3_is_whole_verifiable_and_holds_no_contact_details(in_s3: S3Store) -> None:
    uri = _archived()
    assert uri == f"{in_s3.archive_url}/aaot" and stage("aaot") == "archived"
    fs = _store()
    prefix = f"{in_s3.bucket}/archives"
    assert sorted(fs.find(prefix)) == [f"{prefix}/aaot/{n}" for n in ("SHA256SUMS", "community.json", "summary.md")]  # type: ignore[attr-defined]
    sums = fs.cat_file(f"{prefix}/aaot/SHA256SUMS").decode()  # type: ignore[attr-defined]
    for line in sums.splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(fs.cat_file(f"{prefix}/aaot/{name}")).hexdigest() == digest  # type: ignore[attr-defined]
    data = json.loads(fs.cat_file(f"{prefix}/aaot/community.json"))  # type: ignore[attr-defined]
    assert [t["notes"] for t in data["tasks"]] == ["ring Sam on [number removed] or mail [address removed]"]
    assert not EMAIL.search(json.dumps(data))
    assert check_bundle(uri).ok


def test_a_changed_object_in_the_bucket_fails_its_checksum(in_s3: S3Store) -> None:
    uri = _archived()
    fs = _store()
    fs.pipe_file(f"{in_s3.bucket}/archives/aaot/summary.md", b"# rewritten by someone else\n")  # type: ignore[attr-defined]
    fs.pipe_file(f"{in_s3.bucket}/archives/aaot/extra.txt", b"not part of the bundle\n")  # type: ignore[attr-defined]
    check = check_bundle(uri)
    assert not check.ok
    assert check.problems == ["summary.md does not match its checksum", "extra.txt is not listed in SHA256SUMS"]


def test_erasure_rewrites_the_bundle_in_the_bucket_and_its_checksums_still_hold(in_s3: S3Store) -> None:
    uri = _archived()
    fs = _store()
    key = f"{in_s3.bucket}/archives/aaot/community.json"
    # A bundle written before today's rules: an address and a number in its text.
    data = json.loads(fs.cat_file(key))  # type: ignore[attr-defined]
    data["closing"]["reason"] = "ask lee@example.org or ring 07700 900456"
    fs.pipe_file(key, json.dumps(data).encode())  # type: ignore[attr-defined]

    in_db(erase_expired_contacts, today=ARCHIVED + timedelta(days=90), retention_days=90)

    fs = _store()
    rewritten = json.loads(fs.cat_file(key))  # type: ignore[attr-defined]
    assert rewritten["closing"]["reason"] == "ask [address removed] or ring [number removed]"
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.find(f"{in_s3.bucket}/archives")) == [  # type: ignore[attr-defined]
        "SHA256SUMS", "community.json", "summary.md"]  # no temporary objects left behind
    assert check_bundle(uri).ok, check_bundle(uri).problems
