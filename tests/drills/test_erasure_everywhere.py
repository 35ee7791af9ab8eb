"""Drill 7: erasure reaches every copy. A CoP lives a whole life through the flows with contact
details typed into every free-text field (topics, stories, outputs, reasons, task titles and
notes, location, domain; names with apostrophes), one email refused by a real SMTP relay (its
error names the address), its first-session invite folded across an address. After the archive
and the retention period, every table and column of copflow's database (reflected, not listed),
every file in the outbox folder and the archive folder is read in every spelling an address can
take (plain, HTML-escaped, JSON \\u escapes, quoted-printable, base64 MIME parts, iCalendar
folds, outbox file names) and holds none of the erased addresses and no phone number, while a
live CoP's people (`joann.lee@...` beside an erased `ann.lee@...`) keep theirs.
Runs on SQLite, and on PostgreSQL under scripts/with-postgres.sh (make test-postgres)."""

from __future__ import annotations

import html
import json
import os
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import MetaData, Text, cast, create_engine, select

from models.erasure import find_phones
from tests.drills.tally import DRILLS
from tests.support.servers import Mailbox, free_port

pytestmark = pytest.mark.flows

LAUNCHED = date(2027, 1, 4)
CLOSED = date(2027, 5, 3)
ARCHIVED = CLOSED + timedelta(days=14)
ERASED_ON = ARCHIVED + timedelta(days=90)
ANN, LEE, RENE, TOM = "ann.lee@example.org", "lee.o'neil@example.org", "rene.cote@example.fr", "tom@example.org"
# Long enough that the invite's ORGANIZER line folds in the middle of her address.
ANN_NAME = "Ann Lee Consultant Nurse in Assertive Outreach"
JOANN, SAM, PRIYA = "joann.lee@example.org", "sam@example.nhs.uk", "priya@example.nhs.uk"
TYPED = ["ana.costa@example.ac.uk", "help.desk@example.nhs.uk"]  # addresses of no one in copflow
ERASED = [ANN, LEE, RENE, TOM, *TYPED]
PHONES = ["07700 900123", "+44 (0)20 7946 0958", "0161 496 0000", "+1 202-555-0143",
          "0800 123 4567", "020 7946 0999", "(0113) 496 0123", "+353 1 234 5678", "07700 900456"]


def _charter(slug: str, convenor: dict[str, str], members: list[dict[str, Any]],
             sponsors: list[dict[str, str]], **more: Any) -> Any:
    from models.charter import Charter

    return Charter.model_validate({
        "name": f"Outreach ({slug})", "slug": slug, "cadence": "monthly", "sponsor_reports": "quarterly",
        "rotate_every_sessions": 1, "domain": "Assertive outreach for alcohol dependence",
        "practice": "Cases and stories from outreach teams", "convenor": convenor,
        "members": members, "sponsors": sponsors, **more})


def _relay(refuse: dict[str, str]) -> tuple[Controller, dict[str, str]]:
    mailbox, port = Mailbox(refuse_rcpt=refuse), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, {"COPFLOW_EMAIL_TRANSPORT": "smtp", "COPFLOW_SMTP_HOST": "127.0.0.1",
                        "COPFLOW_SMTP_PORT": str(port), "COPFLOW_SMTP_SECURITY": "none",
                        "COPFLOW_SMTP_TIMEOUT": "5", "COPFLOW_EMAIL_FROM": "copflow@example.nhs.uk"}


def _use(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str | None]) -> None:
    from tasks.storage.settings import get_settings

    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _gone_cop() -> None:
    """The CoP to be archived: its people, and every free-text field, carry contact details."""
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community

    charter = _charter(
        "gone", {"name": ANN_NAME, "email": ANN},
        [{"name": "Lee O'Neil", "email": LEE, "kind": "expert-by-experience", "planning_group": True},
         {"name": "René D'Arcy-Côté", "email": RENE, "kind": "researcher"},
         {"name": "Sam Okafor", "email": SAM, "kind": "practitioner", "planning_group": True}],
        [{"name": "Tom O'Hara", "email": TOM, "organisation": f"Example ICB (ring {PHONES[5]})"},
         {"name": "Priya Raman", "email": PRIYA, "organisation": "Example Trust"}],
        domain=f"Assertive outreach; questions to {TYPED[1]}",
        practice=f"Cases from outreach teams; call {PHONES[4]}",
        first_session="2027-01-14T14:00", session_minutes=90, format="in-person",
        location=f"Room 2, Example House, ring {PHONES[6]} or {ANN}")
    with session_scope() as db:
        create_community(db, charter, LAUNCHED - timedelta(days=3))


