"""Deploy deployments/prefect.yaml for workers on other machines: the same deployments, whose
pull step clones the code from git (Prefect's `git_clone`) instead of using this checkout's path.

    python -m flows.runtime.deploy --git https://git.example.nhs.uk/ops/copflow.git --branch main

The file itself keeps `set_working_directory` (one machine: workers run the checkout as it is,
uncommitted changes and all, with no git server). This writes a copy of it with only `pull`
replaced and runs `prefect deploy --all` on the copy from the checkout's root, so the list of
deployments, their schedules and parameters stay in one place.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from flows.runtime.serving import PREFECT_FILE
from models.errors import BadInput

GIT_CLONE = "prefect.deployments.steps.git_clone"


def git_pull_step(repository: str, branch: str | None = None, token_block: str | None = None) -> dict[str, Any]:
    """The pull step each flow run starts with: a shallow clone of the branch into the worker's
    directory (updated in place when a clone from an earlier run is there)."""
    parts = urlsplit(repository)
    if parts.username is not None or parts.password is not None:
        raise BadInput("--git: credentials in the URL would be stored on the Prefect server and shown "
                       "in its UI; keep the token in a Prefect Secret block and name it with --token-block")
    step: dict[str, Any] = {"repository": repository}
    if branch:
        step["branch"] = branch
    if token_block:
        step["access_token"] = "{{ prefect.blocks.secret." + token_block + " }}"
    return {GIT_CLONE: step}


def with_git_pull(text: str, step: dict[str, Any]) -> str:
    """prefect.yaml's text with its pull section replaced by this one step."""
    config = yaml.safe_load(text)
    if not isinstance(config, dict) or not config.get("deployments"):
        raise BadInput(f"{PREFECT_FILE.name}: no deployments in it")
    config["pull"] = [step]
    return yaml.safe_dump(config, sort_keys=False)


def deploy(step: dict[str, Any], prefect_file: Path = PREFECT_FILE, *extra: str) -> int:
    """`prefect deploy --all` of prefect_file with this pull step; Prefect's own exit code."""
    checkout = prefect_file.resolve().parents[1]  # entrypoints are relative to the checkout
    with tempfile.TemporaryDirectory(prefix="copflow-deploy-") as folder:
        copy = Path(folder) / "prefect.yaml"
        copy.write_text(with_git_pull(prefect_file.read_text(encoding="utf-8"), step), encoding="utf-8")
        prefect = str(Path(sys.executable).parent / "prefect")
        return subprocess.call([prefect, "--no-prompt", "deploy", "--prefect-file", str(copy), "--all", *extra],
                               cwd=checkout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.runtime.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--git", required=True, metavar="URL", help="the repository workers clone the code from")
    parser.add_argument("--branch", help="the branch to run (default: the repository's default branch)")
    parser.add_argument("--token-block", metavar="NAME",
                        help="a Prefect Secret block holding an access token for a private repository")
    parser.add_argument("--prefect-file", type=Path, default=PREFECT_FILE, help="the deployments file")
    args = parser.parse_args(argv)
    try:
        step = git_pull_step(args.git, args.branch, args.token_block)
        return deploy(step, args.prefect_file)
    except BadInput as exc:
        print(f"copflow: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
