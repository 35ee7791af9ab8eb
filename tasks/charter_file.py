"""Reading a charter file: strict UTF-8, plain YAML (no tags, no aliases), then the schema."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from models.charter import Charter
from models.errors import BadInput

MAX_CHARTER_BYTES = 256 * 1024


def describe_validation_error(source: str, error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "charter"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = error.error_count() - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {where}: {message}{tail}"


def parse_charter(text: str, source: str = "charter") -> Charter:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise BadInput(f"{source}: YAML anchors and aliases are not allowed in a charter")
            if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if event.tag not in (None, "!") and not str(event.tag).startswith("tag:yaml.org,2002:"):
                    raise BadInput(f"{source}: YAML tag {event.tag} is not allowed in a charter")
        data = yaml.safe_load(text)
    except RecursionError:
        raise BadInput(f"{source}: nested too deeply to be a charter") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise BadInput(f"{source}: {problem}{where}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{source}: a charter is a YAML mapping of keys such as name, domain, members")
    try:
        return Charter.model_validate(data)
    except ValidationError as exc:
        raise BadInput(describe_validation_error(source, exc)) from None


def load_charter(path: Path) -> Charter:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a charter file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_CHARTER_BYTES:
        raise BadInput(f"{path}: larger than {MAX_CHARTER_BYTES // 1024} KiB; is it a charter?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_charter(text, str(path))
