"""Is the database at the migration this copflow knows? One line when it is not."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, inspect, text

from models.errors import BadInput

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_NAMED = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@lru_cache(maxsize=1)
def known_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision this copflow ships, and its heads: read from the migration files' own
    `revision =` lines, so a read-only command need not load Alembic to ask."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        for name, value in _NAMED.findall(script.read_text(encoding="utf-8")):
            found = set(re.findall(r"['\"]([^'\"]+)['\"]", value))
            (revisions if name == "revision" else parents).update(found)
    return frozenset(revisions), frozenset(revisions - parents)


def stored_revisions(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def refuse_newer(stored: list[str]) -> None:
    """A database a newer copflow has upgraded: this copflow would misread it, so it stops."""
    known, _ = known_revisions()
    for revision in stored:
        if revision not in known:
            raise BadInput(f"this database was upgraded by a newer copflow (migration {revision}); "
                           "run that copflow version here")


def check_revision(connection: Connection) -> None:
    """Newer than this copflow, or not yet upgraded to it: named in one line."""
    stored = stored_revisions(connection)
    refuse_newer(stored)
    _, heads = known_revisions()
    behind = [r for r in stored if r not in heads]
    if behind or not stored:
        raise BadInput(f"this database is at migration {', '.join(behind) or 'none'}, older than this "
                       f"copflow's {', '.join(sorted(heads))}; run 'copflow init' to upgrade it")
