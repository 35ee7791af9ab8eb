"""Finding and erasing contact details in stored text, in every form copflow stores it.

An address may be stored plain, HTML-escaped (`lee.o&#39;neil@...` in an email's HTML),
JSON-escaped (`\\u00e9`), folded across lines (an iCalendar ORGANIZER), or in a MIME message
(quoted-printable, base64, encoded-word headers). Erasing one address matches the whole
address only, case-insensitively: erasing `ann.lee@example.org` leaves `joann.lee@example.org`.
Phone numbers (UK and international formats) in free text are found by their shape.
Pure functions: no I/O, no database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

ADDRESS_ERASED = "[address erased]"
NUMBER_ERASED = "[number erased]"

# Characters of an address's local part (RFC 5322 atext and dots; \w takes in non-ASCII letters).
_LOCAL = r"\w!#$%&'*+/=?^`{|}~.-"
# An apostrophe or a non-ASCII letter as HTML or JSON writes it, inside an address.
_ESCAPED = (r"&\#(?:39|x27|1[6-9]\d|[2-9]\d\d|\d{4,7}|x[a-f0-9]{2,6});|&apos;|&amp;"
            r"|\\u[0-9a-f]{4}")
_ANY_ADDRESS = re.compile(
    rf"(?<![{_LOCAL}])(?:{_ESCAPED}|[{_LOCAL}])+(?:@|&\#64;|&\#x40;|\\u0040)"
    rf"(?:{_ESCAPED}|[\w-])+(?:\.(?:{_ESCAPED}|[\w-])+)+", re.IGNORECASE)
# A phone number starts with +, 0 or (0 and has 9 to 16 digits, in groups; not inside a date.
_PHONE = re.compile(r"(?<![\w+\-/.])(?:\+ ?\(?\d|\( ?0|0)(?:\)?[ .\-]{0,2}(?:\(\d{1,4}\)|\d)){8,15}(?!\w)")
_AT = re.compile(r"@|&\#64;|&\#x40;|\\u0040", re.IGNORECASE)  # an @ as text, HTML or JSON writes it
_FOLD = re.compile(r"\r?\n[ \t]")
_BEFORE = rf"(?<![{_LOCAL}])(?<!&\#39;)(?<!&\#x27;)(?<!&apos;)(?<!\\u0027)"
_AFTER = r"(?![\w-]|\.[\w-]|&\#|\\u)"


def _forms(ch: str) -> list[str]:
    """Every way a stored text may spell this character of an address."""
    forms = {ch, ch.lower(), ch.upper()}
    out = {re.escape(f) for f in forms}
    for f in forms:
        code = ord(f)
        if f == "'" or f == "&" or f == "@" or code > 127:
            out |= {f"&\\#{code};", f"&\\#x{code:x};", f"\\\\u{code:04x}"}
    if ch == "'":
        out.add("&apos;")
    if ch == "&":
        out.add("&amp;")
    return sorted(out, key=len, reverse=True)


@lru_cache(maxsize=4096)
def address_pattern(address: str) -> re.Pattern[str]:
    """The whole address, in any of its stored spellings (plain, HTML entities, JSON escapes)."""
    body = "".join(f"(?:{'|'.join(_forms(ch))})" for ch in address.strip())
    return re.compile(_BEFORE + body + _AFTER, re.IGNORECASE)


def plain(spelled: str) -> str:
    """An address as stored (entities, JSON escapes) back to its plain lower-case form."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), spelled)
    return html.unescape(unescaped).lower()


def _in_calendar(text: str, change: Callable[[str], str]) -> str:
    """Apply `change` to iCalendar text unfolded (an address may be split across a fold),
    then fold again at 75 octets (RFC 5545 3.1)."""
    lines = _FOLD.sub("", text).split("\r\n" if "\r\n" in text else "\n")
    return ("\r\n").join(_fold(line) for line in change("\n".join(lines)).split("\n"))


