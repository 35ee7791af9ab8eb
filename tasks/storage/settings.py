"""Settings from the environment (pydantic-settings). No secret has a default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks.storage.paths import DEFAULT_HOME, sqlite_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COPFLOW_", extra="ignore")

    home: Path = DEFAULT_HOME
    database_url: str | None = None
    archive_url: str | None = Field(default=None, description="fsspec URL; default HOME/archives")
    retention_days: int = Field(default=90, ge=0)  # days after archive before contact details go

    email_transport: Literal["file", "smtp", "notify"] = "file"
    email_from: str = "copflow@localhost"
    email_from_name: str = "copflow"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # Or the name of a Prefect Secret block holding it (read by the delivery task).
    smtp_password_block: str | None = None
    smtp_timeout: float = 30.0
    smtp_ca_file: str | None = None
    notify_api_key: SecretStr | None = None
    notify_api_key_block: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_template_id: str | None = None
    send_attempts: int = Field(default=5, ge=1)
    send_backoff_seconds: float = Field(default=2.0, ge=0)
    # Quick retries of transient failures inside one run; the rest wait for the next run.
    send_retries_in_run: int = Field(default=2, ge=0)
    send_wait_in_run_seconds: float = 30.0
    # A row claimed this long ago by a run that never finished is taken up again.
    send_claim_timeout_seconds: float = 600.0
    # Parallel connections to the email service when a run has many emails to send.
    send_threads: int = Field(default=4, ge=1, le=32)

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.home)

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def archive_root(self) -> str:
        return self.archive_url or str((self.home / "archives").resolve())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
