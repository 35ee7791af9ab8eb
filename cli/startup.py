"""Start-up of the `copflow` process: no garbage collection while its modules load.

Loading typer, pydantic and SQLAlchemy creates a few hundred thousand long-lived objects and
no garbage, yet the collector keeps walking them: about a tenth of a read-only command's time.
The collector is off for the first second of the process and then back on, so a command that
runs longer (a flow, `serve`) runs with it as usual; at exit it skips what the process loaded.
"""

from __future__ import annotations

import atexit
import gc
import threading


def pause_garbage_collection(seconds: float = 1.0) -> None:
    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()
    # At exit, after every other exit handler (Prefect's included): the interpreter's last
    # collections would walk every object loaded, about 0.6 s of CPU after a flow command, to
    # free memory the process is about to give back anyway.
    atexit.register(gc.freeze)
