"""Checking what a convenor typed into a form, with the charter's own types, so that bad input
names the field it came from and is shown next to it (the form filled in again)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from models.errors import BadInput, CopflowError

MAX_FIELD = 20_000  # characters kept of any one field: longer is cut before it is checked


class FieldProblem(BadInput):
    """Bad input in one field of a form: the field's name and one line about it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    from models import charter

    return TypeAdapter(getattr(charter, kind))


def checked(value: str, kind: str, field: str) -> Any:
    """One value, by a type of models/charter.py (OneLine, LongText, Email, PersonName...)."""
    try:
        return _adapter(kind).validate_python(value[:MAX_FIELD])
    except ValidationError as exc:
        raise FieldProblem(field, exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def lines(value: str, kind: str, field: str, limit: int) -> list[Any]:
    """One item a line (blank lines skipped), at most `limit` of them."""
    items = [line.strip() for line in value[:MAX_FIELD * 5].splitlines() if line.strip()]
    if len(items) > limit:
        raise FieldProblem(field, f"{len(items)} lines given; at most {limit}")
    out = []
    for n, item in enumerate(items, 1):
        try:
            out.append(checked(item, kind, field))
        except FieldProblem as problem:
            raise FieldProblem(field, f"line {n}: {problem.message}") from None
    return out


def day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FieldProblem(field, f"'{value[:40]}' is not a date (YYYY-MM-DD)") from None


def moment(value: str, field: str) -> datetime:
    """A date and time as a browser's datetime-local field sends it (London time)."""
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldProblem(field, f"'{value[:40]}' is not a date and time (YYYY-MM-DDTHH:MM)") from None
    if start.tzinfo is not None:
        from zoneinfo import ZoneInfo

        start = start.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)
    return start


def whole(value: str, field: str, low: int, high: int) -> int:
    try:
        number = int(value.strip() or "0")
    except ValueError:
        number = -1
    if not low <= number <= high:
        raise FieldProblem(field, f"give a whole number from {low} to {high}")
    return number


def problems_of(error: CopflowError, options: dict[str, str]) -> dict[str, str]:
    """Where a use case's message belongs: a field, when it starts with the command line's option
    for it (options maps '--attended' to 'attended'), else the page ('' key), word for word."""
    if isinstance(error, FieldProblem):
        return {error.field: error.message}
    text = str(error)
    option, sep, rest = text.partition(": ")
    if sep and isinstance(error, BadInput) and option in options:
        return {options[option]: rest}
    return {"": text}
