"""What a drill runs in a separate process: the flows' use cases and delivery, without Prefect.

Each flow task is one use case in one transaction, then delivery; this driver does the same
steps in the same order (Prefect adds ~15 s of start-up per process, which the drills cannot
afford for dozens of processes). The steps are the production code; only the orchestration
is inlined. Usage (environment: COPFLOW_HOME / COPFLOW_DATABASE_URL and email settings):

  python -m tests.drills.driver report TODAY          every CoP's due reports, then deliver all due
  python -m tests.drills.driver archive SLUG TODAY    archive (final report + bundle), then deliver
  python -m tests.drills.driver cli GO_FILE ARGS...   the real `copflow` command line once GO_FILE
                                                      exists, with the flow's steps run in-process
  python -m tests.drills.driver fork-race SPEC.json   many command lines, one process each, at once
  ... COMMAND ARGS + COMMAND ARGS                     one after the other
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from models.errors import CopflowError


def report(today: date) -> None:
    from sqlalchemy import select

    from models.db.tables import Community
    from tasks.email.delivery import deliver_pending
    from tasks.storage.db import session_scope
    from tasks.storage.queries import get_community
    from tasks.usecases.sponsor_reports import queue_due_reports

    with session_scope() as db:
        slugs = list(db.scalars(select(Community.slug).order_by(Community.slug)))
    for slug in slugs:  # one transaction per CoP, as the flow's queue-sponsor-reports task
        with session_scope() as db:
            queue_due_reports(db, get_community(db, slug), today=today, flow_run_id="drill")
    deliver_pending(None)


def archive(slug: str, today: date) -> None:
    from tasks.crashpoints import crash_point
    from tasks.email.delivery import deliver_pending
    from tasks.email.outbox import pending_ids
    from tasks.storage.db import session_scope
    from tasks.usecases.archive import archive as archive_use_case

    try:
        with session_scope() as db:
            archive_use_case(db, slug, actor="dana@example.nhs.uk", now=False, today=today, flow_run_id="drill")
    except CopflowError as exc:  # e.g. already archived by the run that was killed
        print(f"copflow: {exc}", file=sys.stderr)
    crash_point("archive.committed")
    with session_scope() as db:
        ids = pending_ids(db)
    deliver_pending(ids)


# --- the command line, with each flow's steps run in this process --------------------------

def _direct_run(name: str, request: Any) -> Any:
    """Stand-in for flows.runtime.dispatch.run_flow: the flow's use case in one transaction, then delivery."""
    from flows.requests import CommunityResult, FlowResult
    from tasks.email.delivery import deliver_pending
    from tasks.email.outbox import pending_ids
    from tasks.storage.db import session_scope
    from tasks.storage.operator import operated_by
    from tasks.usecases.close import close, continue_community
    from tasks.usecases.rotate import rotate

    # The typed text stays in the request: run_flow's keeping it in the database (text_id) is
    # orchestration, replaced here along with the rest.
    fields = request.model_dump(exclude={"today", "operator", "text_id", "channel", "drawn_version"})
    fields["actor"] = fields.pop("actor_id")  # a person id, as the flow is given
    use_case = {"close": close, "continue": continue_community, "rotate": rotate}[name]
    slug = fields.pop("slug")
    with session_scope() as db, operated_by(request.operator):
        outcome = use_case(db, slug, today=request.day(), flow_run_id=f"drill-{os.getpid()}", **fields)
    with session_scope() as db:
        ids = pending_ids(db, [slug])
    delivered = deliver_pending(ids) if outcome.queued else None
    return FlowResult(
        flow=name, sent=len(delivered.sent) if delivered else 0,
        communities=[CommunityResult(slug=slug, stage_before=outcome.stage_before,
                                     stage_after=outcome.stage_after, queued=len(outcome.queued),
                                     notes=outcome.notes)])


def run_cli(go_file: str, args: list[str]) -> int:
    import flows.runtime.dispatch
    import tasks.email.delivery
    import tasks.usecases.close  # noqa: F401 - load before the start
    from cli.app import main

    flows.runtime.dispatch.run_flow = _direct_run
    with open(f"{go_file}.ready.{os.getpid()}", "w"):
        pass
    deadline = time.monotonic() + 120
    while not os.path.exists(go_file):  # every racer starts at the same moment
        if time.monotonic() > deadline:
            return 99
        time.sleep(0.005)
    return main(args)


def fork_race(spec_file: str) -> int:
    """Load once, fork one process per command line in the spec, release them together.

    Spec (JSON): {"go": GO_FILE, "commands": [[ARGS...], ...], "results": RESULTS_FILE}.
    Each child is its own process with its own database connection (none is opened before
    the fork); results: [{"code", "out", "err"}, ...] in the order given.
    """
    import json

    import flows.runtime.dispatch
    import tasks.email.delivery
    import tasks.usecases.close  # noqa: F401 - load before forking
    from cli.app import main as copflow_main

    spec = json.loads(Path(spec_file).read_text())
    flows.runtime.dispatch.run_flow = _direct_run
    go, children = spec["go"], []
    for i, args in enumerate(spec["commands"]):
        out, err = f"{spec_file}.{i}.out", f"{spec_file}.{i}.err"
        pid = os.fork()
        if pid == 0:  # the child: wait for the start, run the command, report its exit code
            code = 1
            try:
                for fd, path in ((1, out), (2, err)):
                    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(handle, fd)
                    os.close(handle)
                while not os.path.exists(go):
                    time.sleep(0.002)
                code = copflow_main(list(args))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append((pid, out, err))
    with open(f"{go}.ready", "w"):
        pass
    results = []
    for pid, out, err in children:
        _, status = os.waitpid(pid, 0)
        results.append({"code": os.waitstatus_to_exitcode(status),
                        "out": Path(out).read_text(), "err": Path(err).read_text()})
    with open(spec["results"], "w") as f:
        json.dump(results, f)
    return 0


def main(argv: list[str]) -> int:
    """One command, or several joined by '+' (run one after another, as cron would)."""
    if "+" in argv:
        at = argv.index("+")
        return main(argv[:at]) or main(argv[at + 1 :])
    command, rest = argv[0], argv[1:]
    if command == "report":
        report(date.fromisoformat(rest[0]))
    elif command == "archive":
        archive(rest[0], date.fromisoformat(rest[1]))
    elif command == "cli":
        return run_cli(rest[0], rest[1:])
    elif command == "fork-race":
        return fork_race(rest[0])
    else:
        sys.exit(f"unknown drill command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
