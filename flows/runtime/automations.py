"""Install the automations in deployments/automations.yaml on the Prefect server (PREFECT_API_URL).

    python -m flows.runtime.automations [--notify BLOCK_TYPE/BLOCK_NAME] [--file PATH]

Each automation replaces any of the same name, so running it again after an upgrade is safe.
With --notify, each one sends a notification through that block (its `notification` subject
and body); without it, each keeps the file's own action, as `prefect automation create
--from-file` would create it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

AUTOMATIONS_FILE = Path(__file__).resolve().parents[2] / "deployments" / "automations.yaml"


def read_automations(path: Path = AUTOMATIONS_FILE, notify: UUID | None = None) -> list[Any]:
    """The file's automations, checked against Prefect's own schema (AutomationCore)."""
    from prefect.events.schemas.automations import AutomationCore

    found = yaml.safe_load(path.read_text(encoding="utf-8"))["automations"]
    automations = []
    for spec in found:
        spec = dict(spec)
        notification = spec.pop("notification", None)
        if notify is not None and notification is not None:
            spec["actions"] = [{"type": "send-notification", "block_document_id": str(notify), **notification}]
        automations.append(AutomationCore.model_validate(spec))
    return automations


def notification_block(client: Any, slug: str) -> UUID:
    """The id of a notification block named 'type/name' (as `prefect block ls` shows it)."""
    kind, _, name = slug.partition("/")
    if not kind or not name:
        raise ValueError(f"--notify: '{slug}' is not BLOCK_TYPE/BLOCK_NAME (e.g. email/ops-inbox)")
    return UUID(str(client.read_block_document_by_name(name, block_type_slug=kind, include_secrets=False).id))


def install(path: Path = AUTOMATIONS_FILE, notify: str | None = None) -> list[str]:
    """Create (or replace) each automation; return their names."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        block = notification_block(client, notify) if notify else None
        automations = read_automations(path, block)
        for automation in automations:
            for old in client.read_automations_by_name(automation.name):
                client.delete_automation(old.id)
            client.create_automation(automation)
    return [a.name for a in automations]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.runtime.automations", description=__doc__.split("\n")[0])
    parser.add_argument("--notify", help="a notification block, BLOCK_TYPE/BLOCK_NAME (e.g. email/ops-inbox)")
    parser.add_argument("--file", type=Path, default=AUTOMATIONS_FILE, help="the automations file")
    args = parser.parse_args(argv)
    try:
        names = install(args.file, args.notify)
    except Exception as exc:  # one line for the operator: a missing block, no server, a bad file
        print(f"automations: not installed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for name in names:
        print(f"installed: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
