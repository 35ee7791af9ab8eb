"""Fidelity (read-only): how each CoP stands against the model, each criterion with its evidence.

Reads a page of CoPs at a time (tasks/storage/fidelity.py), applies models/fidelity.py, and
returns plain dicts the CLI prints as text or JSON (and the web app renders). Evidence sentences
come from templates/fidelity/_evidence.j2; `community show` asks for none, so it loads no Jinja.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from models.fidelity import CRITERIA, Evidence, Fidelity, Verdict, assess
from models.lifecycle import require_found
from models.sessions import RECENT_KEPT
from tasks.storage.fidelity import (
    PAGE_SIZE,
    TRENDS_KEPT,
    Cop,
    PageFacts,
    communities,
    fidelity_inputs,
    read_page,
)
from tasks.storage.paging import pages

# As tasks.rendering.TEMPLATES, without loading Jinja.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@cache
def titles() -> dict[str, str]:
    """Each criterion's title (templates/fidelity/titles.json)."""
    return dict(json.loads((TEMPLATES / "fidelity" / "titles.json").read_text(encoding="utf-8")))


@cache
def _evidence_words() -> Any:
    """The evidence template's macros, loaded once (and only when sentences are asked for)."""
    from tasks.rendering import environment

    return environment().get_template("fidelity/_evidence.j2").module


def sentence(evidence: Evidence) -> str:
    return " ".join(str(_evidence_words().sentence(evidence.says, evidence.facts)).split())


def each(db: Connection, slug: str | None, today: date, *,
         evidence: bool = True) -> Iterator[tuple[Cop, PageFacts, Fidelity]]:
    """Each CoP (or the one named) with its page's facts and its fidelity, a page at a time.
    evidence=False: the verdicts are the same, their evidence only what they turned on (the
    portfolio shows verdicts: it need not count every CoP's different people at its sessions)."""
    cops = communities(db, slug)
    if slug is not None:
        require_found(slug, cops[0].stage if cops else None)
    for page in pages(cops, PAGE_SIZE):
        # Every CoP: only the last sessions the portfolio's rules read; one CoP: its page's chart too.
        facts = read_page(db, page, today, slug_range=slug is None,
                          keep=TRENDS_KEPT if slug is None else RECENT_KEPT, people=evidence)
        for cop in page:
            yield cop, facts, assess(fidelity_inputs(facts, cop, today))


def summary(fidelity: Fidelity) -> dict[str, Any]:
    return {
        "met": fidelity.count(Verdict.met),
        "not_met": fidelity.criteria(Verdict.not_met),
        "not_yet_known": fidelity.criteria(Verdict.unknown),
        "of": len(CRITERIA),
    }


def fidelity_view(cop: Cop, fidelity: Fidelity, *, sentences: bool = True) -> dict[str, Any]:
    """One CoP's fidelity; sentences=False leaves out the evidence's words (its facts stay)."""
    return {
        "slug": cop.slug, "name": cop.name, "stage": cop.stage, "summary": summary(fidelity),
        "criteria": [
            {"criterion": r.criterion, "title": titles()[r.criterion], "verdict": r.verdict.value,
             **({"evidence": [sentence(e) for e in r.evidence]} if sentences else {}),
             "facts": [{"says": e.says, **e.facts} for e in r.evidence]}
            for r in fidelity.results
        ],
    }


def fidelity_of(db: Connection, slug: str | None, today: date, *, sentences: bool = True) -> list[dict[str, Any]]:
    """`copflow fidelity`: one CoP, or every CoP (slug None)."""
    return [fidelity_view(cop, fidelity, sentences=sentences) for cop, _, fidelity in each(db, slug, today)]
