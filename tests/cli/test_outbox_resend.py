"""`copflow outbox resend` as an operator runs it: held and failed emails queued again once each,
under their own keys, audited with the operator's account; bad input is one line, nothing changed."""

from __future__ import annotations

import getpass
import json

from sqlalchemy import update


def _mark(key: str, status: str, error: str) -> None:
    from models.db.tables import OutboxMessage
    from tasks.storage.db import session_scope

    with session_scope() as db:
        db.execute(update(OutboxMessage).where(OutboxMessage.key == key)
                   .values(status=status, last_error=error, attempts=1))


def test_held_and_failed_show_and_are_queued_again_once_each(home, queue, cli) -> None:
    queue("a@example.nhs.uk", "b@example.org", "c@example.org")
    _mark("test:a@example.nhs.uk", "held", "sender refused: 550 5.7.60 send as this sender")
    _mark("test:b@example.org", "failed", "recipient refused: 550 5.1.1 no such mailbox")
    shown = cli("outbox", "--failed")
    assert "5.7.60" in shown.stdout and "5.1.1" in shown.stdout and "c@example.org" not in shown.stdout
    assert "outbox: 1 pending, 0 sending, 0 sent, 1 failed, 1 held" in shown.stdout

    held = cli("outbox", "resend", "--held")
    assert held.returncode == 0 and "1 email queued again" in held.stdout
    by_key = cli("outbox", "resend", "test:b@example.org", "test:a@example.nhs.uk", "test:c@example.org")
    assert by_key.returncode == 0, by_key.stderr
    assert "test:a@example.nhs.uk: pending, not queued again" in by_key.stdout
    assert "1 email queued again" in by_key.stdout
    rows = {r["key"]: r for r in json.loads(cli("outbox", "--json").stdout)}
    assert {(r["status"], r["attempts"], r["error"]) for r in rows.values()} == {("pending", 0, None)}

    from sqlalchemy import select

    from models.db.tables import AuditEntry
    from tasks.storage.db import session_scope

    with session_scope() as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "email.resent")))
    assert len(entries) == 2  # these test emails belong to no CoP: read the table itself
    assert {e.actor for e in entries} == {f"operator {getpass.getuser()}"}
    assert all("@" not in json.dumps([e.before, e.after]) for e in entries)


def test_bad_input_is_one_line_and_changes_nothing(home, queue, cli) -> None:
    queue("a@example.nhs.uk")
    _mark("test:a@example.nhs.uk", "failed", "550 5.1.1")
    for args, said in ((["outbox", "resend"], "name the emails by key, or use --failed or --held"),
                       (["outbox", "resend", "test:a@example.nhs.uk", "--failed"], "name the emails by key"),
                       (["outbox", "resend", "test:a@example.nhs.uk", "nope"], "no email has the key 'nope'"),
                       (["outbox", "resend", "--failed", "--why", "a\x1b]0;x\x07b"], "--why")):
        done = cli(*args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and said in done.stderr, (args, done.stderr)
    assert json.loads(cli("outbox", "--json").stdout)[0]["status"] == "failed"
