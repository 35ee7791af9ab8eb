"""The demo's scenario (examples/demo-scenario.yaml): the days of a simulated year, as data.

The year itself is content; this module only reads and checks it, so a mistake in the file
is one clear line, not a traceback half-way through the demo.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import BadInput
from models.stories import DEFAULT_CONSENT, Consent
from models.vocabulary import MemberKind

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENARIO = EXAMPLES / "demo-scenario.yaml"

Doing = Literal["create", "launch", "session", "task", "done", "volunteer", "join", "schedule", "close",
                "opt-out", "rotate", "continue", "withdraw", "plan", "sign-in"]
Scheduled = Literal["sponsor-report", "rotate", "health", "archive"]

# What each kind of step needs (the rest is optional).
NEEDS: dict[str, tuple[str, ...]] = {
    "create": ("charter",),
    "launch": ("cop", "as_"),
    "session": ("cop", "as_", "attended"),
    "task": ("cop", "title"),
    "done": ("cop", "title"),
    "volunteer": ("cop", "who"),
    "join": ("cop", "name", "email"),
    "schedule": ("run",),
    "close": ("cop", "as_", "reason"),
    "opt-out": ("cop", "who"),
    "rotate": ("cop", "as_"),
    "continue": ("cop", "as_"),
    "withdraw": ("cop", "as_", "reason"),
    "plan": ("cop", "as_", "starts_at"),
    "sign-in": ("who",),
}


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: date
    do: Doing
    cop: str | None = None
    as_: str | None = Field(default=None, alias="as")
    charter: str | None = None
    attended: list[str] = []
    topics: list[str] = []
    methods: list[str] = []
    outputs: list[str] = []
    story: str | None = None
    consent: Consent = DEFAULT_CONSENT  # the teller's, for the story
    guests: int = 0
    title: str | None = None
    due: date | None = None
    who: str | None = None
    name: str | None = None
    email: str | None = None
    kind: MemberKind = MemberKind.practitioner
    run: list[Scheduled] = []
    reason: str | None = None
    successor: str | None = None
    notice_days: int = 14
    starts_at: datetime | None = None  # a planned session's start
    agenda: list[str] = []


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step]


def load_scenario(path: Path = SCENARIO, *, continues: Scenario | None = None) -> Scenario:
    """Read and check the scenario: known keys, each step has what it needs, days in order.

    continues: the scenario this one carries on from (its CoPs and people are known, and its
    days come first); the steps returned are this file's alone."""
    where = path.name
    try:
        scenario = Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise BadInput(f"{where}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{where}: {getattr(exc, 'problem', None) or 'not valid YAML'}{at}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    own = scenario
    if continues is not None:
        scenario = Scenario(steps=[*continues.steps, *scenario.steps])
    if not scenario.steps or scenario.steps[0].do != "create":
        raise BadInput(f"{where}: the first step creates a CoP from a charter")
    previous = date.min
    for number, step in enumerate(scenario.steps, 1):
        missing = [f.rstrip("_") for f in NEEDS[step.do] if not getattr(step, f)]
        if missing:
            raise BadInput(f"{where}: step {number} ({step.do}) needs {', '.join(missing)}")
        if step.day < previous:
            raise BadInput(f"{where}: step {number} is dated {step.day}, before the step above it")
        previous = step.day
    check_people(scenario, where)
    return own


def handle(email: str) -> str:
    """How the scenario names a person: the part of their address before the @."""
    return email.split("@", 1)[0]


def check_people(scenario: Scenario, where: str) -> None:
    """Everyone a step names was introduced before it, by a charter or by joining."""
    from tasks.charter_file import load_charter

    known: set[str] = set()
    for number, step in enumerate(scenario.steps, 1):
        named = [*step.attended, *(h for h in (step.as_, step.who) if h)]
        unknown = sorted(set(named) - known)
        if unknown:
            raise BadInput(f"{where}: step {number} names {', '.join(unknown)}, "
                           "who has not been introduced by a charter or by joining")
        if step.do == "create":
            charter = load_charter(EXAMPLES / str(step.charter))
            people = [charter.convenor, *charter.members, *charter.sponsors]
            known |= {handle(p.email) for p in people if p is not None}
        if step.do == "join":
            known.add(handle(str(step.email)))
