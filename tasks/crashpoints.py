"""Test-only crash hook: kill this process (SIGKILL) at a named point, for the crash drills.

Inert unless COPFLOW_CRASH_AT="<point>:<n>" is set: then the n-th time the named point is
reached, the process kills itself with no clean-up, like a power cut or an OOM kill.
COPFLOW_CRASH_TALLY=<file> appends each point reached to that file (the drills count them
to choose kill points). Every point is named here, in one place.
"""

from __future__ import annotations

import os
import signal

POINTS: dict[str, str] = {
    "report.stored": "a sponsor report's figures stored, not yet queued (inside the transaction)",
    "report.queued": "one sponsor's copy queued, others not yet (inside the transaction)",
    "outbox.claimed": "an outbox row claimed ('sending' committed), not yet handed to the transport",
    "outbox.sent": "the transport took the message, the row not yet marked sent",
    "outbox.marked": "a row marked sent, the rest of the batch not yet tried",
    "archive.stage-changed": "the CoP's stage set to archived (not committed), bundle not written",
    "archive.file-written": "one bundle file written to the temporary folder, the rest not yet",
    "archive.bundle-written": "the bundle complete in its final place, the transaction not committed",
    "archive.committed": "the archive transaction committed, the final report not yet delivered",
}

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Reached a named point: die here if the drill asked for it."""
    tally = os.environ.get("COPFLOW_CRASH_TALLY")
    target = os.environ.get("COPFLOW_CRASH_AT")
    if not tally and not target:
        return
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    _hits[name] = _hits.get(name, 0) + 1
    if tally:
        with open(tally, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    if target:
        point, _, n = target.rpartition(":")
        if point == name and _hits[name] == int(n):
            os.kill(os.getpid(), signal.SIGKILL)
