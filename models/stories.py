"""Stories of change and the teller's consent: what may leave the CoP, and in what words.

DESIGN 6a: a story is shared beyond the CoP (sponsor reports, archives) only with the teller's
consent. `private` stays in the CoP; `anonymous` is shared with the names of the CoP's people
taken out; `named` is shared as told. With no word from the teller a story is private: the
only consent that cannot share something the teller did not agree to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import lru_cache


class Consent(str, Enum):
    named = "named"
    anonymous = "anonymous"
    private = "private"


DEFAULT_CONSENT = Consent.private  # no word from the teller is no consent to share
MAX_STORIES = 20  # stories recorded for one session in one command


@dataclass(frozen=True)
class StoryFacts:
    """A story as the rules that share it need it."""

    story_id: int
    told_on: date  # the session's date, or the day it surfaced when it belongs to no session
    recorded_on: date
    text: str
    consent: Consent
    teller: str | None = None  # the teller's name, when known
    at_session: bool = True

    @property
    def surfaced_on(self) -> date:
        """The day a story became known: a report shares it in the period containing this day,
        so a story recorded after its session's period ended still reaches the next report."""
        return max(self.told_on, self.recorded_on)


def name_parts(names: Iterable[str]) -> list[str]:
    """Every way a person may be named in a story: the whole name, each hyphenated part and each
    word of two letters or more, longest first (so "Lee Hart" goes before "Lee")."""
    parts: set[str] = set()
    for name in names:
        words = name.split()
        if words:
            parts.add(" ".join(words))
        for word in words:
            parts.update(p for p in [word, *word.split("-")] if len(p.strip(".'")) >= 2)
    return sorted(parts, key=lambda p: (-len(p), p))


def without_names(text: str, names: Iterable[str], replacement: str) -> str:
    """The text with every name of the CoP's people replaced, matched as whole words whatever
    their case (a missed name is worse than a replaced word)."""
    pattern = _names_pattern(tuple(names))
    return pattern.sub(replacement, text) if pattern is not None else text


@lru_cache(maxsize=64)  # a report's stories share one CoP's names
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = name_parts(names)
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in parts) + r")(?!\w)", re.IGNORECASE)


def shared_text(story: StoryFacts, names: Sequence[str], replacement: str) -> str | None:
    """The words that may leave the CoP, or None when the story stays in it."""
    if story.consent is Consent.private:
        return None
    if story.consent is Consent.anonymous:
        return without_names(story.text, names, replacement)
    return story.text


def names_left(text: str, names: Iterable[str]) -> list[str]:
    """Names of the CoP's people still in a text (fidelity's check of an anonymous story)."""
    return [p for p in name_parts(names)
            if re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text, re.IGNORECASE)]


def consent_kept(consent: Consent, shared: str, names: Iterable[str], teller: str | None = None) -> bool:
    """Whether words that left the CoP kept the teller's consent: never a private story, and an
    anonymous one with no name of the CoP's people left in it and its teller not credited."""
    if consent is Consent.private:
        return False
    return consent is Consent.named or not (teller or names_left(shared, names))
