"""Start-up of the `copflow` process: no garbage collection while its modules load.

Loading typer, pydantic and SQLAlchemy creates a few hundred thousand long-lived objects and
no garbage, yet the collector keeps walking them: about a tenth of a read-only command's time.
The collector is off for the first second of the process and then back on, so a command that
runs longer (a flow, `serve`) runs with it as usual.
"""

from __future__ import annotations

import gc
import threading


def pause_garbage_collection(seconds: float = 1.0) -> None:
    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()
