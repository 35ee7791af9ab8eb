"""The archive bundle: what goes in it, scrubbed of contact details, written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models.db.tables import (
    Attendance,
    AuditEntry,
    Community,
    CopSession,
    HealthRecord,
    Membership,
    PlanningTask,
    RoleTerm,
)
from models.erasure import in_json, scrub_free_text
from tasks.crashpoints import crash_point
from tasks.rendering import render
from tasks.storage.paths import private_folder
from tasks.storage.queries import sponsors_of
from tasks.storage.settings import get_settings

ADDRESS_REMOVED, NUMBER_REMOVED = "[address removed]", "[number removed]"


def scrub(text: str | None) -> str | None:
    """Free text (notes, stories, topics) may hold contact details people typed; leave them out:
    every address, however spelled, and every phone number (models/erasure.py)."""
    if text is None:
        return None
    return scrub_free_text(text, address_marker=ADDRESS_REMOVED, number_marker=NUMBER_REMOVED)


def scrub_all(data: dict[str, Any]) -> dict[str, Any]:
    """Every string in the bundle's data scrubbed: a field added later cannot carry an address in."""
    scrubbed: dict[str, Any] = in_json(data, lambda text: scrub(text) or "")
    return scrubbed


def _names(db: Session, community: Community) -> dict[str, str]:
    """Email -> name for everyone in this CoP, so the bundle can say who acted without addresses."""
    people = db.scalars(select(Membership).options(selectinload(Membership.person))
                        .where(Membership.community_id == community.id))
    names = {m.person.email: m.person.name for m in people if m.person.email}
    names.update({s.person.email: f"{s.person.name} (sponsor)" for s in sponsors_of(db, community)
                  if s.person.email})
    return names


def archived_stories(db: Session, community: Community) -> list[dict[str, Any]]:
    """The stories the teller agreed may leave the CoP, in the words their consent allows:
    never a private one; an anonymous one without the names of the CoP's people."""
    from models.stories import shared_text
    from tasks.usecases.stories import name_withheld, people_names, story_facts

    names, withheld = people_names(db, community), name_withheld()
    kept = []
    for story in story_facts(db, community):
        text = shared_text(story, names, withheld)
        if text is not None:
            kept.append({"held_on": str(story.told_on), "at_session": story.at_session,
                         "text": scrub(text), "consent": story.consent.value,
                         "teller": story.teller if story.consent.value == "named" else None})
    return kept


def bundle_data(db: Session, community: Community, *, today: date) -> dict[str, Any]:
    names = _names(db, community)
    members = list(db.scalars(select(Membership).options(selectinload(Membership.person))
                              .where(Membership.community_id == community.id).order_by(Membership.id)))
    sessions = list(db.scalars(select(CopSession).options(
        selectinload(CopSession.attendance).selectinload(Attendance.membership)
        .selectinload(Membership.person))
        .where(CopSession.community_id == community.id).order_by(CopSession.held_on)))
    tasks = db.scalars(select(PlanningTask).options(selectinload(PlanningTask.owner)
                                                    .selectinload(Membership.person))
                       .where(PlanningTask.community_id == community.id).order_by(PlanningTask.id))
    terms = db.scalars(select(RoleTerm).options(selectinload(RoleTerm.membership)
                                                .selectinload(Membership.person))
                       .where(RoleTerm.community_id == community.id).order_by(RoleTerm.id))
    stages = db.scalars(select(AuditEntry).where(AuditEntry.community_id == community.id,
                                                 AuditEntry.action == "stage.changed")
                        .order_by(AuditEntry.id))
    health = db.scalars(select(HealthRecord).where(HealthRecord.community_id == community.id)
                        .order_by(HealthRecord.on_date))
    successor = db.get(Community, community.successor_id) if community.successor_id else None
    predecessors = db.scalars(select(Community).where(Community.successor_id == community.id)
                              .order_by(Community.slug))

    stories = archived_stories(db, community)

    def who(actor: str) -> str:
        return names.get(actor, "copflow" if "@" not in actor else "someone outside the CoP")

    def link(c: Community) -> dict[str, str]:
        return {"slug": c.slug, "name": c.name}

    return scrub_all({
        "format": "copflow-archive/1",
        "archived_on": str(today),
        "charter": {
            "name": community.name, "slug": community.slug, "domain": scrub(community.domain),
            "practice": scrub(community.practice), "cadence": community.cadence,
            "sponsor_reports": community.sponsor_reports,
            "rotate_every_sessions": community.rotate_every_sessions,
            "format": community.format, "session_minutes": community.session_minutes,
            "first_session": community.first_session.isoformat() if community.first_session else None,
            "sponsors": [{"name": s.person.name, "organisation": s.organisation}
                         for s in sponsors_of(db, community)],
        },
        "members": [{"name": m.person.name, "kind": "convenor" if m.is_convenor else m.kind,
                     "planning_group": m.planning_group, "joined_on": str(m.joined_on),
                     "left_on": str(m.left_on) if m.left_on else None} for m in members],
        "stage_history": [{"on": str(e.on_date), "from": (e.before or {}).get("stage"),
                           "to": (e.after or {}).get("stage"), "by": who(e.actor),
                           "why": scrub(e.why)} for e in stages],
        "closing": {"reason": scrub(community.close_reason), "since": str(community.closing_since),
                    "notice_ended_on": str(community.notice_ends_on)},
        "sessions": [{"held_on": str(s.held_on), "format": s.format, "topics": s.topics,
                      "methods": s.methods, "outputs": [scrub(o) for o in s.outputs],
                      "stories": [st["text"] for st in stories if st["held_on"] == str(s.held_on)
                                  and st["at_session"]],
                      "attended": len(s.attendance) + (s.guests or 0), "guests": s.guests or 0,
                      "attendees": sorted(a.membership.person.name for a in s.attendance)}
                     for s in sessions],
        "stories": stories,
        "topics": list(dict.fromkeys(t for s in sessions for t in s.topics)),
        "tasks": [{"title": scrub(t.title), "notes": scrub(t.notes),
                   "due": str(t.due) if t.due else None, "status": t.status,
                   "owner": t.owner.person.name, "done_on": str(t.done_on) if t.done_on else None}
                  for t in tasks],
        "role_terms": [{"planning_lead": t.membership.person.name, "started_on": str(t.started_on),
                        "ended_on": str(t.ended_on) if t.ended_on else None} for t in terms],
        "health_history": [{"on": str(h.on_date), "figures": h.figures, "signals": h.signals}
                           for h in health],
        "successor": link(successor) if successor else None,
        "predecessors": [link(p) for p in predecessors],
    })


