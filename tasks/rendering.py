"""Rendering every word a person reads from templates/ (Jinja2, autoescaped, strict)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.text import visible

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # HTML is escaped; .txt and .md are plain text and need no escaping.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = _day
    env.filters["names"] = _names
    return env


def _names(values: list[str]) -> str:
    """Sam, Lee and Joy: a list of names as a sentence says it."""
    items = [str(v) for v in values]
    return " and ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"


def _day(value: date | str | None) -> str:
    """14 January 2027; a date stored as text (2027-01-14, in JSON figures) reads the same."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime("%-d %B %Y")


WHITESPACE = re.compile(r"\s+")  # newlines and Unicode line separators among them
# Characters that make markdown anywhere in a line (emphasis, code, links, tables, strikethrough),
# and those that do only at its start (headings, lists, breaks): dates and hyphens mid-text stay plain.
INLINE_SIGNIFICANT = re.compile(r"([`*_{}\[\]|~])")  # with [ ] escaped, no ( ) or ! can make a link
LEADING_NUMBER = re.compile(r"^(\s*\d+)([.)])")  # "1." or "1)": an ordered list
LEADING_MARK = re.compile(r"^(\s*)([#+\-=])")  # a heading, a list, a break


def markdown_text(value: str) -> str:
    """Text put into markdown shows as typed, as text: on one line (it cannot start a heading or
    a list), every character that could make a link, image, emphasis or block escaped, no HTML
    tag, and any control character shown as an escape."""
    text = visible(WHITESPACE.sub(" ", value)).replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = INLINE_SIGNIFICANT.sub(r"\\\1", text)
    text = LEADING_NUMBER.sub(r"\1\\\2", text)
    return LEADING_MARK.sub(r"\1\\\2", text)


def _markdown_safe(value: object) -> object:
    return markdown_text(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def markdown_environment() -> Environment:
    return environment().overlay(finalize=_markdown_safe)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(template: str, **context: Any) -> str:
    env = markdown_environment() if template.endswith(".md") else environment()
    return env.get_template(template).render(**context)


def render_email(name: str, **context: Any) -> RenderedEmail:
    """Render templates/email/<name>.subject.txt, .txt and .html with the same context."""
    subject = render("email/_subject.txt", subject=render(f"email/{name}.subject.txt", **context))
    subject = " ".join(subject.split())
    return RenderedEmail(
        subject=subject,
        text=render(f"email/{name}.txt", **context),
        html=render(f"email/{name}.html", **context),
    )
