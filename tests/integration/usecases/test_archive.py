"""Close, continue and archive through the real database; the archive bundle."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from models.errors import Refused
from models.vocabulary import MemberKind
from tasks.usecases.archive import archive
from tasks.usecases.close import close, continue_community
from tasks.usecases.membership import add_member
from tasks.usecases.planning_tasks import add_task
from tasks.usecases.sessions import record_session
from tests.support.lifecycle import (
    CONVENOR,
    DAY0,
    active,
    closing,
    counts,
    create,
    in_db,
    outbox,
    stage,
)

SUCCESSOR = """
name: Alcohol Care Pathways CoP
slug: pathways
domain: Joining up alcohol care pathways across services
practice: Cases of people moving between services
cadence: monthly
convenor: {name: Sam Okafor, email: sam@example.nhs.uk}
sponsors: [{name: Priya Raman, email: priya@example.nhs.uk}]
members:
  - {name: Lee Hart, email: lee@example.org, kind: expert-by-experience, planning_group: true}
  - {name: Ana Costa, email: ana@example.ac.uk, kind: researcher}
  - {name: Kai Moss, email: kai@example.org, kind: practitioner}
"""
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def test_close_thanks_members_and_invites_them_to_the_successor(home: Path) -> None:
    create(SUCCESSOR)
    slug = active(create())
    day = DAY0 + timedelta(days=20)
    in_db(close, slug, actor="sam@example.nhs.uk", reason="priorities moved on", successor="pathways",
          notice_days=21, today=day, flow_run_id="r1")
    assert stage(slug) == "closing"
    notices = outbox("closing-notice")
    assert len(notices) == 4
    body = next(n.text_body for n in notices if n.to_email == CONVENOR)
    assert "Thank you" in body and "1 session" in body and "a case" in body
    # A real way to ask: a reply reaches a person who can pass it on to the successor's convenor.
    assert "Alcohol Care Pathways CoP" in body and "Sam Okafor, its convenor" in body
    member = next(n.text_body for n in notices if n.to_email == "ana@example.ac.uk")
    assert "You are already a member of it" in member and "invited to join" not in member
    own = next(n.text_body for n in notices if n.to_email == "sam@example.nhs.uk")
    assert "You convene it" in own and "to tell Sam Okafor" not in own  # never asked to contact himself
    assert "Why now, in your words: priorities moved on" in own
    assert f"{day + timedelta(days=21):%-d %B %Y}" in body
    with pytest.raises(Refused, match="already closing"):
        in_db(close, slug, actor=CONVENOR, reason="again", successor=None, notice_days=14,
              today=day, flow_run_id="r1")
    in_db(continue_community, slug, actor=CONVENOR, today=day + timedelta(days=2), flow_run_id=None)
    assert stage(slug) == "active"
    assert len(outbox("continuing-notice")) == 4


def test_archive_too_early_is_refused_unless_now(home: Path) -> None:
    slug = closing(create())  # notice ends DAY0 + 34
    before = counts()
    with pytest.raises(Refused, match="notice period"):
        in_db(archive, slug, actor=CONVENOR, now=False, today=DAY0 + timedelta(days=30), flow_run_id=None)
    assert counts() == before and stage(slug) == "closing"
    in_db(archive, slug, actor=CONVENOR, now=False, today=DAY0 + timedelta(days=34), flow_run_id=None)
    assert stage(slug) == "archived"


def test_archive_bundle_is_complete_verifiable_and_holds_no_contact_details(home: Path, cli) -> None:  # type: ignore[no-untyped-def]
    create(SUCCESSOR)
    slug = create()
    active(slug)
    in_db(add_task, slug, title="Write up the case", due=None,
          notes="ring Sam on 07700 900123 or mail sam@example.nhs.uk", actor=CONVENOR, today=DAY0 + timedelta(days=11))
    in_db(close, slug, actor=CONVENOR, reason="the work is done; ask dana@example.nhs.uk",
          successor="pathways", notice_days=14, today=DAY0 + timedelta(days=20), flow_run_id=None)
    out = in_db(archive, slug, actor=CONVENOR, now=True, today=DAY0 + timedelta(days=21), flow_run_id="r9")
    assert len(outbox("final-sponsor-report")) == 1

    folder = home / "archives" / slug
    assert sorted(p.name for p in folder.iterdir()) == ["SHA256SUMS", "community.json", "summary.md"]
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    for f in folder.iterdir():
        text = f.read_text()
        assert not EMAIL.search(text), (f.name, EMAIL.search(text))
        assert "07700" not in text
    data = json.loads((folder / "community.json").read_text())
    assert {m["name"]: m["kind"] for m in data["members"]}["Lee Hart"] == "expert-by-experience"
    assert [s["to"] for s in data["stage_history"]] == ["launching", "active", "closing", "archived"]
    assert data["successor"] == {"slug": "pathways", "name": "Alcohol Care Pathways CoP"}
    assert data["sessions"][0]["attended"] == 4 and data["role_terms"][0]["planning_lead"] == "Sam Okafor"
    assert "Succeeded by **Alcohol Care Pathways CoP**" in (folder / "summary.md").read_text()
    assert str(out.archive).endswith(f"archives/{slug}")

    # The successor's own archive links back.
    active("pathways", ["sam@example.nhs.uk", "kai@example.org"], convenor="sam@example.nhs.uk")
    closing_day = DAY0 + timedelta(days=40)
    in_db(close, "pathways", actor="sam@example.nhs.uk", reason="done", successor=None, notice_days=0,
          today=closing_day, flow_run_id=None)
    in_db(archive, "pathways", actor="sam@example.nhs.uk", now=False, today=closing_day, flow_run_id=None)
    back = json.loads((home / "archives" / "pathways" / "community.json").read_text())
    assert back["predecessors"] == [{"slug": "aaot", "name": "Alcohol Assertive Outreach Community of Practice"}]

    # From now on every write is refused: in the use cases, and at the command line.
    before = counts()
    with pytest.raises(Refused, match="archived"):
        in_db(record_session, slug, held_on=closing_day, attended=[CONVENOR], format=None, topics=[],
              actor=CONVENOR, today=closing_day)
    with pytest.raises(Refused, match="archived"):
        in_db(add_member, slug, name="New Person", email="new@example.org", kind=MemberKind.researcher,
              planning_group=False, actor=CONVENOR, today=closing_day)
    for command in (["session", "record", slug, "--on", "2027-02-20", "--attended", CONVENOR, "--as", CONVENOR],
                    ["task", "add", slug, "Another task", "--as", CONVENOR],
                    ["member", "volunteer", slug, "lee@example.org", "--as", "lee@example.org"],
                    ["continue", slug, "--as", CONVENOR],
                    ["close", slug, "--as", CONVENOR, "--reason", "x"],
                    ["archive", slug, "--as", CONVENOR, "--now"],
                    ["community", "work-done", slug, "--as", CONVENOR]):
        done = cli(*command)
        assert done.returncode == 3 and "archived" in done.stderr, (command, done.stderr)
    assert counts() == before
