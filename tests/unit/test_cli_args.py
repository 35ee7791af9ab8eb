"""`--attended a b c` as DESIGN writes it: several values after one flag. Pure."""

from __future__ import annotations

import pytest

from cli.app import expand_multi_values


@pytest.mark.parametrize(("argv", "expanded"), [
    (["session", "record", "aaot", "--attended", "a", "b", "c", "--on", "2027-01-14"],
     ["session", "record", "aaot", "--attended", "a", "--attended", "b", "--attended", "c", "--on", "2027-01-14"]),
    (["--attended=a", "b"], ["--attended=a", "--attended", "b"]),
    (["--topic", "Case one", "Case two", "--as", "d@example.org"],
     ["--topic", "Case one", "--topic", "Case two", "--as", "d@example.org"]),
    (["--as", "d@example.org", "x"], ["--as", "d@example.org", "x"]),  # only the listed options
    (["--attended", "a", "--", "b"], ["--attended", "a", "--", "b"]),  # after --, nothing is touched
    (["task", "add", "aaot", "Book a room"], ["task", "add", "aaot", "Book a room"]),
])
def test_multi_values_are_expanded(argv: list[str], expanded: list[str]) -> None:
    assert expand_multi_values(argv) == expanded
