"""Imports point one way (DESIGN 4): cli, web and demo -> flows -> tasks -> models. The copflow
command starts the web app and the demo, so cli may import them; web and demo import neither
each other nor cli (a use case both need lives in tasks/usecases)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEVEL = {"models": 0, "tasks": 1, "flows": 2, "cli": 3, "web": 3, "demo": 3}
CLI_STARTS = {"web", "demo"}


def imported(path: Path) -> list[tuple[int, str]]:
    """Each absolute import in the file, top level or inside a function: (line, module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def backwards(layer: str) -> list[str]:
    wrong = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, module in imported(path):
            top = module.split(".")[0]
            if top == layer or top not in LEVEL or LEVEL[top] < LEVEL[layer]:
                continue
            if layer == "cli" and top in CLI_STARTS:
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return wrong


def test_imports_point_one_way() -> None:
    assert [w for layer in LEVEL for w in backwards(layer)] == []


def test_the_check_sees_a_sideways_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "steps.py"
    module.write_text("def f():\n    from web.auth import request_sign_in\n    return request_sign_in\n")
    assert imported(module) == [(2, "web.auth")]
