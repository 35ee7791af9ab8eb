"""A real S3 API on loopback (moto's server mode), for archives in object storage.

One server per test process; each test gets a bucket of its own. copflow and s3fs find the
server the way an operator points them at any S3-compatible store: the standard AWS variables
(AWS_ENDPOINT_URL_S3, which botocore honours, and the access key), nothing copflow-specific."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class S3Store:
    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach this store (no profile or instance metadata looked up)."""
        return {"AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true"}

    @property
    def archive_url(self) -> str:
        return f"s3://{self.bucket}/archives"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request in a failure's output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    """A new bucket, with this process's AWS settings pointing at it."""
    import s3fs

    store = S3Store(endpoint=s3_endpoint, bucket=f"copflow-{uuid.uuid4().hex[:12]}")
    for name, value in store.env.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # a filesystem made with other settings is not reused
    s3fs.S3FileSystem().mkdir(store.bucket)
    yield store
    s3fs.S3FileSystem.clear_instance_cache()
