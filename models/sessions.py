"""A session held, as the rules that read sessions (health, sponsor reports) need it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SessionFacts:
    held_on: date
    attendee_kinds: tuple[str, ...]  # one entry per person attending; "convenor" for the convenor
    attendee_ids: tuple[int, ...] = ()
    format: str = "online"
    topics: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    story: str | None = None

    @property
    def attended(self) -> int:
        return len(self.attendee_kinds)
