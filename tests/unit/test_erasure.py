"""models/erasure.py: whole addresses and phone numbers, found and erased in every spelling."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
from markupsafe import escape

from models.erasure import (
    ADDRESS_ERASED,
    NUMBER_ERASED,
    erase_addresses,
    find_addresses,
    find_phones,
    in_json,
    mentions,
    message_texts,
    needles,
    scrub_free_text,
)

ANN = "ann.lee@example.org"


@pytest.mark.parametrize("text", [
    "ann.lee@example.org", "Ann.Lee@EXAMPLE.ORG", "<ann.lee@example.org>", "mailto:ann.lee@example.org",
    "(ann.lee@example.org)", "end of sentence ann.lee@example.org.", '"ann.lee@example.org"',
    "ann.lee&#64;example.org", "ann.lee\\u0040example.org",
])
def test_the_whole_address_is_erased_however_it_is_written(text: str) -> None:
    out = erase_addresses(text, [ANN])
    assert ADDRESS_ERASED in out and "ann" not in out.lower()


@pytest.mark.parametrize("other", [
    "joann.lee@example.org", "x.ann.lee@example.org", "ann.lee@example.org.uk", "ann.lee@example.orgs",
    "jo'ann.lee@example.org", "jo&#39;ann.lee@example.org", "ann.lee@sub.example.org", "ann.leek@example.org",
])
def test_other_peoples_addresses_that_contain_it_are_left_alone(other: str) -> None:
    assert erase_addresses(f"to {other} today", [ANN]) == f"to {other} today"
    assert not mentions(other, [ANN])


@pytest.mark.parametrize("address", ["lee.o'neil@example.org", "rené.côté@exemple.fr", "a&b@example.org"])
def test_html_and_json_escaped_forms_are_erased(address: str) -> None:
    spelled = [str(escape(address)), address.replace("'", "&#x27;"), address.replace("'", "&apos;"),
               json.dumps(address)[1:-1], json.dumps(address.upper())[1:-1],
               "".join(f"&#{ord(c)};" if ord(c) > 127 else c for c in address)]
    for form in spelled:
        assert erase_addresses(f"<p>{form}</p>", [address]) == f"<p>{ADDRESS_ERASED}</p>", form
        assert mentions(form, [address])
        assert address in find_addresses(f"<p>{form}</p>"), form  # found in one pass, then looked up


def test_a_calendar_folded_through_an_address_is_unfolded_erased_and_folded_again() -> None:
    ics = ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nORGANIZER;CN=Lee O'Neil:mailto:lee.o'neil@exa\r\n"
           " mple.org\r\nATTENDEE:mailto:joann.lee@example.org\r\nDESCRIPTION:Ring 07700 900\r\n"
           " 123 with questions\\, or write to a.very.long.address.indeed.for.folding@exam\r\n"
           " ple.nhs.uk\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    out = erase_addresses(ics, ["lee.o'neil@example.org"])
    assert "mailto:[address erased]\r\n" in out and "joann.lee@example.org" in out
    assert not mentions(out, ["lee.o'neil@example.org"])
    scrubbed = scrub_free_text(ics, keep=frozenset({"joann.lee@example.org"}))
    assert find_addresses(scrubbed) == {"joann.lee@example.org"} and find_phones(scrubbed) == []
    assert all(len(line.encode()) <= 75 for line in scrubbed.split("\r\n"))


@pytest.mark.parametrize("number", [
    "07700 900123", "07700900123", "+44 7700 900123", "+44 (0)7700 900123", "+44 (0) 20 7946 0958",
    "020 7946 0958", "(020) 7946 0958", "0161-496-0000", "0161 496 0000", "020.7946.0958",
    "0800 123 4567", "+1 202-555-0143", "+1 (202) 555-0143", "+353 1 234 5678", "00 44 20 7946 0958",
    "+33 1 23 45 67 89", "0044 161 496 0000",
])
def test_phone_numbers_in_uk_and_international_formats_are_found(number: str) -> None:
    text = f"Ring {number}, any time."
    assert scrub_free_text(text) == f"Ring {NUMBER_ERASED}, any time."


@pytest.mark.parametrize("text", [
    "held on 2027-05-05 at 10:00", "12 people, 3 cases", "version 3.11.2", "05/05/2027",
    "ticket 12345678901", "0.5 hours", "room 0161",
])
def test_dates_counts_and_short_numbers_are_not_phone_numbers(text: str) -> None:
    assert scrub_free_text(text) == text


def test_free_text_keeps_only_the_addresses_of_people_still_in_a_live_cop() -> None:
    text = "Case from ana.costa@example.ac.uk; ask sam@example.nhs.uk or LEE.O&#39;NEIL@example.org"
    out = scrub_free_text(text, keep=frozenset({"sam@example.nhs.uk"}))
    assert out == f"Case from {ADDRESS_ERASED}; ask sam@example.nhs.uk or {ADDRESS_ERASED}"
    assert scrub_free_text("see python@3.11 and <id@copflow>") == "see python@3.11 and <id@copflow>"


def test_json_values_are_walked_keys_and_all() -> None:
    value = {"ann.lee@example.org": ["x ann.lee@example.org", 3, None], "n": {"k": "joann.lee@example.org"}}
    out = in_json(value, lambda s: erase_addresses(s, [ANN]))
    assert out == {ADDRESS_ERASED: [f"x {ADDRESS_ERASED}", 3, None], "n": {"k": "joann.lee@example.org"}}


def test_the_database_filter_pieces_survive_every_escape() -> None:
    assert needles("lee.o'neil@Example.org") == {"lee.o", "neil", "example.org"}
    assert needles("rené@example.fr") == {"ren", "example.fr"}
    for form in (escape("lee.o'neil@example.org"), json.dumps("lee.o'neil@example.org")):
        assert all(piece in str(form).lower() for piece in needles("lee.o'neil@example.org"))


def test_a_message_is_read_as_its_reader_sees_it() -> None:
    message = EmailMessage()
    message["To"] = "Rene Lee <rené@example.fr>"
    message["Subject"] = "Liste des membres: ré"
    message.set_content("Écrivez à rené@example.fr", cte="quoted-printable")
    message.add_alternative("<p>rené@example.fr</p>", subtype="html", cte="base64")
    raw = bytes(message)
    assert "rené@example.fr" not in raw.decode("utf-8", "replace").split("\n\n", 1)[1]
    assert any("rené@example.fr" in t for t in message_texts(raw)[1:])
    assert sum(mentions(t, ["rené@example.fr"]) for t in message_texts(raw)) >= 3
