"""Shared by the drills: scenarios built through the real use cases, copies of a prepared
home, the driver run in a separate process, and the invariants every drill checks."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.charter import Charter
from models.db.tables import AuditEntry, Community, OutboxMessage, SponsorReport
from tests.conftest import REPO

SEED = int(os.environ.get("COPFLOW_DRILL_SEED", "20261126"))
CONVENOR, PLANNER = "dana@example.nhs.uk", "sam@example.nhs.uk"
MEMBERS = ["dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org", "ana@example.ac.uk",
           "jo@example.nhs.uk"]
SPONSORS = ["priya@example.nhs.uk", "tom@example.org"]
LAUNCHED = date(2027, 1, 4)


def charter(slug: str = "aaot", **changes: Any) -> Charter:
    data: dict[str, Any] = {
        "name": f"Alcohol Assertive Outreach ({slug})",
        "slug": slug,
        "domain": "Delivering assertive outreach treatment to people with alcohol dependence",
        "practice": "Cases and stories from outreach teams",
        "cadence": "monthly",
        "sponsor_reports": "quarterly",
        "rotate_every_sessions": 1,
        "convenor": {"name": "Dana Whitlow", "email": CONVENOR},
        "sponsors": [{"name": "Priya Raman", "email": SPONSORS[0], "organisation": "Example Trust"},
                     {"name": "Tom Ellis", "email": SPONSORS[1], "organisation": "Example ICB"}],
        "members": [
            {"name": "Sam Okafor", "email": PLANNER, "kind": "practitioner", "planning_group": True},
            {"name": "Lee Hart", "email": "lee@example.org", "kind": "expert-by-experience"},
            {"name": "Ana Costa", "email": "ana@example.ac.uk", "kind": "researcher",
             "planning_group": True},
            {"name": "Jo Reid", "email": "jo@example.nhs.uk", "kind": "practitioner"},
        ],
    }
    data.update(changes)
    return Charter.model_validate(data)


def active_cop(slug: str = "aaot", sessions: int = 3, **changes: Any) -> str:
    """Created, launched and active, with a session a month (through the real use cases)."""
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community
    from tasks.usecases.launch import launch
    from tasks.usecases.sessions import record_session

    written = charter(slug, **changes)
    people = [written.convenor.email] + [m.email for m in written.members]  # type: ignore[union-attr]
    with session_scope() as db:
        create_community(db, written, LAUNCHED - timedelta(days=3))
    with session_scope() as db:
        launch(db, slug, actor=written.convenor.email, today=LAUNCHED, flow_run_id=None)
    for i in range(sessions):
        held = LAUNCHED + timedelta(days=10 + 30 * i)
        with session_scope() as db:
            record_session(db, slug, held_on=held, attended=people[: 3 + i % 3], format=None,
                           topics=[f"Case {i + 1}"], outputs=[f"Output {i + 1}"], actor=written.convenor.email, today=held)
    return slug


def closing_cop(slug: str = "aaot", closed_on: date = date(2027, 5, 3)) -> str:
    from tasks.storage.db import session_scope
    from tasks.usecases.close import close

    active_cop(slug)
    with session_scope() as db:
        close(db, slug, actor=CONVENOR, reason="the work is done", successor=None, notice_days=14,
              today=closed_on, flow_run_id=None)
    return slug


def deliver_everything() -> None:
    from tasks.email.delivery import deliver_pending

    deliver_pending(None)


@contextmanager
def using_home(home: Path, **settings: str) -> Iterator[None]:
    """Point this process's settings at `home` (SQLite), with extra COPFLOW_ settings."""
    from tasks.storage.db import engine
    from tasks.storage.settings import get_settings

    saved = {k: v for k, v in os.environ.items() if k.startswith("COPFLOW_")}
    for k in list(saved):
        if k not in ("COPFLOW_TEST_POSTGRES_URL", "COPFLOW_DRILL_SEED"):
            del os.environ[k]
    os.environ["COPFLOW_HOME"] = str(home)
    os.environ.update({f"COPFLOW_{k.upper()}": v for k, v in settings.items()})
    get_settings.cache_clear()
    try:
        yield
    finally:
        engine().dispose()
        for k in [k for k in os.environ if k.startswith("COPFLOW_")]:
            del os.environ[k]
        os.environ.update(saved)
        get_settings.cache_clear()


def prepared_home(folder: Path, build: Any) -> Path:
    """A home with a migrated SQLite database and whatever `build` makes in it."""
    from tasks.storage.db import upgrade

    with using_home(folder):
        upgrade()
        build()
    return folder