def _fold(line: str, limit: int = 75) -> str:
    parts, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode())
        if size + width > limit:
            parts.append(current)
            current, size = " ", 1
        current, size = current + ch, size + width
    return "\r\n".join([*parts, current])


def _apply(text: str, change: Callable[[str], str]) -> str:
    if "BEGIN:VCALENDAR" in text and _FOLD.search(text):
        return _in_calendar(text, change)
    return change(text)


def erase_addresses(text: str, addresses: Iterable[str], marker: str = ADDRESS_ERASED) -> str:
    """The text with each of these whole addresses, however spelled, replaced by the marker."""
    def change(value: str) -> str:
        for address in addresses:
            value = address_pattern(address).sub(marker, value)
        return value
    return _apply(text, change)


def _is_address(found: str) -> bool:
    """A dotted domain ending in a letter label: not a version (`py@3.11`) or a message id."""
    return any(ch.isalpha() for ch in plain(found).rsplit(".", 1)[-1])


def scrub_free_text(text: str, keep: frozenset[str] = frozenset(),
                    address_marker: str = ADDRESS_ERASED, number_marker: str = NUMBER_ERASED) -> str:
    """Free text with every address (but those in `keep`, plain lower case) and every phone
    number replaced: what may remain of a CoP's words once its people's details go."""
    def address(m: re.Match[str]) -> str:
        found = m.group(0)
        return found if not _is_address(found) or plain(found) in keep else address_marker

    def change(value: str) -> str:
        return scrub_phones(_ANY_ADDRESS.sub(address, value), number_marker)
    return _apply(text, change)


def scrub_phones(text: str, marker: str = NUMBER_ERASED) -> str:
    return _PHONE.sub(marker, text)


def find_addresses(text: str) -> set[str]:
    """Every address in the text, plain and lower case (folds undone). An address holds no
    white space: only the words around an @ (however written) are searched, many times faster
    on long text than searching all of it."""
    if "\n" in text:
        text = _FOLD.sub("", text)
    found: set[str] = set()
    end = 0
    for at in _AT.finditer(text):
        if at.start() < end:
            continue  # in the word just searched
        start = max(text.rfind(space, 0, at.start()) for space in " \n\t\r") + 1
        ends = [i for i in (text.find(space, at.end()) for space in " \n\t\r") if i != -1]
        end = min(ends, default=len(text))
        found |= {plain(m.group(0)) for m in _ANY_ADDRESS.finditer(text, start, end) if _is_address(m.group(0))}
    return found


def find_phones(text: str) -> list[str]:
    return [m.group(0) for m in _PHONE.finditer(_FOLD.sub("", text))]


def mentions(text: str, addresses: Iterable[str]) -> bool:
    """Whether any of these whole addresses is in the text, however spelled or folded."""
    unfolded = _FOLD.sub("", text)
    return any(address_pattern(a).search(unfolded) for a in addresses)


def in_json(value: Any, change: Callable[[str], str]) -> Any:
    """A JSON value with `change` applied to every string in it, keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [in_json(v, change) for v in value]
    if isinstance(value, dict):
        return {in_json(k, change): in_json(v, change) for k, v in value.items()}
    return value


def needles(address: str) -> set[str]:
    """Lower-case pieces every stored spelling of the address contains (the runs of ASCII
    between characters HTML or JSON may escape): a coarse filter a database can run."""
    pieces = re.split(r"[^\x20-\x7e]|['&@\"<>\\]", address.strip().lower())
    return {p for p in pieces if len(p) >= 2}  # empty: no filter, read every row


def message_texts(raw: bytes) -> list[str]:
    """What a reader of this MIME message sees: every header decoded, every part decoded
    (quoted-printable, base64), plus the raw text itself."""
    texts = [raw.decode("utf-8", "replace")]
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        texts += [f"{name}: {value}" for name, value in part.items()]
        if part.is_multipart():
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):  # an unknown charset: read the bytes as they are
            content = part.get_payload(decode=True) or b""
        texts.append(content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content))
    return texts
