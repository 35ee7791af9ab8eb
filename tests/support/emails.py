"""Reading .eml files as their reader does, and the facts a message states (names, dates, numbers),
so the plain-text and HTML parts of one email can be compared."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from pathlib import Path

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
FULL_DATE = re.compile(rf"\b(\d{{1,2}}) {_MONTH} (\d{{4}})\b")
MONTH_YEAR = re.compile(rf"\b{_MONTH} (\d{{4}})\b")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
# A command someone would have to type: `copflow close ...`, or an option such as --reason (not a
# run of dashes inside a signed link's token, whose characters include '.', '-' and '_').
COMMAND = re.compile(r"\bcopflow\s+(?:init|community|member|session|task|launch|rotate|close|continue|archive"
                     r"|report|health|audit|outbox|withdraw|story|fidelity|portfolio|backup|doctor|demo"
                     r"|serve|web|gallery)\b|(?<![\w./-])--[a-z][a-z-]+")


@dataclass(frozen=True)
class Email:
    path: Path
    message: EmailMessage

    @classmethod
    def read(cls, path: Path) -> Email:
        return cls(path, BytesParser(policy=policy.default).parsebytes(path.read_bytes()))

    def header(self, name: str) -> str:
        return " ".join(str(self.message[name] or "").split())

    def address(self, name: str) -> tuple[str, str] | None:
        """(display name, address) of a header as a mail reader parses it; None when absent."""
        found = getaddresses([self.header(name)]) if self.message[name] else []
        return (found[0][0], found[0][1].lower()) if found else None

    @property
    def key(self) -> str:
        return self.header("X-Copflow-Key")

    @property
    def text(self) -> str:
        return str(self.message.get_body(("plain",)).get_content())

    @property
    def html(self) -> str:
        return str(self.message.get_body(("html",)).get_content())

    @property
    def html_words(self) -> str:
        """What a reader's client shows of the HTML part (no title, styles or tags)."""
        return visible_text(self.html)


class _Visible(HTMLParser):
    SKIP = frozenset({"title", "style", "script", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.skipping += tag in self.SKIP
        if tag in ("p", "br", "li", "tr", "td", "th", "div", "h1", "h2"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skipping -= tag in self.SKIP

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def facts(text: str, names: set[str]) -> dict[str, set[str]]:
    """The people named, the dates and the numbers a text states, each in one spelling."""
    words = re.sub(r"https?://\S+", " ", " ".join(text.split()))  # a link's address is no fact stated
    dates = {f"{y}-{_month(m):02d}-{int(d):02d}" for d, m, y in FULL_DATE.findall(words)}
    rest = FULL_DATE.sub(" ", words)
    dates |= {f"{y}-{_month(m):02d}" for m, y in MONTH_YEAR.findall(rest)}
    rest = MONTH_YEAR.sub(" ", rest)
    return {
        "names": {n for n in names if n in words},
        "dates": dates,
        "numbers": set(NUMBER.findall(rest)),
    }


def _month(name: str) -> int:
    return next(i for i, m in enumerate(MONTHS, 1) if m.startswith(name.lower()[:3]))
