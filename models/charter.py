"""The charter: how a convenor describes a CoP (DESIGN section 7)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from models.lifecycle import missing_for_launch
from models.text import text_problem
from models.vocabulary import Cadence, MemberKind, ReportPeriod, SessionFormat

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


def _no_control_chars(value: str) -> str:
    # A CR or LF in a name, or an encoded word that decodes to one, would become a header
    # injection in an email; an ESC would drive the terminal that shows it.
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _plain_text(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
OneLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_no_control_chars),
]
# A CoP's name heads every email's subject: short, so it names the CoP and cannot carry a message.
CopName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(_no_control_chars),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(_plain_text),
]
# Why a CoP closes: a paragraph, copied into every member's notice, so kept short.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_no_control_chars),
]
MAX_SPONSORS = 50
MAX_MEMBERS = 2000
MAX_LIST_ITEMS = 50  # topics, methods or outputs of one session


def _slug_rules(value: str) -> str:
    if not re.fullmatch(SLUG_PATTERN, value):
        raise ValueError(
            "use 1 to 64 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit (e.g. aaot)"
        )
    if "--" in value:
        raise ValueError("use single hyphens between words (e.g. alcohol-outreach)")
    return value


Slug = Annotated[str, AfterValidator(_slug_rules)]
# A YAML 'yes' or '1' is a mistake here, not a number or a flag.
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]


def normalise_email(value: str) -> str:
    return value.strip().lower()


Email = Annotated[EmailStr, AfterValidator(normalise_email)]


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PersonName
    email: Email


class Sponsor(Person):
    organisation: OneLine | None = None


class Member(Person):
    kind: MemberKind = MemberKind.practitioner
    planning_group: Flag = False


def slug_from_name(name: str) -> str:
    """Derive a slug: lower case ASCII letters, digits and single hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64].rstrip("-")


class Charter(BaseModel):
    """A charter as a convenor writes it. Launch needs more than create does."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    name: CopName
    slug: Slug | None = None
    domain: LongText | None = None
    practice: LongText | None = None
    cadence: Cadence | None = None
    sponsor_reports: ReportPeriod = ReportPeriod.quarterly
    rotate_every_sessions: Count = Field(default=3, ge=1, le=52)
    first_session: datetime | None = None
    session_minutes: Count = Field(default=90, ge=15, le=600)
    format: SessionFormat = SessionFormat.online
    location: OneLine | None = None
    convenor: Person | None = None
    sponsors: list[Sponsor] = Field(default_factory=list, max_length=MAX_SPONSORS)
    members: list[Member] = Field(default_factory=list, max_length=MAX_MEMBERS)

    @model_validator(mode="after")
    def _people_are_distinct(self) -> Charter:
        seen: dict[str, str] = {}

        def claim(email: str, where: str) -> None:
            if email in seen:
                if where.startswith("sponsors") and seen[email] == "convenor":
                    raise ValueError(f"{where}: a sponsor cannot be the convenor ({email})")
                raise ValueError(f"{where}: {email} is already listed as {seen[email]}")
            seen[email] = where

        if self.convenor is not None:
            claim(self.convenor.email, "convenor")
        for i, member in enumerate(self.members):
            claim(member.email, f"members[{i}]")
        for i, sponsor in enumerate(self.sponsors):
            if self.convenor is not None and sponsor.email == self.convenor.email:
                raise ValueError(f"sponsors[{i}]: a sponsor cannot be the convenor ({sponsor.email})")
            planning = [m for m in self.members if m.email == sponsor.email and m.planning_group]
            if planning:
                raise ValueError(
                    f"sponsors[{i}]: a sponsor cannot sit on the planning group ({sponsor.email})"
                )
            claim(sponsor.email, f"sponsors[{i}]")
        if self.slug is None:
            derived = slug_from_name(self.name)
            if not derived:
                raise ValueError("slug: cannot derive one from the name; give slug explicitly")
            self.slug = derived
        return self

    def missing_for_launch(self) -> list[str]:
        """What the launch guard needs that this charter lacks (empty when complete)."""
        return missing_for_launch(
            domain=self.domain,
            practice=self.practice,
            has_convenor=self.convenor is not None,
            sponsors=len(self.sponsors),
            members=len(self.members),
            cadence=self.cadence,
        )
