"""Only tasks/*_tasks.py touch Prefect; the use cases, storage and email code stay plain Python
(runnable and testable without it), and flows hand them typed values, not a bag of details."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from flows.requests import CommunityResult
from tasks.usecases.common import Outcome

TASKS = Path(__file__).resolve().parents[2] / "tasks"


def prefect_imports(path: Path) -> list[str]:
    """Each import of prefect in the file, top level or inside a function, as 'line: module'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if name.split(".")[0] == "prefect"]
    return found


def test_only_task_modules_under_tasks_import_prefect() -> None:
    offenders = {str(p.relative_to(TASKS)): prefect_imports(p) for p in sorted(TASKS.rglob("*.py"))
                 if not p.name.endswith("_tasks.py")}
    assert {name: lines for name, lines in offenders.items() if lines} == {}


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "delivery.py"
    module.write_text("def f():\n    from prefect.blocks.system import Secret\n    return Secret\n")
    assert prefect_imports(module) == ["2: prefect.blocks.system"]


def test_a_flow_result_carries_every_field_of_an_outcome() -> None:
    # The CLI and the demo read a run's result, so nothing a use case reports may be dropped.
    assert {f.name for f in fields(Outcome)} - {"actor_id"} == set(CommunityResult.model_fields)