def copy_home(template: Path, to: Path) -> Path:
    shutil.copytree(template, to)
    return to


def driver(home: Path, *args: str, crash_at: str | None = None, tally: Path | None = None,
           settings: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run tests/drills/driver.py in its own process against `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPFLOW_")}
    env["COPFLOW_HOME"] = str(home)
    env.update({f"COPFLOW_{k.upper()}": v for k, v in (settings or {}).items()})
    if crash_at:
        env["COPFLOW_CRASH_AT"] = crash_at
    if tally:
        env["COPFLOW_CRASH_TALLY"] = str(tally)
    return subprocess.run([sys.executable, "-m", "tests.drills.driver", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def tally(path: Path) -> Counter[str]:
    return Counter(path.read_text().split()) if path.exists() else Counter()


def choose_kill_points(counts: Counter[str], how_many: int, rng: random.Random) -> list[tuple[str, int]]:
    """Every point reached at least once, then more (point, n) pairs at random, from the seed."""
    every = [(p, n) for p in sorted(counts) for n in range(1, counts[p] + 1)]
    chosen = [(p, rng.randint(1, counts[p])) for p in sorted(counts)]
    rest = [pair for pair in every if pair not in chosen]
    chosen += rng.sample(rest, min(len(rest), max(0, how_many - len(chosen))))
    return chosen


# --- invariants --------------------------------------------------------------------------------

def read(fn: Any) -> Any:
    from tasks.storage.db import session_scope

    with session_scope() as db:
        return fn(db)


def outbox_rows(template: str | None = None) -> list[OutboxMessage]:
    def q(db: Any) -> list[OutboxMessage]:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if template:
            stmt = stmt.where(OutboxMessage.template == template)
        return list(db.scalars(stmt))
    return read(q)


def eml_files(home: Path) -> dict[str, Any]:
    """Key -> parsed message for every .eml in the outbox folder (no temp files allowed)."""
    folder = home / "outbox"
    files = sorted(folder.iterdir()) if folder.exists() else []
    leftovers = [f.name for f in files if not f.name.endswith(".eml")]
    assert not leftovers, f"half-written files in the outbox: {leftovers}"
    parsed = {}
    for f in files:
        msg = message_from_bytes(f.read_bytes(), policy=policy.default)
        assert msg.get_body(("plain",)) is not None, f"{f.name} is not a whole message"
        parsed[str(msg["X-Copflow-Key"])] = msg
    return parsed


def stage_and_audit(slug: str) -> tuple[str, list[AuditEntry]]:
    def q(db: Any) -> tuple[str, list[AuditEntry]]:
        community = db.scalars(select(Community).where(Community.slug == slug)).one()
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.community_id == community.id)
                                  .order_by(AuditEntry.id)))
        return community.stage, entries
    return read(q)


def check_stage_matches_audit(slug: str) -> str:
    """The stage is where the audit trail's chain of stage changes ends, each link legal."""
    from models.lifecycle import TRANSITIONS, Stage

    stage, entries = stage_and_audit(slug)
    chain = [e for e in entries if e.action == "stage.changed"]
    current = "proposed"
    for e in chain:
        before, after = (e.before or {}).get("stage"), (e.after or {}).get("stage")
        assert before == current, f"{slug}: audit says {before} -> {after} but it was {current}"
        assert (Stage(before), Stage(after)) in TRANSITIONS, f"{slug}: illegal {before} -> {after}"
        current = after
    assert stage == current, f"{slug}: stage {stage} but the audit trail ends at {current}"
    archived = [e for e in entries if e.action == "archive.written"]
    assert len(archived) == (1 if stage == "archived" else 0), f"{slug}: {len(archived)} archive entries"
    return stage


def verify_bundle(folder: Path) -> None:
    """Complete: exactly the three files, each listed in SHA256SUMS with a matching hash."""
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["SHA256SUMS", "community.json", "summary.md"], names
    sums = dict(reversed(line.split("  ", 1)) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == ["community.json", "summary.md"]
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def check_archive_absent_or_complete(home: Path, slug: str) -> bool:
    folder = home / "archives" / slug
    if not folder.exists():
        return False
    verify_bundle(folder)
    return True


def reports_per_period() -> Counter[tuple[int, str, bool]]:
    return Counter(read(lambda db: [(r.community_id, str(r.period_start), r.final)
                                    for r in db.scalars(select(SponsorReport))]))
