"""Text fit for logs and Prefect's stores (DESIGN 6a): a server's or a database's words with any
address or phone number in them masked. Pure: no I/O."""

from __future__ import annotations

import re

from models.erasure import scrub_phones

ADDRESS = re.compile(r"[^\s<>()\",;:\[\]]+@[^\s<>()\",;:\[\]]+")
# PostgreSQL's DETAIL line repeats a row's values: "Key (email)=(a@b.org) already exists.",
# "Failing row contains (7, Priya Raman, ...)." The values go, whatever they hold.
ROW_VALUES = re.compile(r"^((?:DETAIL:\s+)?(?:Key \([^)\n]*\)=|Failing row contains ))\(.*\)", re.MULTILINE)


def masked(text: str) -> str:
    """The text with any address or phone number in it masked."""
    return scrub_phones(ADDRESS.sub("[address]", text), "[number]")


def masked_database_error(text: str) -> str:
    """A database's error message as it may be logged: the values PostgreSQL's DETAIL repeats
    hidden, and any address or phone number elsewhere in it masked."""
    return masked(ROW_VALUES.sub(r"\1(values hidden)", text))
