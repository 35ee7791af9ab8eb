"""A sponsor, an ordinary member and a stranger are refused at every transition:
exit 3, one line, nothing changed, no email queued."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.lifecycle import MEMBER, SPONSOR, STRANGER, active, closing, counts, create, stage

OUTSIDERS = [SPONSOR, MEMBER, STRANGER]

# (stage the CoP is put in, the command to try)
TRANSITIONS: list[tuple[Callable[[], str], list[str]]] = [
    (lambda: create(), ["launch", "aaot"]),
    (lambda: active(create()), ["rotate", "aaot"]),
    (lambda: active(create()), ["close", "aaot", "--reason", "priorities moved on"]),
    (lambda: active(create()), ["community", "work-done", "aaot"]),
    (lambda: closing(create()), ["continue", "aaot"]),
    (lambda: closing(create()), ["archive", "aaot", "--now"]),
]


@pytest.mark.parametrize("setup, command", TRANSITIONS, ids=[" ".join(c[:1] + c[2:3]) for _, c in TRANSITIONS])
def test_outsiders_are_refused_and_nothing_changes(home: Path, cli, setup, command) -> None:  # type: ignore[no-untyped-def]
    slug = setup()
    before_stage, before = stage(slug), counts()
    for who in OUTSIDERS:
        done = cli(*command, "--as", who)
        # Someone copflow does not know at all is bad input (exit 2), a known outsider refused (3).
        assert done.returncode == (2 if who == STRANGER else 3), (who, done.stderr)
        assert done.stderr.startswith("copflow: ") and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert stage(slug) == before_stage
    assert counts() == before
    assert not (home / "outbox").exists() or not any((home / "outbox").iterdir())
