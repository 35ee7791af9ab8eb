"""The charter schema and the YAML reader: every rule, every refusal. No database."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from models.charter import Charter, slug_from_name
from models.errors import BadInput
from models.vocabulary import Cadence, MemberKind
from tasks.charter_file import field_path, load_charter, parse_charter
from tests.conftest import SAMPLE_CHARTER

SAMPLE: dict[str, Any] = yaml.safe_load(SAMPLE_CHARTER.read_text())


def charter(**changes: Any) -> dict[str, Any]:
    data = deepcopy(SAMPLE)
    data.update(changes)
    return data


def refusal(data: dict[str, Any]) -> str:
    """The one line a convenor would read for this charter."""
    with pytest.raises(BadInput) as caught:
        parse_charter(yaml.safe_dump(data, sort_keys=False), "c.yaml")
    return str(caught.value)


def test_the_sample_charter_is_complete() -> None:
    c = Charter.model_validate(SAMPLE)
    assert c.slug == "aaot"
    assert c.cadence is Cadence.monthly
    assert c.first_session == datetime(2027, 1, 14, 14, 0)
    assert [m.kind for m in c.members] == [
        MemberKind.practitioner, MemberKind.expert_by_experience, MemberKind.researcher]
    assert c.members[0].planning_group and not c.members[1].planning_group
    assert c.missing_for_launch() == []


def test_emails_are_normalised_to_lower_case() -> None:
    c = Charter.model_validate(charter(convenor={"name": "Dana", "email": " Dana@Example.NHS.uk "}))
    assert c.convenor is not None and c.convenor.email == "dana@example.nhs.uk"


def test_a_name_alone_is_enough_to_create_and_the_gaps_are_listed() -> None:
    c = Charter.model_validate({"name": "Wound care CoP"})
    assert c.slug == "wound-care-cop"
    assert c.missing_for_launch() == [
        "domain", "practice", "convenor", "at least one sponsor", "at least 3 members", "cadence"]


def test_two_members_are_not_enough_to_launch() -> None:
    c = Charter.model_validate(charter(members=SAMPLE["members"][:2], cadence=None))
    assert c.missing_for_launch() == ["at least 3 members", "cadence"]


@pytest.mark.parametrize(("name", "slug"), [
    ("Alcohol Assertive Outreach", "alcohol-assertive-outreach"),
    ("  Café -- Société  ", "cafe-societe"),
    ("Mental Health (Adults) & Housing!", "mental-health-adults-housing"),
    ("x" * 100, "x" * 64),
    ("a" * 63 + " b", "a" * 63),
])
def test_a_slug_is_derived_from_the_name(name: str, slug: str) -> None:
    assert slug_from_name(name) == slug
    assert Charter.model_validate({"name": name}).slug == slug


def test_a_name_with_no_letters_or_digits_needs_an_explicit_slug() -> None:
    assert "slug: cannot derive" in refusal({"name": "!!!"})
    assert Charter.model_validate({"name": "!!!", "slug": "ok"}).slug == "ok"


@pytest.mark.parametrize("slug", ["Bad_Slug", "AAOT", "-aaot", "aaot-", "a--b", "a b", "a" * 65, "", "ünï"])
def test_bad_slugs_are_refused(slug: str) -> None:
    assert refusal(charter(slug=slug)).startswith("c.yaml: slug: use ")


@pytest.mark.parametrize("slug", ["a", "aaot", "a-b-c", "cop-2027", "9"])
def test_good_slugs_are_kept(slug: str) -> None:
    assert Charter.model_validate(charter(slug=slug)).slug == slug


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"colour": "blue"}, "colour", "unknown key"),
    ({"convenor": {"name": "Dana", "email": "dana@example.org", "phone": "1"}}, "convenor.phone", "unknown key"),
    ({"convenor": {"name": "Dana", "email": "not-an-email"}}, "convenor.email", "not a valid email"),
    ({"convenor": {"name": "Dana", "email": "dana@"}}, "convenor.email", "not a valid email"),
    ({"sponsors": [{"name": "P", "email": "p@@example.org"}]}, "sponsors[0].email", "not a valid email"),
    ({"members": [{"name": "S", "email": "s example.org"}]}, "members[0].email", "not a valid email"),
    ({"convenor": {"name": "Dana"}}, "convenor.email", "Field required"),
    ({"name": None}, "name", "valid string"),
    ({"name": "   "}, "name", "at least 1 character"),
    ({"name": "Line\nbreak"}, "name", "single line"),
    ({"convenor": {"name": "Dana\r\nBcc: x@evil.example", "email": "d@example.org"}}, "convenor.name", "single line"),
    ({"members": [{"name": "Tab\there", "email": "t@example.org"}]}, "members[0].name", "single line"),
    ({"location": "Room 1\r\nX-Header: y"}, "location", "single line"),
    ({"cadence": "daily"}, "cadence", "'weekly', 'fortnightly', 'monthly' or 'quarterly'"),
    ({"sponsor_reports": "weekly"}, "sponsor_reports", "'monthly' or 'quarterly'"),
    ({"format": "carrier pigeon"}, "format", "'online', 'in-person' or 'hybrid'"),
    ({"members": [{"name": "S", "email": "s@example.org", "kind": "manager"}]}, "members[0].kind", "practitioner"),
    ({"members": [{"name": "S", "email": "s@example.org", "planning_group": 1}]}, "members[0].planning_group", "boolean"),
    ({"rotate_every_sessions": 0}, "rotate_every_sessions", "greater than or equal to 1"),
    ({"rotate_every_sessions": True}, "rotate_every_sessions", "valid integer"),
    ({"rotate_every_sessions": "3"}, "rotate_every_sessions", "valid integer"),
    ({"session_minutes": 5}, "session_minutes", "greater than or equal to 15"),
    ({"first_session": "next Tuesday"}, "first_session", "datetime"),
    ({"members": "Sam, Lee and Ana"}, "members", "valid list"),
    ({"convenor": "Dana Whitlow"}, "convenor", "dictionary"),
    ({"domain": "x" * 5001}, "domain", "at most 5000"),
])
def test_malformed_fields_are_refused_naming_the_field(changes: dict[str, Any], field: str, words: str) -> None:
    message = refusal(charter(**changes))
    assert message.startswith(f"c.yaml: {field}: "), message
    assert words in message


def test_several_problems_are_counted_after_the_first() -> None:
    assert refusal(charter(cadence="daily", format="x", colour=1)).endswith("(and 2 more problems)")


DANA = {"name": "Dana Whitlow", "email": "dana@example.nhs.uk"}
PRIYA = {"name": "Priya Raman", "email": "priya@example.nhs.uk"}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"sponsors": [DANA]}, "sponsors[0]: a sponsor cannot be the convenor (dana@example.nhs.uk)"),
    ({"sponsors": [{"name": "D", "email": "DANA@example.nhs.uk"}]},
     "sponsors[0]: a sponsor cannot be the convenor (dana@example.nhs.uk)"),
    ({"members": [*SAMPLE["members"], {**PRIYA, "planning_group": True}]},
     "sponsors[0]: a sponsor cannot sit on the planning group (priya@example.nhs.uk)"),
    ({"members": [*SAMPLE["members"], PRIYA]},
     "sponsors[0]: priya@example.nhs.uk is already listed as members[3]"),
    ({"members": [*SAMPLE["members"], {"name": "Sam again", "email": "sam@example.nhs.uk"}]},
     "members[3]: sam@example.nhs.uk is already listed as members[0]"),
    ({"members": [*SAMPLE["members"], DANA]}, "members[3]: dana@example.nhs.uk is already listed as convenor"),
    ({"sponsors": [PRIYA, {**PRIYA}]}, "sponsors[1]: priya@example.nhs.uk is already listed as sponsors[0]"),
])
def test_cross_field_rules(changes: dict[str, Any], expected: str) -> None:
    assert refusal(charter(**changes)) == f"c.yaml: {expected}"


def test_without_a_convenor_the_other_rules_still_hold() -> None:
    data = charter(convenor=None, members=[*SAMPLE["members"], {**PRIYA, "planning_group": True}])
    assert "cannot sit on the planning group" in refusal(data)


# -- the YAML itself -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("", "a charter is a YAML mapping"),
    ("- name: x\n", "a charter is a YAML mapping"),
    ("just a sentence\n", "a charter is a YAML mapping"),
    ("name: [unclosed\n", "at line"),
    ("name: x\n  bad: indent\n", "at line 2"),
    ("base: &b {name: D, email: d@example.org}\nname: x\nconvenor: *b\n", "anchors and aliases"),
    ("name: &n x\n", "anchors and aliases"),
    ("name: x\nconvenor: !!python/object:os.system {}\n", "YAML tag tag:yaml.org,2002:python/object:os.system"),
    ("name: !!python/name:os.system x\n", "YAML tag"),
    ("name: !!binary aGVsbG8=\n", "YAML tag tag:yaml.org,2002:binary"),
    ("name: x\ndomain: !!set {a, b}\n", "YAML tag tag:yaml.org,2002:set"),
    ("name: !custom x\n", "YAML tag !custom"),
    ("name: x\nname: y\n", "line 2: 'name' is given twice"),
    ("name: x\nconvenor: {name: D, email: d@example.org, email: e@example.org}\n", "'email' is given twice"),
    ("name: x\n<<: {slug: merged}\n", "merge keys"),
    ("name: x\n? [a, b]\n: c\n", "key must be plain text"),
])
def test_only_plain_yaml_is_read(text: str, words: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_charter(text, "c.yaml")
    message = str(caught.value)
    assert message.startswith("c.yaml: ") and words in message, message
    assert "\n" not in message


def test_plain_tags_and_quoted_dates_are_fine() -> None:
    c = parse_charter("name: !!str Wound care\nrotate_every_sessions: !!int 4\nfirst_session: 2027-02-01 10:00:00\n")
    assert (c.name, c.rotate_every_sessions, c.first_session) == ("Wound care", 4, datetime(2027, 2, 1, 10))


def test_charter_type_errors_do_not_leak_pydantic_tracebacks() -> None:
    with pytest.raises(ValidationError):
        Charter.model_validate({"name": "x", "cadence": "daily"})


@pytest.mark.parametrize(("loc", "path"), [
    ((), ""), (("name",), "name"), (("members", 2, "email"), "members[2].email"), (("sponsors", 0), "sponsors[0]"),
])
def test_field_paths_read_like_the_charter(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


def test_a_byte_order_mark_from_a_windows_editor_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE_CHARTER.read_bytes())
    assert load_charter(path).slug == "aaot"


def test_a_huge_file_is_not_read_as_a_charter(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"name: x\n" + b"#" * 300_000)
    with pytest.raises(BadInput, match="larger than 256 KiB"):
        load_charter(path)
