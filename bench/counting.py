"""Count the SQL statements copflow's engine sends (a SQLAlchemy event), to spot N+1 queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.delivering = 0  # of them, sent while delivering the outbox (see `during_delivery`)
        self._in_delivery = False

    def _seen(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1
        self.delivering += self._in_delivery

    def during_delivery(self) -> None:
        """Count delivery's statements apart: wrap deliver_pending wherever it was imported.
        Call before the run's modules take their own reference (bench/workloads.py's loaders)."""
        import sys

        from tasks.email import delivery

        original = delivery.deliver_pending

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._in_delivery = True
            try:
                return original(*args, **kwargs)
            finally:
                self._in_delivery = False

        delivery.deliver_pending = counted  # type: ignore[assignment]
        for module in list(sys.modules.values()):
            if getattr(module, "deliver_pending", None) is original:
                module.deliver_pending = counted  # type: ignore[attr-defined]

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)
