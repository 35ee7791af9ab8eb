"""deployments/automations.yaml is what operations install to be told when copflow needs them:
Prefect must accept each automation as written (what `prefect automation create --from-file`
does with it), and each must listen for events copflow and Prefect really emit."""

from __future__ import annotations

import uuid

import pytest
import yaml

from flows.runtime.automations import AUTOMATIONS_FILE, read_automations
from flows.runtime.dispatch import FLOWS
from tasks.email_tasks import EMAIL_FAILED, EMAIL_HELD

RAW = yaml.safe_load(AUTOMATIONS_FILE.read_text(encoding="utf-8"))["automations"]


@pytest.mark.parametrize("spec", RAW, ids=[s["name"] for s in RAW])
def test_prefect_accepts_each_automation_as_the_cli_reads_it(spec: dict) -> None:  # type: ignore[type-arg]
    from prefect.events.schemas.automations import AutomationCore, EventTrigger

    automation = AutomationCore.model_validate(spec)  # what `prefect automation create -f` does
    assert isinstance(automation.trigger, EventTrigger) and automation.trigger.threshold == 1
    assert [a.type for a in automation.actions] == ["do-nothing"]


def test_with_a_notification_block_each_one_notifies() -> None:
    block = uuid.uuid4()
    for automation in read_automations(notify=block):
        [action] = automation.actions
        assert action.type == "send-notification" and action.block_document_id == block  # type: ignore[union-attr]
        assert "{{" in action.subject and "{{" in action.body  # type: ignore[union-attr]


def test_one_for_email_one_for_failed_runs_one_for_late_runs() -> None:
    expected = [sorted(a.trigger.expect) for a in read_automations()]  # type: ignore[union-attr]
    assert expected == [sorted([EMAIL_FAILED, EMAIL_HELD]),
                        ["prefect.flow-run.Crashed", "prefect.flow-run.Failed"],
                        ["prefect.flow-run.Late"]]


def test_the_run_automations_name_every_copflow_flow() -> None:
    for automation in read_automations()[1:]:
        related = automation.trigger.match_related  # type: ignore[union-attr]
        assert set(related["prefect.resource.name"]) == set(FLOWS)  # type: ignore[index,call-overload]
