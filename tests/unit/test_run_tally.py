"""A run over every CoP keeps counts and names at most LISTED CoPs, whatever its N; a run for
one CoP keeps its full result (the convenor's commands and the web app show it)."""

from __future__ import annotations

from flows._compose import RunResults
from tasks.run_tally import LISTED
from tasks.usecases.common import Outcome


def _outcomes(n: int) -> list[Outcome]:
    """Every third CoP raised a signal; the rest are well."""
    return [Outcome(slug=f"cop-{i:06d}", attention=["low_attendance"] if i % 3 == 0 else [])
            for i in range(n)]


def test_up_to_listed_cops_every_one_is_named() -> None:
    run = RunResults("health", every_cop=True).add(_outcomes(LISTED))
    assert len(run.communities) == LISTED
    assert run.tally is not None and run.tally.seen == LISTED and run.tally.not_listed == 0


def test_past_listed_cops_only_those_needing_attention_are_named_and_the_rest_counted() -> None:
    run = RunResults("health", every_cop=True)
    for start in range(0, 3_000, 100):  # as pages come in
        run.add(_outcomes(3_000)[start:start + 100])
    assert run.tally is not None
    assert run.tally.seen == 3_000 and run.tally.needing_attention == 1_000
    assert run.tally.signals == {"low_attendance": 1_000}
    assert len(run.communities) == LISTED and all(c.attention for c in run.communities)
    assert run.tally.not_listed == 1_000 - LISTED
    # The first ones seen are the ones named: the list does not churn as the run goes on.
    assert run.communities[0].slug == "cop-000000"


def test_a_run_for_one_cop_keeps_its_full_result() -> None:
    run = RunResults("health").add(_outcomes(1))
    assert run.tally is None and [c.slug for c in run.communities] == ["cop-000000"]
