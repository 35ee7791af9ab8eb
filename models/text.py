"""Free text people type: what may be stored, and how stored text is shown on a terminal.

A value is judged as a mail reader or a terminal will read it: an RFC 2047 encoded word
(=?utf-8?q?...?=) decodes to whatever it hides, CR LF included, so it is refused outright;
so are controls (Cc), format characters such as bidi overrides (Cf), Unicode line and
paragraph separators (Zl, Zp) and lone surrogates (Cs).
"""

from __future__ import annotations

import re
import unicodedata

ENCODED_WORD = re.compile(r"=\?.*?\?=", re.DOTALL)
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Joiners shape Persian, Indic and emoji text; they neither break a line nor reorder one.
JOINERS = frozenset({"\u200c", "\u200d"})


def unsafe(ch: str) -> bool:
    return ch not in JOINERS and unicodedata.category(ch) in UNSAFE_CATEGORIES


def first_unsafe(value: str, allowed: str = "") -> str | None:
    """The first character that may not be stored, or None. `allowed`: characters let through."""
    if value.isprintable():  # the usual case, in C: no Cc, Cf, Zl, Zp or Cs at all
        return None
    return next((ch for ch in value if ch not in allowed and unsafe(ch)), None)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why this text may not be stored, or None. multiline: newlines and tabs are allowed."""
    if ENCODED_WORD.search(value):
        return "must not contain an encoded word (=?...?=)"
    ch = first_unsafe(value, "\n\t" if multiline else "")
    if ch is None:
        return None
    shape = "plain text" if multiline else "a single line"
    return f"must be {shape} without control or formatting characters (found U+{ord(ch):04X})"


def visible(text: str, keep: str = "\n") -> str:
    """The text with every control or format character shown as an escape (ESC as \\x1b), so
    stored text cannot drive the terminal it is printed on. `keep`: characters left as they are."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if ch not in keep and unsafe(ch) else ch for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
