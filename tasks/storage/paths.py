"""Where copflow keeps its data, read straight from the environment.

The read-only commands need nothing more than the database URL; reading it here, without
pydantic-settings, keeps them fast. Settings (tasks/storage/settings.py) uses the same rules.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from models.errors import BadInput

DEFAULT_HOME = Path("./copflow-data")


def env(name: str) -> str | None:
    """COPFLOW_<NAME>; like pydantic-settings, the name is matched without regard to case."""
    wanted = f"COPFLOW_{name}"
    value = os.environ.get(wanted)
    if value is not None:
        return value
    # Looked up often (every signed link in every email): the raw bytes keys are scanned, as
    # os.environ.items() decodes every key and value on each pass.
    if os.supports_bytes_environ:
        lowered = os.fsencode(wanted.lower())
        key = next((k for k in os.environb if k.lower() == lowered), None)
        return None if key is None else os.environ[os.fsdecode(key)]
    lowered_name = wanted.lower()
    return next((v for k, v in os.environ.items() if k.lower() == lowered_name), None)


def home() -> Path:
    value = env("HOME")
    return DEFAULT_HOME if value is None else Path(value)


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'copflow.db').resolve()}"


def database_url() -> str:
    return env("DATABASE_URL") or sqlite_url(home())


def private_folder(folder: Path, what: str) -> Path:
    """The folder, made if missing (0700, as is any missing parent); refused (BadInput, exit 2)
    when another user could write in it: a group or other write bit, or another owner. Files
    copflow writes there are its user's alone, and no one else can plant a link among them."""
    missing = []
    for part in (folder, *folder.parents):
        if part.exists():
            break
        missing.append(part)
    for part in reversed(missing):
        try:
            part.mkdir(mode=0o700)
        except FileExistsError:  # made by a concurrent command in the meantime: checked below
            pass
        except OSError as exc:
            raise BadInput(f"{what} {folder}: cannot make {part}: {exc.strerror or exc}") from None
    check_private(folder, what)
    return folder


def check_private(folder: Path, what: str) -> None:
    if os.name != "posix":  # no owner and mode bits to check
        return
    try:
        info = folder.stat()
    except OSError as exc:
        raise BadInput(f"{what} {folder}: {exc.strerror or exc}") from None
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode):
        raise BadInput(f"{what} {folder} is not a folder")
    if info.st_uid != os.geteuid():
        raise BadInput(f"{what} {folder} belongs to another user (uid {info.st_uid}); "
                       "use a folder of copflow's own user")
    if mode & stat.S_ISVTX and mode & 0o002:
        raise BadInput(f"{what} {folder} is shared with other users (mode {mode:04o}); "
                       "use a folder of copflow's own user")
    if mode & 0o022:
        raise BadInput(f"{what} {folder} can be written by other users (mode {mode:04o}); "
                       f"make it private: chmod 700 {folder}")