def _live_cop() -> None:
    """A live CoP whose convenor's address contains an erased one; it mentions Ann too."""
    from tasks.storage.db import session_scope
    from tasks.usecases.communities import create_community
    from tasks.usecases.launch import launch
    from tasks.usecases.sessions import record_session

    charter = _charter(
        "live", {"name": "Jo Ann Lee", "email": JOANN},
        [{"name": "Sam Okafor", "email": SAM, "kind": "practitioner", "planning_group": True},
         {"name": "Rob Ince", "email": "rob@example.org", "kind": "practitioner"},
         {"name": "Una Moss", "email": "una@example.org", "kind": "researcher"}],
        [{"name": "Priya Raman", "email": PRIYA, "organisation": "Example Trust"}])
    with session_scope() as db:
        create_community(db, charter, LAUNCHED)
    with session_scope() as db:
        launch(db, "live", actor=JOANN, today=LAUNCHED, flow_run_id=None)
    with session_scope() as db:
        record_session(db, "live", held_on=LAUNCHED + timedelta(days=20), attended=[JOANN, SAM],
                       format=None, topics=[f"Slides from {ANN}", f"Ask {JOANN}"],
                       stories=[f"{ANN} lent us her slides; {JOANN} runs the next one"], actor=JOANN,
                       today=LAUNCHED + timedelta(days=20))


def _life(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The gone CoP's whole life through the flows, then the archive and the retention period."""
    from flows.archive import archive
    from flows.health import health
    from flows.launch import launch
    from flows.requests import (
        ArchiveRequest,
        CloseRequest,
        HealthRequest,
        LaunchRequest,
        ReportRequest,
        RotateRequest,
        SessionRequest,
    )
    from flows.rotate import rotate
    from flows.runtime.dispatch import run_here  # as the command line runs a flow: typed text kept here
    from flows.sponsor_report import sponsor_report
    from models.stories import Consent
    from tasks.storage.db import session_scope
    from tasks.usecases.planning_tasks import add_task
    from tests.support.lifecycle import pid

    _gone_cop()
    _live_cop()
    launch(request=LaunchRequest(slug="gone", actor_id=pid(ANN), today=LAUNCHED))
    stories = [f"Ring Lee on {PHONES[0]} or {PHONES[1]}, or write to {LEE}",
               f"{RENE.upper()} shared a case; the team on {PHONES[2]} ({TYPED[0]})",
               f"Thanks to Ann ({ANN}) and Tom ({TOM})"]
    for i, story in enumerate(stories):
        held = LAUNCHED + timedelta(days=10 + 30 * i)
        run_here("record-session", SessionRequest(
            slug="gone", held_on=held, attended=[pid(p) for p in [ANN, LEE, RENE, SAM][: 2 + i]],
            actor_id=pid(ANN), today=held, topics=[f"Case from {TYPED[0]}", f"Call {PHONES[3]}"],
            stories=[story], consent=Consent.named, outputs=[f"Leaflet: {LEE}, tel. {PHONES[4]}"]))
        with session_scope() as db:
            add_task(db, "gone", title=f"Phone {PHONES[8]} about the venue", due=held + timedelta(days=20),
                     notes=f"ask {TYPED[1]} or {TOM}; Lee is {LEE}", actor=ANN, today=held)
        rotate(request=RotateRequest(today=held + timedelta(days=1)))  # hands the tasks over by email
    health(request=HealthRequest(today=date(2027, 3, 20)))
    sponsor_report(request=ReportRequest(today=date(2027, 4, 2)))
    controller, smtp = _relay({LEE: f"550 5.1.1 <{LEE}>: Recipient address rejected ({PHONES[7]})"})
    try:  # the closing notices go through a relay that refuses Lee, naming the address
        _use(monkeypatch, dict(smtp))
        run_here("close", CloseRequest(slug="gone", actor_id=pid(ANN), today=CLOSED,
                                       reason=f"Ann ({ANN}, {PHONES[1]}) moves on; write to {TYPED[1]}"))
    finally:
        controller.stop()
        _use(monkeypatch, dict.fromkeys(smtp))
    archive(request=ArchiveRequest(today=ARCHIVED))
    _an_older_bundle(home)
    before = _walk_copflow(home)
    calendars = before.texts["outbox_message.calendar"]
    assert any(ANN not in c and ANN in FOLD.sub("", c) for c in calendars)  # folded through it
    PLANTED.update(p.split(": ")[0] for p in before.places_holding(ERASED))
    PLANTED.update(p.split(": ")[0] for p in before.places_with_phones())
    archive(request=ArchiveRequest(today=ERASED_ON - timedelta(days=1)))  # not yet
    assert _walk_copflow(home).places_holding([ANN])
    archive(request=ArchiveRequest(today=ERASED_ON))  # the daily run: retention has passed


def _an_older_bundle(home: Path) -> None:
    """A bundle written before topics were scrubbed: erasure must reach it as it stands."""
    bundle = home / "archives" / "gone"
    data = json.loads((bundle / "community.json").read_text())
    data["topics"].append(f"Case from {TYPED[0]} ({PHONES[0]})")
    (bundle / "community.json").write_text(json.dumps(data, indent=2, ensure_ascii=True))
    with (bundle / "summary.md").open("a") as f:
        f.write(f"\n- Case from {TYPED[0]} ({PHONES[0]})\n")


# --- reading every copy in every spelling -------------------------------------------------------

PLANTED: set[str] = set()  # the places the life put contact details in, before the erasure
FOLD = re.compile(r"\r?\n[ \t]")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def spellings(text: str) -> list[str]:
    """The text as each kind of reader would decode it."""
    unfolded = FOLD.sub("", text)
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), unfolded)
    qp = quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    return [text, unfolded, unescaped, html.unescape(unescaped), html.unescape(FOLD.sub("", qp))]


