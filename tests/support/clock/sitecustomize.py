"""Loaded by every Python process the test suite starts (PYTHONPATH, set in tests/conftest.py):
moves copflow's latest allowed day (tasks/clock.py) to TESTS_COPFLOW_LATEST_DAY, so tests may
replay 2027 and later whatever the machine's date. Production processes never load this file."""

import contextlib
import os

_DAY = os.environ.get("TESTS_COPFLOW_LATEST_DAY")
if _DAY:
    # Another Python (no copflow on its path) has nothing to move.
    with contextlib.suppress(ImportError, ValueError):
        from datetime import date

        import tasks.clock

        tasks.clock.extend_to(date.fromisoformat(_DAY))
