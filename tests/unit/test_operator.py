"""The operator kept beside who acted: an OS user name, never an address, never a terminal trick."""

from __future__ import annotations

import pytest

from tasks.storage import operator


@pytest.mark.parametrize(("typed", "kept"), [
    ("dana", "dana"),
    ("dana@TRUST.NHS.UK", "dana"),  # a directory login is an address: only its local part is kept
    ("EXAMPLE\\dwhitlow", "EXAMPLE\\dwhitlow"),
    ("a\x1b]0;OWNED\x07b", "a??0?OWNED?b"),
    ("x" * 300, "x" * 64),
    ("", None),
    (None, None),
])
def test_a_user_name_as_kept(typed: str | None, kept: str | None) -> None:
    assert operator.plain(typed) == kept


def test_a_flow_run_says_its_own_operator_and_restores_the_one_before() -> None:
    with operator.operated_by("alice"):
        assert operator.current() == "alice"
        with operator.operated_by(operator.SCHEDULED):
            assert operator.current() == "schedule"
        with operator.operated_by(None):
            assert operator.current() is None  # through the Prefect API: nobody made up
        assert operator.current() == "alice"
