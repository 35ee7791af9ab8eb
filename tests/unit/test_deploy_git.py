"""`python -m flows.runtime.deploy`: the deployments of prefect.yaml, unchanged but for the pull step."""

from __future__ import annotations

import yaml

from flows.runtime.deploy import GIT_CLONE, git_pull_step, main, with_git_pull
from flows.runtime.serving import PREFECT_FILE


def test_only_the_pull_step_changes() -> None:
    text = PREFECT_FILE.read_text()
    step = git_pull_step("https://git.example.nhs.uk/ops/copflow.git", "main", "copflow-git-token")
    changed = yaml.safe_load(with_git_pull(text, step))
    original = yaml.safe_load(text)
    assert changed["pull"] == [{GIT_CLONE: {
        "repository": "https://git.example.nhs.uk/ops/copflow.git", "branch": "main",
        "access_token": "{{ prefect.blocks.secret.copflow-git-token }}"}}]
    assert original["pull"] != changed["pull"]
    assert {k: v for k, v in changed.items() if k != "pull"} == {k: v for k, v in original.items() if k != "pull"}


def test_a_token_in_the_url_is_refused_in_one_line(capsys: object) -> None:
    code = main(["--git", "https://oauth2:glpat-secret@git.example.nhs.uk/ops/copflow.git"])
    said = capsys.readouterr()  # type: ignore[attr-defined]
    assert code == 2
    assert said.err.splitlines() == ["copflow: --git: credentials in the URL would be stored on the Prefect "
                                     "server and shown in its UI; keep the token in a Prefect Secret block and "
                                     "name it with --token-block"]
    assert "glpat-secret" not in said.err + said.out
