"""Reading a charter file: strict UTF-8, plain YAML (no tags, no aliases), then the schema."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml
from pydantic import ValidationError

from models.charter import Charter
from models.errors import BadInput

MAX_CHARTER_BYTES = 256 * 1024

# Plain data only: a tag beyond these (!!binary, !!set, !!python/...) is refused.
PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise BadInput(f"line {key_node.start_mark.line + 1}: YAML merge keys (<<) are not allowed")
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key, e.g. a list
                raise BadInput(f"line {key_node.start_mark.line + 1}: a key must be plain text") from None
            if duplicate:
                raise BadInput(f"line {key_node.start_mark.line + 1}: '{key}' is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """At most `limit` bytes of a regular file: never a device, FIFO or directory, which could
    hang the command or feed it without end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise BadInput(f"{path}: {kind}; give the {what} as a YAML file")
    with os.fdopen(fd, "rb") as file:
        raw = file.read(limit + 1)
    if len(raw) > limit:
        raise BadInput(f"{path}: larger than {limit // 1024} KiB; is it a {what}?")
    return raw


def field_path(loc: tuple[int | str, ...]) -> str:
    """('members', 1, 'email') -> 'members[1].email', as a convenor reads their charter."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(source: str, error: ValidationError) -> str:
    first = error.errors()[0]
    where = field_path(tuple(first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = error.error_count() - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    # Cross-field rules name their own field in the message.
    return f"{source}: {where + ': ' if where else ''}{message}{tail}"


def parse_charter(text: str, source: str = "charter") -> Charter:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            # Aliases can expand a small file into a huge one; tags can build objects.
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise BadInput("YAML anchors and aliases are not allowed in a charter")
            tag = getattr(event, "tag", None)  # scalars, mappings and sequences carry one
            if tag not in (None, "!") and tag not in PLAIN_TAGS:
                raise BadInput(f"YAML tag {tag} is not allowed in a charter")
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise BadInput(f"{source}: nested too deeply to be a charter") from None
    except BadInput as exc:
        raise BadInput(f"{source}: {exc}") from None
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
    raw = read_regular_file(path, MAX_CHARTER_BYTES, "charter")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from Windows editors is fine
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_charter(text, str(path))
