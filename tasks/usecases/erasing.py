"""Walking every store copflow keeps, to erase contact details from each copy (DESIGN 6a).

The database is walked from the schema (models/db/schema.py `metadata`): every String, Text and
JSON column of every table, so a column added later is covered without a change here. The
rules for finding an address or a phone number, in every spelling, are models/erasure.py.

- An erased person's address goes from every row of every table (whole address only).
- Once a CoP's retention period has ended, its own rows' free text loses every address but
  those of people still in a live CoP, and every phone number.
- The outbox folder: an email file of such a CoP, or naming an erased address, is deleted. The
  outbox row stays as the (scrubbed) record of what was sent; rewriting a MIME file (encoded
  headers, quoted-printable, base64, a folded calendar) risks leaving one spelling behind, and
  the file's name is made from the key, which held the address.
- Archive bundles of those CoPs are rewritten with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, Text, and_, cast, func, not_, or_, select, true, update
from sqlalchemy.orm import Session

from models.db.schema import metadata
from models.db.tables import Community, OutboxMessage
from models.erasure import (
    ADDRESS_ERASED,
    erase_addresses,
    find_addresses,
    in_json,
    message_texts,
    needles,
    scrub_free_text,
)
from tasks.archive.bundle import ADDRESS_REMOVED, NUMBER_REMOVED, rescrub_bundle

FILE_ERASED = "[file erased]"
NOT_SENT = "not sent: contact details erased"
# Unique columns are identifiers: an erased address there becomes a token naming the person.
TOKENS = {("outbox_message", "key"): "erased-{id}", ("audit_entry", "actor"): "erased person #{id}"}
NOT_FREE_TEXT = {("community", "archive_uri")}  # where the bundle is, not what anyone wrote
BATCH = 500
_AT = re.compile(r"@|&#64;|&#x40;|\\u0040", re.IGNORECASE)  # no address without one of these
ADDRESSES_PER_QUERY = 40


def text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, String | Text | JSON)]


def _rewrite(db: Session, table: Table, where: ColumnElement[bool], columns: list[Any],
             change: Callable[[str], Callable[[str], str]]) -> int:
    """Apply change(column name) to each value of these columns in the rows `where` picks,
    page by page; returns how many rows changed."""
    key = list(table.primary_key.columns)
    changed, last = 0, None
    if not columns:
        return 0
    while True:
        page = select(*key, *columns).where(where).order_by(*key).limit(BATCH)
        if last is not None:
            page = page.where(key[0] > last)
        rows = db.execute(page).all()
        for row in rows:
            values = {c.name: in_json(row._mapping[c.name], change(c.name))
                      for c in columns if row._mapping[c.name] is not None}
            values = {k: v for k, v in values.items() if v != row._mapping[k]}
            if values:
                if "version" in table.c:  # optimistic locking: a stale writer loses
                    values["version"] = table.c.version + 1
                db.execute(update(table).where(*(k == row._mapping[k.name] for k in key)).values(values))
                changed += 1
        if len(rows) < BATCH or len(key) != 1:
            return changed
        last = rows[-1]._mapping[key[0].name]


def _may_hold(db: Session, columns: list[Any], addresses: Iterable[str]) -> ColumnElement[bool]:
    """A coarse SQL filter, case aside: some column holds a plain piece of one of the addresses
    (a piece every stored spelling keeps; models.erasure.needles)."""
    wanted = []
    for address in addresses:
        local = address.rsplit("@", 1)[0]
        # The local part's longest piece picks few rows; a domain is shared by many people.
        pieces = sorted(needles(address), key=lambda p: (p in local, len(p)))
        if not pieces:
            return true()
        for column in columns:
            text = cast(column, Text)
            # SQLite's LIKE ignores ASCII case already; lower() would cost a copy of each value.
            wanted.append(text.contains(pieces[-1], autoescape=True) if db.get_bind().dialect.name == "sqlite"
                          else text.icontains(pieces[-1], autoescape=True))
    return or_(False, *wanted)  # nothing to look for: no row may hold it


def _own_rows(table: Table, communities: set[int]) -> ColumnElement[bool] | None:
    """The rows of these CoPs (and of no CoP) in this table; None: the table has no CoP column."""
    if "community_id" in table.c:
        return or_(table.c.community_id.in_(communities), table.c.community_id.is_(None))
    if table.name == "community":
        return table.c.id.in_(communities)
    return None


def erase_everywhere(db: Session, people: dict[str, int], communities: set[int]) -> int:
    """Each erased address (plain, lower case -> person id) out of every text and JSON column
    of every table; returns how many rows changed. Their own CoPs' rows (where the address is
    an actor, a recipient, an invite's folded ORGANIZER) are all read; elsewhere it can only
    have been typed, and the database picks the rows that may hold it."""
    addresses, changed = sorted(people), 0
    for table in metadata.sorted_tables:
        columns = text_columns(table)
        own = _own_rows(table, communities)

        def change(column: str, table: Table = table) -> Callable[[str], str]:
            return partial(_erase_found, people=people, token=TOKENS.get((table.name, column)))
        changed += _rewrite(db, table, true() if own is None else own, columns, change)
        if own is None:
            continue
        # Each filtered read scans the table in the database once per address; past a few
        # dozen people, reading every row once (and finding addresses in one pass) is cheaper.
        many = len(addresses) > ADDRESSES_PER_QUERY
        others = not_(own) if many else and_(not_(own), _may_hold(db, columns, addresses))
        changed += _rewrite(db, table, others, columns, change)
    return changed


def _erase_found(value: str, *, people: dict[str, int], token: str | None) -> str:
    """The value with each erased address in it replaced. Addresses are found in one pass over
    the text, then looked up: the cost does not grow with the number of people erased."""
    if not _AT.search(value):
        return value
    for address in find_addresses(value) & people.keys():
        value = erase_addresses(value, [address], token.format(id=people[address]) if token else ADDRESS_ERASED)
    return value


def fail_unsent(db: Session, addresses: Iterable[str]) -> int:
    """Emails to an erased address not yet sent never will be: failed, saying why."""
    result = db.execute(update(OutboxMessage).where(
        func.lower(OutboxMessage.to_email).in_(sorted(addresses)),
        OutboxMessage.status.in_(("pending", "sending", "held")))
        .values(status="failed", last_error=NOT_SENT))
    return int(getattr(result, "rowcount", 0) or 0)


def scrub_free_text_of(db: Session, community_ids: set[int], keep: frozenset[str]) -> int:
    """Every address but those in `keep`, and every phone number, out of these CoPs' own rows."""
    changed = 0
    for table in metadata.sorted_tables:
        if "community_id" in table.c:
            where = table.c.community_id.in_(community_ids)
        elif table.name == "community":
            where = table.c.id.in_(community_ids)
        else:
            continue
        columns = [c for c in text_columns(table)
                   if not c.unique and (table.name, c.name) not in NOT_FREE_TEXT]

        def change(column: str) -> Callable[[str], str]:
            return lambda value: scrub_free_text(value, keep)
        changed += _rewrite(db, table, where, columns, change)
    return changed


