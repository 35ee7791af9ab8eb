"""The counts line of a run over every CoP, which names only some CoPs (tasks/run_tally.py)."""

from __future__ import annotations

from typing import Any

from cli.common import say


def say_tally(result: Any) -> None:
    """Nothing for a run on one CoP; for a run over every CoP, its counts and what it left out."""
    tally = getattr(result, "tally", None)
    if tally is None:
        return
    from tasks.rendering import render

    say(render("cli/run-tally.txt", t=tally).rstrip("\n"))
