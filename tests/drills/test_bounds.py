"""Drill: bounded and clear (issue 12, section 7). Input that is huge, endless or not a file,
settings that are wrong, a reader beside a writer, and a backup of a database in use: each
ends with one short line and the right exit code, with nothing half-written."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE_CHARTER, CliRunner
from tests.drills.tally import DRILLS
from tests.drills.test_hostile_input import run, snapshot

ONE_LINE_MAX = 500  # an error quotes at most an excerpt of what it was given


def one_short_line(code: int, out: str, err: str, expected: int = 2) -> str | None:
    """What is wrong with this answer to bad input, or None when it is right."""
    if code != expected or out:
        return f"exit {code}, stdout {out[:60]!r}"
    if not err.startswith("copflow: ") or err.count("\n") != 1 or len(err) > ONE_LINE_MAX:
        return f"not one short line ({len(err)} characters): {err[:120]!r}"
    return None


def not_a_charter(tmp_path: Path) -> list[tuple[str, Path]]:
    fifo = tmp_path / "charter.fifo"
    os.mkfifo(fifo)
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    big = tmp_path / "big.yaml"
    big.write_bytes(SAMPLE_CHARTER.read_bytes() + b"# " + b"x" * 400_000)
    return [("/dev/zero", Path("/dev/zero")), ("/dev/urandom", Path("/dev/urandom")), ("a FIFO nobody writes", fifo),
            ("a link to /dev/zero", link), ("a folder", tmp_path), ("/dev/null", Path("/dev/null")),
            ("over the size limit", big)]


def test_only_a_regular_file_of_bounded_size_is_read_as_a_charter(home: Path, tmp_path: Path, capsys: Any) -> None:
    before, wrong = snapshot(home), []
    for label, path in not_a_charter(tmp_path):
        problem = one_short_line(*run(capsys, "community", "create", str(path)))
        if problem:
            wrong.append(f"{label}: {problem}")
        DRILLS.hostile()
    assert not wrong, "\n".join(wrong)
    assert snapshot(home) == before


@pytest.fixture
def launched(home: Path, capsys: Any) -> str:
    from tasks.storage.db import session_scope
    from tasks.usecases.launch import launch

    assert run(capsys, "community", "create", str(SAMPLE_CHARTER))[0] == 0
    with session_scope() as db:
        launch(db, "aaot", actor="dana@example.nhs.uk", today=date(2027, 1, 1), flow_run_id=None)
    return "aaot"


def huge_arguments() -> list[tuple[str, list[str]]]:
    convenor = ["--as", "dana@example.nhs.uk", "--today", "2027-01-20"]
    many = [f"p{i}@example.org" for i in range(2_001)]
    return [
        ("a reason of 131,000 characters", ["close", "aaot", "--reason", "r" * 131_000, *convenor]),
        ("a reason of 1,001 characters", ["close", "aaot", "--reason", "word " * 200 + "w", *convenor]),
        ("a reason with an escape sequence", ["close", "aaot", "--reason", "done \x1b]0;OWNED\x07", *convenor]),
        ("a slug of a million characters", ["community", "show", "s" * 1_000_000]),
        ("an actor of 100,000 characters", ["close", "aaot", "--reason", "done", "--as", "a" * 100_000]),
        ("2,001 people attended", ["session", "record", "aaot", "--on", "2027-01-14", *convenor, "--attended", *many]),
        ("51 topics", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                       "--attended", "sam@example.nhs.uk", *[a for i in range(51) for a in ("--topic", f"t{i}")]]),
        ("a topic of 100,000 characters", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                                           "--attended", "sam@example.nhs.uk", "--topic", "t" * 100_000]),
        ("a task title of 10 MB", ["task", "add", "aaot", "t" * 10_000_000, *convenor]),
        ("501 guests", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                        "--attended", "sam@example.nhs.uk", "--guests", "501"]),
        ("minus one guest", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                             "--attended", "sam@example.nhs.uk", "--guests", "-1"]),
        ("21 stories", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                        "--attended", "sam@example.nhs.uk", *[a for i in range(21) for a in ("--story", f"s{i}")]]),
        ("a consent no one gave", ["session", "record", "aaot", "--on", "2027-01-14", *convenor,
                                   "--attended", "sam@example.nhs.uk", "--story", "s", "--consent", "implied"]),
        ("a later story of 100,000 characters", ["story", "add", "aaot", "--on", "2027-01-14", "s" * 100_000,
                                                 *convenor]),
        ("51 agenda items", ["session", "plan", "aaot", "--on", "2027-02-14T14:00", *convenor,
                             *[a for i in range(51) for a in ("--agenda", f"a{i}")]]),
        ("a session planned at no time", ["session", "plan", "aaot", "--on", "next Tuesday", *convenor]),
        ("a member name of 100,000 characters", ["member", "add", "aaot", "--name", "n" * 100_000,
                                                 "--email", "new@example.org", *convenor]),
    ]


@pytest.mark.parametrize("label, args", huge_arguments(), ids=[label for label, _ in huge_arguments()])
def test_free_text_and_repeated_options_are_bounded(launched: str, home: Path, capsys: Any,
                                                    label: str, args: list[str]) -> None:
    before = snapshot(home)
    problem = one_short_line(*run(capsys, *args))
    DRILLS.hostile()
    assert problem is None, f"{label}: {problem}"
    assert snapshot(home) == before


WRONG_SETTINGS = [
    ("RETENTION_DAYS", "999999999", "COPFLOW_RETENTION_DAYS"),
    ("RETENTION_DAYS", "-1", "COPFLOW_RETENTION_DAYS"),
    ("RETENTION_DAYS", "ninety", "COPFLOW_RETENTION_DAYS"),
    ("SMTP_PORT", "0", "COPFLOW_SMTP_PORT"),
    ("SEND_THREADS", "1000", "COPFLOW_SEND_THREADS"),
    ("PAGE_WORKERS", "-1", "COPFLOW_PAGE_WORKERS"),
    ("PAGE_SIZE", "0", "COPFLOW_PAGE_SIZE"),
    ("EMAIL_TRANSPORT", "pigeon", "COPFLOW_EMAIL_TRANSPORT"),
    ("ARCHIVE_URL", "memory://bundles", "COPFLOW_ARCHIVE_URL"),
    ("ARCHIVE_URL", "ftp://archive.example.org/x", "COPFLOW_ARCHIVE_URL"),
    ("ARCHIVE_URL", "s3://AKIAEXAMPLE:s3cr3t-key@bucket/copflow", "COPFLOW_ARCHIVE_URL"),
    ("ARCHIVE_URL", "az://user:pa55word@container/copflow", "COPFLOW_ARCHIVE_URL"),
]


@pytest.mark.parametrize("name, value, variable", WRONG_SETTINGS, ids=[f"{n}={v[:20]}" for n, v, _ in WRONG_SETTINGS])
def test_a_wrong_setting_is_named_and_its_credentials_never_echoed(cli: CliRunner, home: Path, name: str,
                                                                   value: str, variable: str) -> None:
    done = cli("init", env={f"COPFLOW_{name}": value})
    DRILLS.hostile()
    assert one_short_line(done.returncode, done.stdout, done.stderr) is None, done.stderr
    assert done.stderr.startswith(f"copflow: {variable}: ")
    for secret in ("s3cr3t-key", "pa55word", "AKIAEXAMPLE"):
        assert secret not in done.stderr


def test_a_reader_does_not_wait_for_a_writer(launched: str, home: Path, cli: CliRunner) -> None:
    from models.db.tables import Community
    from tasks.storage.db import session_scope

    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with session_scope() as db:  # SQLite: BEGIN IMMEDIATE, the write lock held until commit
            db.get(Community, 1).location = "Room 2"
            db.flush()
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(30)
        # A reader that waited for the lock would time out here (the lock is held for 60 s).
        shown = cli("community", "show", "aaot", "--json", timeout=20)
        audited = cli("audit", "aaot", timeout=20)
    finally:
        release.set()
        thread.join()
    assert shown.returncode == 0, shown.stderr
    assert '"location": "Microsoft Teams"' in shown.stdout  # the last committed state, not the pending one
    assert audited.returncode == 0, audited.stderr


def test_backup_is_consistent_private_and_never_overwrites(launched: str, home: Path, cli: CliRunner,
                                                           tmp_path: Path) -> None:
    from models.db.tables import Community
    from tasks.storage.db import session_scope

    dest = tmp_path / "copflow-backup.db"
    with session_scope() as db:  # a change in flight when the backup is taken is not in it
        db.get(Community, 1).location = "uncommitted room"
        db.flush()
        done = cli("backup", str(dest), timeout=120)
        db.rollback()
    assert done.returncode == 0, done.stderr
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    if os.environ.get("COPFLOW_TEST_POSTGRES_URL"):
        listed = subprocess.run(["pg_restore", "--list", str(dest)], capture_output=True, text=True, check=False)
        assert listed.returncode == 0 and "TABLE DATA public community" in listed.stdout
    else:
        with sqlite3.connect(dest) as copy:
            assert copy.execute("select slug, stage, location from community").fetchall() == [
                ("aaot", "launching", "Microsoft Teams")]
    again = cli("backup", str(dest))
    assert one_short_line(again.returncode, again.stdout, again.stderr) is None
    assert "already exists" in again.stderr
