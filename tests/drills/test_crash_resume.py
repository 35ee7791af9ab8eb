"""Drill 1: crash and resume. A sponsor-report run and an archive run are killed (SIGKILL) at
points chosen from a seed (COPFLOW_DRILL_SEED), then run again:

- every sponsor has exactly one report per period; the outbox has no duplicate and no lost
  message (file transport: one whole .eml per key; GOV.UK Notify: one notification per key);
- the archive is absent or complete and verified by its checksums, before and after the rerun;
- the stage is where the audit trail's chain of stage changes ends.

A rerun is what operations would do: the same command again, with the dead run's claims
treated as stale (COPFLOW_SEND_CLAIM_TIMEOUT_SECONDS=0 stands in for the timeout passing).
SMTP cannot promise exactly-once across a kill between send and record (docs/email.md):
the last test shows what does hold there.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.drills import support as s
from tests.drills.tally import DRILLS

REPORT_DAY = date(2027, 10, 2)  # Q1, Q2 and Q3 2027 have ended: 3 periods x 2 CoPs x 2 sponsors
ARCHIVE_DAY = date(2027, 5, 18)  # the notice given on 3 May has ended
RERUN = {"send_claim_timeout_seconds": "0", "send_backoff_seconds": "0"}


def _report_scenario() -> None:
    s.active_cop("aaot")
    s.active_cop("aaot-north", sessions=2)
    s.deliver_everything()  # the launch emails went long ago


def _archive_scenario() -> None:
    s.closing_cop("aaot")
    s.deliver_everything()  # so did the closing notices


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drill-templates")
    return {"report": s.prepared_home(root / "report", _report_scenario),
            "archive": s.prepared_home(root / "archive", _archive_scenario)}


def _calibrate(template: Path, tmp: Path, *args: str) -> tuple[s.Counter[str], set[str]]:
    """Run once without a crash, counting how often each point is reached."""
    home = s.copy_home(template, tmp / "calibration")
    tally = tmp / "tally"
    done = s.driver(home, *args, tally=tally)
    assert done.returncode == 0, done.stderr
    return s.tally(tally), set(s.eml_files(home))


def _notify_settings(server: object) -> dict[str, str]:
    from tests.support.servers import API_KEY, TEMPLATE_ID

    return {"email_transport": "notify", "notify_base_url": server.url,  # type: ignore[attr-defined]
            "notify_api_key": API_KEY, "notify_template_id": TEMPLATE_ID, "smtp_timeout": "5"}


def _kill_and_resume(template: Path, tmp: Path, label: str, args: tuple[str, ...],
                     point: tuple[str, int], transport: str,
                     check_between: Callable[[Path], None], check_after: Callable[[Path, object], None]) -> None:
    from tests.support.servers import NotifyServer

    home = s.copy_home(template, tmp / label)
    with NotifyServer() as notify:
        settings = _notify_settings(notify) if transport == "notify" else {}
        killed = s.driver(home, *args, crash_at=f"{point[0]}:{point[1]}", settings=settings)
        assert killed.returncode == -signal.SIGKILL, (
            f"{label}: expected a kill at {point}, got exit {killed.returncode}: {killed.stderr[-500:]}")
        with s.using_home(home, **settings):
            check_between(home)
        # The same command again; after an archive, the daily sponsor-report run, which
        # delivers anything a lifecycle run left behind.
        then = ("+", "report", REPORT_DAY.isoformat()) if args[0] != "report" else ()
        again = s.driver(home, *args, *then, settings={**settings, **RERUN})
        assert again.returncode == 0, f"{label}: rerun failed: {again.stderr[-800:]}"
        with s.using_home(home, **settings):
            check_after(home, notify if transport == "notify" else None)


def _exactly_once(home: Path, notify: object, template: str, expected: set[str]) -> None:
    rows = s.outbox_rows(template)
    keys = [r.key for r in rows]
    assert sorted(keys) == sorted(expected), f"outbox keys differ: {set(keys) ^ expected}"
    assert [r.key for r in rows if r.status != "sent"] == [], "a message was left unsent"
    if notify is None:
        files = s.eml_files(home)
        assert expected <= set(files), f"lost: {expected - set(files)}"
        for key in expected:
            assert files[key]["To"].addresses[0].addr_spec == next(r.to_email for r in rows if r.key == key)
    else:
        refs = s.Counter(n["reference"] for n in notify.notifications)  # type: ignore[attr-defined]
        assert {k: refs[k] for k in expected} == dict.fromkeys(expected, 1), f"Notify counts: {refs}"


REPORT_KEYS = {f"report:{slug}:{start}:{sponsor}" for slug in ("aaot", "aaot-north")
               for start in ("2027-01-01", "2027-04-01", "2027-07-01") for sponsor in s.SPONSORS}


def test_sponsor_report_run_killed_and_resumed(templates: dict[str, Path], tmp_path: Path) -> None:
    args = ("report", REPORT_DAY.isoformat())
    counts, sent = _calibrate(templates["report"], tmp_path, *args)
    assert sent >= REPORT_KEYS and counts["outbox.sent"] == 12
    rng = random.Random(s.SEED)
    points = s.choose_kill_points(counts, 11, rng)
    transports = [rng.choice(["file", "notify"]) if p.startswith("outbox.") else "file" for p, _ in points]

    def between(home: Path) -> None:
        periods = s.reports_per_period()
        assert all(n == 1 for n in periods.values()), periods
        s.eml_files(home)  # whole messages only

    def after(home: Path, notify: object) -> None:
        periods = s.reports_per_period()
        assert len(periods) == 6 and set(periods.values()) == {1}, periods
        _exactly_once(home, notify, "sponsor-report", REPORT_KEYS)

    for i, (point, transport) in enumerate(zip(points, transports, strict=True)):
        _kill_and_resume(templates["report"], tmp_path, f"report-{i}", args, point, transport, between, after)
        DRILLS.kill(f"report {point[0]}:{point[1]} ({transport})")


def test_archive_run_killed_and_resumed(templates: dict[str, Path], tmp_path: Path) -> None:
    args = ("archive", "aaot", ARCHIVE_DAY.isoformat())
    counts, _sent = _calibrate(templates["archive"], tmp_path, *args)
    assert counts["archive.file-written"] == 3 and counts["archive.bundle-written"] == 1
    rng = random.Random(s.SEED + 1)
    points = s.choose_kill_points(counts, 10, rng)
    final_keys = {f"final-report:aaot:{sponsor}" for sponsor in s.SPONSORS}

    def between(home: Path) -> None:
        stage = s.check_stage_matches_audit("aaot")
        present = s.check_archive_absent_or_complete(home, "aaot")
        assert stage in ("closing", "archived")
        if stage == "archived":
            assert present, "archived in the database but no archive bundle"
        assert set(s.reports_per_period().values()) <= {1}

    def after(home: Path, notify: object) -> None:
        assert s.check_stage_matches_audit("aaot") == "archived"
        assert s.check_archive_absent_or_complete(home, "aaot")
        leftovers = [p.name for p in (home / "archives").iterdir() if p.name != "aaot"]
        assert leftovers == [], f"half-written archive folders left: {leftovers}"
        finals = [k for k, n in s.reports_per_period().items() if k[2]]
        assert len(finals) == 1
        _exactly_once(home, notify, "final-sponsor-report", final_keys)

    for i, point in enumerate(points):
        transport = "notify" if point[0].startswith("outbox.") and i % 2 else "file"
        _kill_and_resume(templates["archive"], tmp_path, f"archive-{i}", args, point, transport, between, after)
        DRILLS.kill(f"archive {point[0]}:{point[1]} ({transport})")


def test_smtp_kill_between_send_and_record_resends_with_the_same_message_id(
        templates: dict[str, Path], tmp_path: Path, smtp_relay: object) -> None:
    """SMTP's documented window: nothing is lost; the one resent copy carries the same Message-ID."""
    mailbox, settings = smtp_relay  # type: ignore[misc]
    home = s.copy_home(templates["report"], tmp_path / "smtp")
    killed = s.driver(home, "report", REPORT_DAY.isoformat(), crash_at="outbox.sent:5", settings=settings)
    assert killed.returncode == -signal.SIGKILL
    again = s.driver(home, "report", REPORT_DAY.isoformat(), settings={**settings, **RERUN})
    assert again.returncode == 0, again.stderr[-800:]
    ids = s.Counter(str(m["Message-ID"]) for m in mailbox.messages)
    keys = s.Counter(str(m["X-Copflow-Key"]) for m in mailbox.messages)
    assert set(keys) == REPORT_KEYS  # nothing lost
    doubled = [k for k, n in keys.items() if n > 1]
    assert len(doubled) == 1 and len(mailbox.messages) == 13  # only the message in the window
    assert max(ids.values()) == 2 and len(ids) == 12  # and its copies share one Message-ID
    DRILLS.kill("report outbox.sent:5 (smtp, documented resend)")
