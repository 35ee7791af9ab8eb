"""Settings from the environment (pydantic-settings). No secret has a default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.errors import BadInput
from tasks.storage.paths import DEFAULT_HOME, sqlite_url

# Archive stores copflow can keep a bundle in: a folder, or an object store through fsspec.
# "memory://" and the like would accept a bundle and keep it nowhere.
ARCHIVE_SCHEMES = frozenset({"file", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "sftp"})
MAX_RETENTION_DAYS = 36_500  # a century: well past any policy, far below where dates overflow


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COPFLOW_", extra="ignore")

    home: Path = DEFAULT_HOME
    database_url: str | None = None
    archive_url: str | None = Field(default=None, description="fsspec URL; default HOME/archives")
    # Days after archive before contact details go.
    retention_days: int = Field(default=90, ge=0, le=MAX_RETENTION_DAYS)

    email_transport: Literal["file", "smtp", "notify"] = "file"
    email_from: str = "copflow@localhost"
    email_from_name: str = "copflow"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Or the name of a Prefect Secret block holding it (read by the delivery task).
    smtp_password_block: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    smtp_ca_file: str | None = None
    notify_api_key: SecretStr | None = None
    notify_api_key_block: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_template_id: str | None = None
    send_attempts: int = Field(default=5, ge=1, le=100)
    send_backoff_seconds: float = Field(default=2.0, ge=0, le=3600)
    # Quick retries of transient failures inside one run; the rest wait for the next run.
    send_retries_in_run: int = Field(default=2, ge=0, le=20)
    send_wait_in_run_seconds: float = Field(default=30.0, ge=0, le=3600)
    # A row claimed this long ago by a run that never finished is taken up again.
    send_claim_timeout_seconds: float = Field(default=600.0, ge=0, le=86_400)
    # Parallel connections to the email service when a run has many emails to send.
    send_threads: int = Field(default=4, ge=1, le=32)
    # Who sees the portfolio in the web app (comma-separated addresses): read-only, never a decider.
    programme_staff: str = ""
    # A run over every CoP works in pages of this many CoPs. With page_workers 0 (the default)
    # the flow does its pages itself; above 0, task workers (`prefect task serve --module
    # tasks.page_tasks`, docs/operations.md) take them, at most twice this many pages queued at once.
    page_size: int = Field(default=100, ge=1, le=10_000)
    page_workers: int = Field(default=0, ge=0, le=1_000)
    # Spread pages: how long the flow waits for a page a worker took before handing it out again
    # (its worker may have died mid-page), and how many times in all; set the lease above the
    # longest page (a page of 100 sponsor reports is seconds on a quiet machine).
    page_lease_seconds: float = Field(default=600.0, gt=0, le=86_400)
    page_tries: int = Field(default=3, ge=1, le=20)

    @field_validator("archive_url")
    @classmethod
    def _a_real_store(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        return check_archive_url(value)

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> Settings:
        if (self.email_transport == "smtp" and self.smtp_security == "none" and not is_loopback(self.smtp_host)
                and (self.smtp_password is not None or self.smtp_password_block)):
            raise ValueError(
                "COPFLOW_SMTP_SECURITY=none would send COPFLOW_SMTP_PASSWORD (or the one in "
                "COPFLOW_SMTP_PASSWORD_BLOCK) in clear to COPFLOW_SMTP_HOST; use starttls or tls, "
                "or no password for a relay that trusts this machine")
        return self

    @property
    def programme_staff_emails(self) -> frozenset[str]:
        return frozenset(a.strip().lower() for a in self.programme_staff.split(",") if a.strip())

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.home)

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def archive_root(self) -> str:
        return self.archive_url or str((self.home / "archives").resolve())


def is_loopback(host: str) -> bool:
    """This machine itself: a password sent in clear never leaves it."""
    import ipaddress

    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_archive_url(url: str) -> str:
    """A folder or an object store URL; never credentials in it, which would be printed and audited."""
    from urllib.parse import urlsplit

    if "://" not in url:
        return url  # a local folder
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"credentials in the URL ({parts.scheme}://...@{parts.hostname or ''}) would be "
                         "printed and audited; give them to the store's own settings (e.g. AWS_* variables)")
    if parts.scheme.lower() not in ARCHIVE_SCHEMES:
        raise ValueError(f"'{parts.scheme}://' is not an archive store copflow can keep bundles in; "
                         f"use a folder or one of {', '.join(sorted(ARCHIVE_SCHEMES))}")
    return url


def _variable(loc: tuple[int | str, ...]) -> str:
    return "COPFLOW_" + str(loc[0]).upper() if loc else "COPFLOW settings"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, or one line naming the variable that is wrong (never its value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        where = f"{_variable(error['loc'])}: " if error["loc"] else ""  # a rule across variables names them
        raise BadInput(f"{where}{message}") from None
