"""The teller's consent: what leaves the CoP, in what words (pure rules, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from models.errors import BadInput
from models.sessions import MAX_GUESTS, require_guests, require_in_life, require_planned
from models.stories import DEFAULT_CONSENT, Consent, StoryFacts, consent_kept, names_left, shared_text, without_names

NAMES = ["Lee Hart", "Anne-Marie Costa", "Sam O'Kafor", "J Bloggs"]


def _story(text: str, consent: Consent) -> StoryFacts:
    return StoryFacts(1, date(2027, 1, 14), date(2027, 1, 14), text, consent)


def test_no_word_from_the_teller_keeps_the_story_in_the_cop() -> None:
    assert DEFAULT_CONSENT is Consent.private
    assert shared_text(_story("Lee told us about his relapse", DEFAULT_CONSENT), NAMES, "[x]") is None


def test_anonymous_takes_out_whole_names_parts_and_any_case() -> None:
    text = "lee HART and Lee met Anne-Marie, Marie and Costa; Sam O'Kafor's idea. Sleet fell."
    out = shared_text(_story(text, Consent.anonymous), NAMES, "[x]")
    assert out == "[x] and [x] met [x], [x] and [x]; [x]'s idea. Sleet fell."
    assert names_left(out or "", NAMES) == []
    assert without_names("J came", NAMES, "[x]") == "J came"  # an initial alone names nobody


def test_named_is_shared_as_told() -> None:
    assert shared_text(_story("Lee Hart said so", Consent.named), NAMES, "[x]") == "Lee Hart said so"


def test_consent_kept_is_what_fidelity_checks() -> None:
    assert consent_kept(Consent.named, "Lee Hart said so", NAMES)
    assert consent_kept(Consent.anonymous, "[x] said so", NAMES)
    assert not consent_kept(Consent.anonymous, "Lee said so", NAMES)
    assert not consent_kept(Consent.anonymous, "[x] said so", NAMES, teller="Lee Hart")  # credited
    assert not consent_kept(Consent.private, "anything", NAMES)


def test_a_story_surfaces_when_it_is_recorded_if_that_is_later() -> None:
    late = StoryFacts(1, date(2027, 3, 11), date(2027, 4, 20), "t", Consent.named)
    assert late.surfaced_on == date(2027, 4, 20)


def test_sessions_belong_to_the_cops_life_and_guests_are_bounded() -> None:
    created, today = date(2027, 1, 1), date(2027, 3, 1)
    assert require_in_life(date(2027, 1, 1), created, today, "aaot") == date(2027, 1, 1)
    with pytest.raises(BadInput, match="before aaot existed"):
        require_in_life(date(2026, 12, 31), created, today, "aaot")
    with pytest.raises(BadInput, match="after today"):
        require_in_life(date(2027, 3, 2), created, today, "aaot")
    assert require_guests(MAX_GUESTS) == MAX_GUESTS
    for bad in (-1, MAX_GUESTS + 1):
        with pytest.raises(BadInput, match="--guests"):
            require_guests(bad)
    from datetime import datetime
    with pytest.raises(BadInput, match="not after today"):
        require_planned(datetime(2027, 3, 1, 14), created, today, "aaot")
    assert require_planned(datetime(2027, 3, 2, 14), created, today, "aaot").day == 2
