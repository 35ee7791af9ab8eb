"""`copflow report` and `copflow outbox` as a user runs them; header tricks refused at input."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from tests.conftest import SAMPLE_CHARTER
from tests.support.mail import make_active_cop


def test_report_needs_one_cop_or_all(cli) -> None:
    for args in (["report"], ["report", "aaot", "--all"]):
        result = cli(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    unknown = cli("report", "nope", "--today", "2027-04-01")
    assert unknown.returncode == 2 and "no CoP with slug 'nope'" in unknown.stderr
    bad_day = cli("report", "--all", "--today", "01/04/2027")
    assert bad_day.returncode == 2 and "--today" in bad_day.stderr


def test_outbox_lists_what_was_queued_sent_and_failed_and_why(home, queue, cli) -> None:
    from sqlalchemy import update

    from models.db.tables import OutboxMessage
    from tasks.storage.db import session_scope

    queue("a@example.nhs.uk", "b@example.org", "c@example.org")
    with session_scope() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.key == "test:b@example.org")
                   .values(status="failed", last_error="recipient refused: 550 5.1.1 no such mailbox"))
    everything = cli("outbox")
    assert everything.returncode == 0
    assert "outbox: 2 pending, 0 sending, 0 sent, 1 failed" in everything.stdout
    failed = cli("outbox", "--failed")
    assert "b@example.org" in failed.stdout and "550 5.1.1 no such mailbox" in failed.stdout
    assert "a@example.nhs.uk" not in failed.stdout
    as_json = cli("outbox", "--failed", "--json")
    import json

    [row] = json.loads(as_json.stdout)
    assert row["status"] == "failed" and row["error"].startswith("recipient refused")


def test_outbox_reads_without_loading_prefect(home) -> None:
    code = ("import sys; from cli.app import main; rc = main(['outbox']); "
            "sys.exit(rc or (3 if any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules) else 0))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ}, cwd=home.parent, timeout=60)
    assert result.returncode == 0, result.stderr


def test_crlf_in_a_name_or_topic_is_refused_at_input(cli, tmp_path: Path) -> None:
    text = SAMPLE_CHARTER.read_text().replace("name: Lee Hart", 'name: "Lee Hart\\r\\nBcc: all@example.org"')
    charter = tmp_path / "charter.yaml"
    charter.write_text(text)
    result = cli("community", "create", str(charter))
    assert result.returncode == 2 and "members" in result.stderr and "single line" in result.stderr
    assert cli("community", "list").stdout.strip() == ""
    make_active_cop(date(2027, 1, 5), date(2027, 1, 10))
    added = cli("member", "add", "aaot", "--name", "Eve\r\nBcc: x@example.org", "--email", "eve@example.org")
    assert added.returncode == 2 and "--name" in added.stderr
    topic = cli("session", "record", "aaot", "--on", "2027-01-14", "--attended", "sam@example.nhs.uk",
                "--topic", "Case\nSubject: hi", "--today", "2027-01-14")
    assert topic.returncode == 2 and "--topic" in topic.stderr
    bad_email = cli("member", "add", "aaot", "--name", "Eve", "--email", "eve@example.org\r\nBcc: x@y.org")
    assert bad_email.returncode == 2 and "--email" in bad_email.stderr