def holds(text: str, address: str) -> bool:
    """The whole address (not a longer one containing it), case aside; or its outbox file-name
    form (tasks/email/transports.py), as file names and transport references hold it."""
    named = re.sub(r"[^A-Za-z0-9._-]+", "_", address)
    return any(re.search(rf"(?<![\w.'+&#;-]){re.escape(address)}(?![\w-]|\.\w)", view, re.I)
               or re.search(rf"(?<![A-Za-z0-9.]){re.escape(named)}(?![A-Za-z0-9-])", view, re.I)
               for view in spellings(text))


def phones_in(text: str) -> list[str]:
    found = []
    for view in spellings(UUID.sub("", text)):
        found += find_phones(view)  # any phone-shaped number
        found += [p for p in PHONES  # and each planted one, however its digits are spaced
                  if re.search(r"(?<!\d)" + r"\D{0,4}".join(re.sub(r"\D", "", p)) + r"(?!\d)", view)]
    return found


def eml_texts(raw: bytes) -> list[str]:
    """A stored email as its reader sees it: headers decoded, each part's transfer encoding undone."""
    message = message_from_bytes(raw, policy=policy.default)
    texts = [raw.decode("utf-8", "replace")]
    for part in message.walk():
        texts += [f"{k}: {v}" for k, v in part.items()]
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return texts


@dataclass
class Walk:
    texts: dict[str, list[str]] = field(default_factory=dict)  # place -> what it holds

    def add(self, place: str, *texts: str) -> None:
        self.texts.setdefault(place, []).extend(texts)

    def places_holding(self, addresses: list[str]) -> list[str]:
        return [f"{place}: {address}" for place, texts in self.texts.items()
                for address in addresses if any(holds(t, address) for t in texts)]

    def places_with_phones(self) -> list[str]:
        return [f"{place}: {found}" for place, texts in self.texts.items()
                for found in [sorted({p for t in texts for p in phones_in(t)})] if found]