def write_bundle(data: dict[str, Any], slug: str, root: str | None = None) -> str:
    """Write the bundle to <root>/<slug>/ atomically (temp folder, then rename); return its URL.
    In a local folder, the bundle is its user's alone (0700 folders, 0600 files)."""
    root = _private_root(root)  # checked before any work: a folder others can write in is refused
    return write_files(_files(data), slug, root)


def _files(data: dict[str, Any]) -> dict[str, str]:
    return {
        "community.json": json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
        "summary.md": render("archive/summary.md", data=data),
    }


def rescrub_bundle(uri: str, erase: Callable[[str], str]) -> bool:
    """Rewrite a bundle already written with `erase` (str -> str) applied to every string of its
    data, its summary rendered again from that data; False when there is no bundle there."""
    fs, base = fsspec.core.url_to_fs(uri)
    if not fs.exists(f"{base}/community.json"):
        return False
    with fs.open(f"{base}/community.json", "rb") as f:
        data = json.loads(f.read().decode())
    files = _files(in_json(data, erase))
    root, slug = uri.rstrip("/").rsplit("/", 1)
    write_files(files, slug, root)
    return True


def write_files(files: dict[str, str], slug: str, root: str | None = None) -> str:
    """Write these files and their SHA256SUMS as the bundle <root>/<slug>/, whole or not at all."""
    root = _private_root(root)
    fs, base = fsspec.core.url_to_fs(root)
    local = isinstance(fs, LocalFileSystem)
    final, temp = f"{base}/{slug}", f"{base}/.{slug}.{uuid.uuid4().hex}.tmp"
    for leftover in fs.glob(f"{base}/.{slug}.*.tmp"):
        # Half-written by an attempt that died: never part of an archive.
        fs.rm(leftover, recursive=True)
    if local:
        os.mkdir(temp, 0o700)  # a new name: fails rather than use anything already there
    else:
        fs.makedirs(temp, exist_ok=True)
    sums = []
    for name, text in files.items():
        body = text.encode()
        _write(fs, f"{temp}/{name}", body, local)
        sums.append(f"{hashlib.sha256(body).hexdigest()}  {name}\n")
        crash_point("archive.file-written")
    _write(fs, f"{temp}/SHA256SUMS", "".join(sums).encode(), local)
    crash_point("archive.file-written")
    if not local:
        _publish(fs, temp, final, [*files, "SHA256SUMS"])
    else:
        if fs.exists(final):
            # Left by an earlier attempt whose transaction did not commit: the CoP is not archived.
            fs.rm(final, recursive=True)
        fs.mv(temp, final, recursive=True)
    crash_point("archive.bundle-written")
    return root + "/" + slug


def _publish(fs: Any, temp: str, final: str, names: list[str]) -> None:
    """An object store has no folder to rename: copy each object over its old self (each copy
    is whole), SHA256SUMS last, drop objects the bundle no longer has, then the temporary ones."""
    for name in names:
        fs.copy(f"{temp}/{name}", f"{final}/{name}")
    for stale in fs.find(final):
        if stale.rsplit("/", 1)[-1] not in names:
            fs.rm(stale)
    fs.rm(temp, recursive=True)
    fs.invalidate_cache(final)


def _private_root(root: str | None) -> str:
    """The archive root; a local folder is made private, and refused if others can write in it."""
    root = (root or get_settings().archive_root).rstrip("/")
    fs, base = fsspec.core.url_to_fs(root)
    if isinstance(fs, LocalFileSystem):
        private_folder(Path(base), "the archive folder")
    return root


def _write(fs: Any, path: str, body: bytes, local: bool) -> None:
    if not local:  # object stores: access is the bucket's or container's policy
        with fs.open(path, "wb") as f:
            f.write(body)
        return
    # A new file only (O_EXCL), never through a link (O_NOFOLLOW), its user's alone.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(body)
