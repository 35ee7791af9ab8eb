"""Reading markdown that copflow wrote, as a renderer would show its text."""

from __future__ import annotations

import html
import re

BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: any ASCII punctuation


def as_shown(markdown: str) -> str:
    """The text a CommonMark renderer shows: backslash escapes, then entities, resolved."""
    return html.unescape(BACKSLASH_ESCAPE.sub(r"\1", markdown))
