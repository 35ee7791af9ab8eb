"""`copflow audit`'s text: beside who acted, who operated, said only where it adds something."""

from __future__ import annotations

import pytest

from cli.records import _operator_said


@pytest.mark.parametrize(("operator", "channel", "run", "said"), [
    ("ops", None, None, " (typed by ops)"),
    ("schedule", None, "run-1", ""),
    (None, None, "run-1", " (asked through the Prefect API)"),
    (None, None, None, " (operator not recorded)"),
    # On the web the signed-in person acted themselves; the line already ends "(on the web)".
    (None, "web", "run-1", ""),
    (None, "web", None, ""),
])
def test_the_operator_is_named_beside_who_acted(operator: str | None, channel: str | None, run: str | None,
                                                said: str) -> None:
    assert _operator_said({"operator": operator, "channel": channel, "flow_run_id": run}) == said