def _walk_database(url: str, walk: Walk, prefix: str = "") -> None:
    """Every table and column the database has, read as stored text (reflected, not listed)."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(bind=engine)
        with engine.connect() as conn:
            for table in meta.tables.values():
                for column in table.columns:
                    values = conn.execute(select(cast(column, Text))).scalars()
                    walk.add(f"{prefix}{table.name}.{column.name}", *(v for v in values if v))
    finally:
        engine.dispose()


def _walk_files(folder: Path, walk: Walk, what: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []:
        raw = path.read_bytes()
        texts = eml_texts(raw) if path.suffix == ".eml" else [raw.decode("utf-8", "replace"), *_result_payload(raw)]
        walk.add(f"{what} {path.relative_to(folder)}", str(path.relative_to(folder)), *texts)


def _result_payload(raw: bytes) -> list[str]:
    """A Prefect result file keeps its value base64-encoded inside JSON: read it decoded too."""
    import base64

    try:
        record = json.loads(raw)
        return [base64.b64decode(record["result"]).decode("latin-1")]
    except (ValueError, KeyError, TypeError):
        return []


def _walk_copflow(home: Path) -> Walk:
    from tasks.storage.paths import database_url

    walk = Walk()
    _walk_database(database_url(), walk)
    _walk_files(home / "outbox", walk, "outbox file")
    _walk_files(home / "archives", walk, "archive file")
    return walk


# --- the drill ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def erased_life(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Path]:
    """One life for the module's checks (a whole life through the flows takes a while)."""
    from tasks.storage.db import engine, upgrade
    from tasks.storage.settings import get_settings
    from tests.conftest import _fresh_database_url

    home = tmp_path_factory.mktemp("erasure") / "copflow-home"
    home.mkdir(mode=0o700)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in [k for k in os.environ if k.startswith("COPFLOW_") and k != "COPFLOW_TEST_POSTGRES_URL"]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("COPFLOW_HOME", str(home))
        url = _fresh_database_url(home)
        if url:
            monkeypatch.setenv("COPFLOW_DATABASE_URL", url)
        get_settings.cache_clear()
        upgrade()
        from prefect.settings import PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

        # As the deployments run (deployments/prefect.yaml): results kept, so the walk reads them.
        with temporary_settings(updates={PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):
            _life(monkeypatch, home)
        yield home
        engine().dispose()
    get_settings.cache_clear()


# Where the life put contact details before the erasure: the drill checks it planted them.
PLACES = {f"outbox_message.{c}" for c in ("calendar", "html_body", "text_body", "last_error", "transport_ref",
                                          "key", "to_email")} | {
    "sponsor_report.figures", "community.close_reason", "community.location", "community.domain",
    "story.text", "flow_text.fields", "cop_session.topics", "cop_session.outputs", "planning_task.title",
    "planning_task.notes", "audit_entry.why", "audit_entry.after", "audit_entry.actor", "person.email",
    "sponsor.organisation"}


def test_no_copy_of_an_erased_address_or_a_phone_number_is_left(erased_life: Path) -> None:
    from tasks.storage.paths import database_url

    assert PLACES <= PLANTED, PLACES - PLANTED
    assert {p.split()[0] for p in PLANTED if " " in p} >= {"outbox", "archive"}
    walk = _walk_copflow(erased_life)
    assert len(walk.texts) > 60 and any(p.startswith("outbox file") for p in walk.texts)
    left = walk.places_holding(ERASED) + walk.places_with_phones()
    assert not left, "\n".join(left)
    assert not any("jo[address" in t or "jo[number" in t for ts in walk.texts.values() for t in ts)
    # The live CoP's people are untouched: their addresses, their rows, their emails on disk.
    for address in (JOANN, SAM, PRIYA):
        assert walk.places_holding([address]), address
    assert any(JOANN in t for t in walk.texts["person.email"])
    assert any(holds(t, JOANN) for place, ts in walk.texts.items() if place.startswith("outbox file")
               for t in ts)
    assert any(f"Ask {JOANN}" in t for t in walk.texts["cop_session.topics"])
    assert database_url().startswith("postgresql" if os.environ.get("COPFLOW_TEST_POSTGRES_URL") else "sqlite")
    DRILLS.erasure(len(walk.texts))


def test_retention_erased_and_recorded_it(erased_life: Path) -> None:
    from sqlalchemy import select as sql_select

    from models.db.tables import AuditEntry, Person
    from tests.drills.support import read

    people = read(lambda db: {p.name: (p.email, p.erased_on) for p in db.scalars(sql_select(Person))})
    assert people[ANN_NAME] == (None, ERASED_ON) and people["Lee O'Neil"] == (None, ERASED_ON)
    assert people["Jo Ann Lee"] == (JOANN, None) and people["Sam Okafor"] == (SAM, None)
    entries = read(lambda db: [e.after for e in db.scalars(sql_select(AuditEntry).where(
        AuditEntry.action == "contacts.erased"))])
    assert entries == [{"people": 4, "archived_on": str(ARCHIVED)}]


def test_prefects_own_database_holds_no_erased_address(erased_life: Path) -> None:
    """Flow-run parameters, events, artifacts, logs, task runs, states, result files: Prefect's
    stores never held the addresses or phone numbers typed into the life's free text."""
    from prefect.settings import get_current_settings

    url = str(get_current_settings().server.database.connection_url.get_secret_value())
    walk = Walk()
    _walk_database(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"), walk, "prefect ")
    storage = Path(str(get_current_settings().results.local_storage_path)).expanduser()
    _walk_files(storage, walk, "prefect result")
    assert any(p.startswith("prefect flow_run.") for p in walk.texts)
    assert any(p.startswith("prefect result") for p in walk.texts)  # the flows' results were kept
    left = walk.places_holding(ERASED) + walk.places_with_phones()
    assert not left, "\n".join(left)
