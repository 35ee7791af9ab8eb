"""The CoP's own words as enumerations; no pydantic, so the CLI can import it cheaply."""

from enum import Enum


class Cadence(str, Enum):
    weekly = "weekly"
    fortnightly = "fortnightly"
    monthly = "monthly"
    quarterly = "quarterly"


class ReportPeriod(str, Enum):
    monthly = "monthly"
    quarterly = "quarterly"


class MemberKind(str, Enum):
    practitioner = "practitioner"
    expert_by_experience = "expert-by-experience"
    researcher = "researcher"


class SessionFormat(str, Enum):
    online = "online"
    in_person = "in-person"
    hybrid = "hybrid"
