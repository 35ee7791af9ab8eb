"""A run on a worker ends in a Prefect state; the command line must turn it back into the
same result, or the same one line and exit code, as running the flow here."""

from __future__ import annotations

import asyncio

import pytest
from prefect.states import Cancelled, Completed, Crashed, exception_to_failed_state

from flows.runtime.through_server import RemoteRun, error_from_failure, outcome
from models.errors import BadInput, CopflowError, Refused


def failed_by(exc: BaseException):  # type: ignore[no-untyped-def]
    """The state Prefect's engine records when a flow raises `exc` (same message format)."""
    return asyncio.run(
        exception_to_failed_state(exc, message="Flow run encountered an exception:")
    )


def test_a_refusal_on_the_worker_is_a_refusal_here() -> None:
    state = failed_by(Refused("priya@example.nhs.uk is a sponsor of aaot; sponsors never decide"))
    with pytest.raises(Refused) as raised:
        outcome("launch", "brave-otter", state)
    assert raised.value.exit_code == 3
    assert str(raised.value) == "priya@example.nhs.uk is a sponsor of aaot; sponsors never decide"


def test_bad_input_on_the_worker_is_bad_input_here() -> None:
    state = failed_by(BadInput("no CoP called 'nope'"))
    with pytest.raises(BadInput) as raised:
        outcome("close", "calm-heron", state)
    assert raised.value.exit_code == 2
    assert str(raised.value) == "no CoP called 'nope'"


def test_a_subclass_of_refused_keeps_its_exit_code() -> None:
    class LostRace(Refused):
        pass

    with pytest.raises(Refused) as raised:
        outcome("rotate", "quick-fox", failed_by(LostRace("someone else changed it")))
    assert raised.value.exit_code == 3


def test_any_other_failure_is_exit_1_naming_the_run() -> None:
    state = failed_by(ValueError("boom"))
    with pytest.raises(CopflowError) as raised:
        outcome("archive", "sleepy-owl", state)
    assert type(raised.value) is CopflowError and raised.value.exit_code == 1
    assert "ValueError: boom" in str(raised.value)
    assert "sleepy-owl" in str(raised.value)


def test_a_failure_without_a_message_still_says_where_to_look() -> None:
    error = error_from_failure("health", "odd-emu", None)
    assert error.exit_code == 1 and "odd-emu" in str(error)


def test_a_crash_or_a_cancellation_is_exit_1() -> None:
    with pytest.raises(CopflowError) as crashed:
        outcome("launch", "red-kite", Crashed(message="Flow run infrastructure exited with non-zero status code 137."))
    assert crashed.value.exit_code == 1 and "crashed" in str(crashed.value) and "137" in str(crashed.value)
    with pytest.raises(CopflowError) as cancelled:
        outcome("launch", "red-kite", Cancelled())
    assert cancelled.value.exit_code == 1 and "cancelled" in str(cancelled.value)


def test_a_completed_run_gives_back_the_flows_result() -> None:
    assert outcome("launch", "fine-day", Completed(data={"invited": 3})) == {"invited": 3}


def test_a_completed_run_whose_result_is_out_of_reach_is_still_reported_done() -> None:
    # The result lives where the worker kept it; if this process cannot read it, say what ran.
    class Unreadable:
        name = "Completed"

        def is_completed(self) -> bool:
            return True

        def result(self, raise_on_failure: bool = True) -> object:
            raise RuntimeError("no such file in result storage")

    done = outcome("launch", "far-away", Unreadable())
    assert isinstance(done, RemoteRun)
    assert str(done) == "launch: flow run 'far-away' completed"
