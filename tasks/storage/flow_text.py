"""The free text typed for a flow run, kept in copflow's database and read back by the run.

A run's parameters live in Prefect's database for as long as the run does, and operators read
them in the UI; a close reason or a story may name people or carry an address. So the command
line keeps such text here and gives the run only the row's id (DESIGN 6a)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from models.db.schema import community, flow_text
from models.errors import BadInput
from tasks.storage.db import read_scope, session_scope


def keep(slug: str | None, fields: dict[str, Any]) -> int:
    """Store the text a person typed; returns the id the run is given."""
    with session_scope() as db:
        community_id = db.scalar(select(community.c.id).where(community.c.slug == slug)) if slug else None
        return int(db.execute(insert(flow_text).values(
            community_id=community_id, fields=fields,
            created_at=datetime.now(UTC).replace(tzinfo=None)).returning(flow_text.c.id)).scalar_one())


def read(text_id: int) -> dict[str, Any]:
    """The text kept for a run; bad input when there is none (a made-up or erased id)."""
    with read_scope() as db:
        fields = db.scalar(select(flow_text.c.fields).where(flow_text.c.id == text_id))
    if not isinstance(fields, dict):
        raise BadInput(f"text_id: no text {text_id} is kept for a run")
    return fields
