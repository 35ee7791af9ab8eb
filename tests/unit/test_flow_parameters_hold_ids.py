"""What the Prefect UI's run form and API accept for each flow (the deployments' parameter
schemas): a person is an id, never an email address (DESIGN 6a), and nobody acts by default."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.utilities.callables import parameter_schema

from flows.runtime.dispatch import FLOWS, load_flow


def _request_schema(name: str) -> dict[str, Any]:
    schema = parameter_schema(load_flow(name).fn).model_dump()
    (definition,) = [d for d in schema["definitions"].values() if d["title"].endswith("Request")]
    return definition  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_no_parameter_takes_an_address(name: str) -> None:
    fields = _request_schema(name)["properties"]
    assert "actor" not in fields and "email" not in str(sorted(fields))
    if "actor_id" in fields:
        assert {"minimum": 1, "type": "integer"} in fields["actor_id"]["anyOf"]
        assert fields["actor_id"]["default"] is None  # empty: the run must say who acts, or is refused
    if "attended" in fields:
        assert fields["attended"]["items"] == {"type": "integer"}
    assert "@" in fields["operator"]["anyOf"][0]["pattern"]  # an operator is never an address


def test_the_decisions_name_who_acts() -> None:
    deciding = {n for n in FLOWS if "actor_id" in _request_schema(n)["properties"]}
    assert deciding == {"launch", "rotate", "close", "continue", "archive", "record-session", "withdraw",
                        "step-down", "plan-session"}
