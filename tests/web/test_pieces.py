"""The web app's small rules, without a server: next session, safe redirects, the secret."""

from __future__ import annotations

import stat
from datetime import date, datetime
from pathlib import Path

import pytest

from web.pages import safe_next
from web.reads import next_session


@pytest.mark.parametrize(("first", "cadence", "last", "today", "expected"), [
    (datetime(2027, 1, 14, 14), "monthly", None, date(2027, 1, 1), date(2027, 1, 14)),  # still to come
    (datetime(2027, 1, 14, 14), "monthly", date(2027, 3, 14), date(2027, 3, 20), date(2027, 4, 14)),
    (datetime(2027, 1, 31, 14), "monthly", None, date(2027, 2, 2), date(2027, 2, 28)),  # a shorter month
    (datetime(2027, 1, 4, 9), "weekly", date(2027, 1, 4), date(2027, 1, 20), date(2027, 1, 25)),
    (datetime(2027, 1, 4, 9), "quarterly", date(2027, 1, 4), date(2027, 1, 5), date(2027, 4, 4)),
    (None, None, None, date(2027, 1, 5), None),  # nothing set: nothing promised
])
def test_the_next_session(first, cadence, last, today, expected) -> None:
    assert next_session(first, cadence, last, today) == expected


@pytest.mark.parametrize(("value", "kept"), [
    ("/cops/aaot", True), ("/", True), (None, False), ("", False), ("https://evil.example", False),
    ("//evil.example", False), ("/\\evil.example", False), ("javascript:alert(1)", False),
    ("/a\r\nSet-Cookie: x", False), ("/" + "a" * 400, False), ("http:/evil", False),
])
def test_only_a_path_on_this_site_is_a_place_to_go_next(value, kept) -> None:
    assert safe_next(value) == (value if kept else None)


def test_the_embedded_secret_is_made_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.web_links import _secret_for, web_secret

    home = tmp_path / "home"
    monkeypatch.setenv("COPFLOW_HOME", str(home))
    monkeypatch.delenv("COPFLOW_WEB_SECRET", raising=False)
    _secret_for.cache_clear()
    first = web_secret()
    _secret_for.cache_clear()
    assert web_secret() == first and len(first) >= 32
    assert stat.S_IMODE((home / "web-secret").stat().st_mode) == 0o600


def test_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.errors import BadInput
    from tasks.web_links import web_secret

    monkeypatch.setenv("COPFLOW_WEB_SECRET", "short")
    with pytest.raises(BadInput, match="COPFLOW_WEB_SECRET: at least 32"):
        web_secret()


def test_copflow_web_says_one_line_without_a_database(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.conftest import COPFLOW

    home = tmp_path / "empty"
    home.mkdir(mode=0o700)
    env = {**os.environ, "COPFLOW_HOME": str(home)}
    env.pop("COPFLOW_DATABASE_URL", None)
    done = subprocess.run([COPFLOW, "web", "--port", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "copflow init" in done.stderr
