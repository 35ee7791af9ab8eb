"""Every email the demo writes, read as its reader gets it (the .eml files), against the rules of
DESIGN section 3 that code can check; and `copflow gallery`, which plays the demo and shows one of
every kind. One gallery run (the demo's year and its epilogue) feeds every test here."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import COPFLOW
from tests.support.emails import COMMAND, Email, facts

pytestmark = pytest.mark.flows

# Every kind of email copflow sends (a template with a subject): the gallery shows each, so a new
# kind fails here until the gallery's epilogue (examples/gallery-epilogue.yaml) writes one.
KINDS = sorted(p.name.removesuffix(".subject.txt") for p in
               (Path(__file__).resolve().parents[2] / "templates" / "email").glob("*.subject.txt"))
SPONSOR_KINDS = {"sponsor-launch-notice", "sponsor-report", "final-sponsor-report"}


@dataclass
class Demo:
    """What the gallery run left: its output, the outbox, and who is who in its database."""

    done: subprocess.CompletedProcess[str]
    dest: Path
    emails: list[Email]
    db: sqlite3.Connection

    def rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return list(self.db.execute(sql, args))

    def template(self, email: Email) -> str:
        return str(self.rows("SELECT template FROM outbox_message WHERE key = ?", email.key)[0][0])

    def community(self, email: Email) -> int | None:
        """The CoP an email is about; None for one about no CoP (a sign-in link)."""
        found = self.rows("SELECT community_id FROM outbox_message WHERE key = ?", email.key)[0][0]
        return None if found is None else int(str(found))

    def queued_on(self, email: Email) -> str:
        return str(self.rows("SELECT queued_on FROM outbox_message WHERE key = ?", email.key)[0][0])

    @property
    def names(self) -> set[str]:
        return {str(n) for (n,) in self.rows("SELECT name FROM person")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("gallery")
    home = root / "home"
    home.mkdir(mode=0o700)
    dest = root / "emails"
    env = {**os.environ, "COPFLOW_HOME": str(home), "PREFECT_HOME": str(root / "prefect"),
           "COPFLOW_DATABASE_URL": ""}
    done = subprocess.run([COPFLOW, "gallery", str(dest)], capture_output=True, text=True, env=env,
                          timeout=900, cwd=root)
    assert done.returncode == 0, done.stderr
    played = home / "gallery"
    emails = [Email.read(p) for p in sorted((played / "outbox").glob("*.eml"))]
    assert len(emails) > 50
    return Demo(done, dest, emails, sqlite3.connect(played / "copflow.db"))


def test_the_gallery_shows_one_of_every_kind_of_email(demo: Demo) -> None:
    assert {demo.template(e) for e in demo.emails} == set(KINDS)  # the demo reaches every kind
    for kind in KINDS:
        html, text = demo.dest / f"{kind}.html", demo.dest / f"{kind}.txt"
        assert "<html" in html.read_text() and "\nSubject: [copflow] " in text.read_text(), kind
    index = (demo.dest / "README.md").read_text()
    assert all(f"[HTML]({kind}.html)" in index for kind in KINDS)
    for kind in KINDS:  # and the index says who gets each, and when
        row = next(line for line in index.splitlines() if line.startswith(f"| {kind} |"))
        assert row.split(" | ")[1].strip(), kind
    assert f"{len(KINDS)} kinds" in demo.done.stdout and str(demo.dest) in demo.done.stdout


def test_the_gallery_pictures_are_taken_by_a_real_browser(demo: Demo) -> None:
    from demo.gallery import WIDTH, why_no_pictures

    browser, missing = why_no_pictures()
    if browser is None:
        pytest.skip(f"no pictures here: {missing} is not installed")
    for kind in KINDS:
        png = (demo.dest / f"{kind}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", kind
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width == WIDTH and height > 300, (kind, width, height)  # the whole message, not a blank


def test_no_email_asks_anyone_to_type_a_command(demo: Demo) -> None:
    for email in demo.emails:
        for part in (email.text, email.html_words):
            assert not COMMAND.search(part), (email.path.name, COMMAND.search(part))


def test_text_and_html_parts_state_the_same_facts(demo: Demo) -> None:
    names = demo.names
    for email in demo.emails:
        text, html = facts(email.text, names), facts(email.html_words, names)
        assert text == html, (email.path.name, {k: text[k] ^ html[k] for k in text if text[k] != html[k]})


def _people(demo: Demo, community: int | None) -> dict[str, tuple[str, bool, bool]]:
    """Address -> (name, convenor, ever led planning) for everyone who was in that CoP."""
    return {str(email): (str(name), bool(convenor), bool(led)) for email, name, convenor, led in demo.rows(
        "SELECT p.email, p.name, m.is_convenor, EXISTS (SELECT 1 FROM role_term t WHERE t.membership_id = m.id)"
        " FROM membership m JOIN person p ON p.id = m.person_id WHERE m.community_id = ?", community)}


def test_members_can_answer_and_nobody_is_asked_to_contact_themselves(demo: Demo) -> None:
    for email in demo.emails:
        people = _people(demo, demo.community(email))
        to_name, to = email.address("To") or ("", "")
        reply = email.address("Reply-To")
        if to in people and reply is None:  # only the convenor leading planning has nobody else to write to
            assert people[to][1] and people[to][2], email.path.name
            assert "reply to this email" not in email.text + email.html_words, email.path.name
            assert "tell the convenor" not in email.text + email.html_words, email.path.name
        elif to in people:  # a member (the convenor included): a reply reaches the convenor or a lead
            name, convenor, led = people.get(reply[1], ("", False, False))
            assert (convenor or led) and reply[1] != to and reply[0] == name, (email.path.name, reply)
        elif reply is not None:  # a sponsor: if anyone, the convenor
            assert people.get(reply[1], ("", False, False))[1], (email.path.name, reply)
        for ask in (f"tell {to_name}", f"let {to_name} know", f"pass it on to {to_name}"):
            assert ask not in email.text and ask not in email.html_words, (email.path.name, ask)
        assert "just say" not in email.text and "just let" not in email.text


def test_nobody_is_invited_to_what_they_run_or_already_belong_to(demo: Demo) -> None:
    invited: Counter[int | None] = Counter()
    for email in demo.emails:
        people, kind = _people(demo, demo.community(email)), demo.template(email)
        to = (email.address("To") or ("", ""))[1]
        if kind == "member-invitation":
            assert not people[to][1], f"{email.path.name}: the convenor is invited to their own CoP"
            invited[demo.community(email)] += 1
        if kind == "closing-notice" and "carries on in" in email.text:
            successor = demo.rows("SELECT successor_id FROM community WHERE id = ?", demo.community(email))[0][0]
            if to in _people(demo, int(successor)):
                assert "invited to join" not in email.text, email.path.name
    # The launch notice counts the members who were invited: the convenor is not one of them.
    for email in demo.emails:
        if demo.template(email) == "sponsor-launch-notice":
            count = re.search(r"launched, with (\d+) members", email.text)
            assert count and int(count[1]) == invited[demo.community(email)], email.path.name


def _stepped_back(demo: Demo, community: int | None, by: str) -> set[str]:
    """Names of people who had opted out of leading or left that CoP by that day and never led it."""
    rows = demo.rows(
        "SELECT DISTINCT p.name FROM audit_entry a JOIN membership m ON m.community_id = a.community_id"
        " JOIN person p ON p.id = m.person_id WHERE a.community_id = ? AND a.on_date <= ?"
        " AND a.action IN ('member.opted-out', 'member.left') AND a.after LIKE '%' || p.email || '%'"
        " AND NOT EXISTS (SELECT 1 FROM role_term t WHERE t.membership_id = m.id)", community, by)
    return {str(n) for (n,) in rows}


def test_sponsor_emails_never_name_anyone_stepping_back(demo: Demo) -> None:
    checked = 0
    for email in demo.emails:
        if demo.template(email) not in SPONSOR_KINDS:
            continue
        gone = _stepped_back(demo, demo.community(email), demo.queued_on(email))
        checked += bool(gone)
        for name in gone:
            assert name not in email.text and name not in email.html_words, (email.path.name, name)
    assert checked  # the epilogue has someone step back before a sponsor report


def test_reports_speak_of_what_happened(demo: Demo) -> None:
    stories: dict[int, list[str]] = defaultdict(list)
    # Stories told with the teller's consent to be named: the final report carries them word for word.
    for community, story in demo.rows("SELECT community_id, text FROM story WHERE consent = 'named'"):
        stories[int(community)].append(str(story))
    for email in demo.emails:
        text, kind = email.text, demo.template(email)
        assert not re.search(r"\b[12] times\b|no date set|\bNone\b|\{\{", text), email.path.name
        if kind == "final-sponsor-report":  # the whole life: every story told, every lead credited
            assert all(s in text for s in stories[demo.community(email)]), email.path.name
            assert "In the members' own words" not in text and "The role rotated" not in text
        if kind == "continuing-notice":
            assert "Good news" not in text and "decided" in text
        if kind == "handover-pack" and "The rota has chosen you" in text:
            assert "Thank you for taking on" not in text and "step back" in text
