"""Where copflow keeps its data, read straight from the environment.

The read-only commands need nothing more than the database URL; reading it here, without
pydantic-settings, keeps them fast. Settings (tasks/storage/settings.py) uses the same rules.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path("./copflow-data")


def env(name: str) -> str | None:
    """COPFLOW_<NAME>; like pydantic-settings, the name is matched without regard to case."""
    wanted = f"COPFLOW_{name}"
    if wanted in os.environ:
        return os.environ[wanted]
    lowered = wanted.lower()
    return next((v for k, v in os.environ.items() if k.lower() == lowered), None)


def home() -> Path:
    value = env("HOME")
    return DEFAULT_HOME if value is None else Path(value)


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'copflow.db').resolve()}"


def database_url() -> str:
    return env("DATABASE_URL") or sqlite_url(home())
