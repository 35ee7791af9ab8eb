"""What a command says about email a flow could not deliver: queued for the worker, or held."""

from __future__ import annotations

from typing import Any

import typer

from cli.common import say
from models.text import visible


def say_undelivered(result: Any) -> None:
    """One line each: emails left queued for the worker, and emails held for the settings."""
    left = getattr(result, "for_worker", 0)
    if left:
        say(f"{left} email{'s' if left != 1 else ''} queued, to be delivered by the worker")
    held = getattr(result, "held", 0)
    if held:
        why = f" ({visible(result.delivery_stopped)})" if result.delivery_stopped else ""
        typer.echo(f"note: {held} email{'s' if held != 1 else ''} held{why}; fix the email settings, "
                   "then 'copflow outbox resend --held'", err=True)