def erase_outbox_files(db: Session, folder: Path, community_ids: set[int],
                       addresses: Iterable[str]) -> int:
    """Delete the email files of these CoPs' messages, and any file in the outbox folder naming
    an erased address in any header or part; the rows then say the file is gone."""
    addresses = sorted(addresses)
    rows = db.execute(select(OutboxMessage.id, OutboxMessage.transport_ref).where(
        OutboxMessage.transport == "file", OutboxMessage.transport_ref.is_not(None),
        OutboxMessage.transport_ref != FILE_ERASED,
        or_(OutboxMessage.community_id.in_(community_ids),
            func.lower(OutboxMessage.to_email).in_(addresses)))).all()
    deleted = sum(_delete_in(folder, Path(ref)) for _, ref in rows if ref)
    if rows:
        db.execute(update(OutboxMessage).where(OutboxMessage.id.in_([i for i, _ in rows]))
                   .values(transport_ref=FILE_ERASED))
    if addresses and folder.is_dir():
        deleted += sum(_delete_in(folder, path) for path in sorted(folder.iterdir())
                       if _names_any(path, frozenset(addresses)))
    return deleted


def _names_any(path: Path, addresses: frozenset[str]) -> bool:
    """Whether this outbox file names an erased address anywhere a reader would see it."""
    if path.is_symlink() or not path.is_file() or not path.name.endswith(".eml"):
        return False
    return any(find_addresses(text) & addresses for text in message_texts(path.read_bytes()))


def _delete_in(folder: Path, path: Path) -> bool:
    """Delete a file copflow wrote in the outbox folder (a link there is removed, not followed)."""
    if path.parent.resolve() != folder.resolve() or not (path.is_symlink() or path.is_file()):
        return False
    path.unlink(missing_ok=True)
    return True


def rescrub_bundles(db: Session, community_ids: set[int]) -> int:
    """Rewrite the archive bundles of these CoPs with no address and no phone number in them
    (the rule a bundle is written by; one written before a rule existed is reached too)."""
    def erase(value: str) -> str:
        return scrub_free_text(value, address_marker=ADDRESS_REMOVED, number_marker=NUMBER_REMOVED)
    uris = db.scalars(select(Community.archive_uri).where(Community.id.in_(community_ids),
                                                          Community.archive_uri.is_not(None)))
    return sum(rescrub_bundle(uri, erase) for uri in uris if uri)
