"""Count the SQL statements copflow's engine sends (a SQLAlchemy event), to spot N+1 queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _seen(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)
