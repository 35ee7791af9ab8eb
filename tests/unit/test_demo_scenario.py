"""The demo's scenario file: a mistake in it is one clear line, before anything is cleared or run."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.scenario import load_scenario
from models.errors import BadInput

CREATE = "  - {day: 2027-01-04, do: create, charter: demo-charter.yaml}\n"


def test_the_shipped_scenario_reads_cleanly() -> None:
    steps = load_scenario().steps
    assert steps[0].do == "create" and [s.day for s in steps] == sorted(s.day for s in steps)


def test_the_gallery_epilogue_reads_cleanly_after_the_year() -> None:
    from demo.gallery import EPILOGUE

    steps = load_scenario(EPILOGUE, continues=load_scenario()).steps
    assert {"withdraw", "plan", "sign-in"} <= {s.do for s in steps}


@pytest.mark.parametrize(("text", "problem"), [
    ("steps: [\n", "at line 2"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: launch, cop: aaot, colour: red}\n", "steps.1.colour"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: launch, cop: aaot}\n", "step 2 (launch) needs as"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-01, do: launch, cop: aaot, as: dana}\n", "before the step above"),
    ("steps:\n  - {day: 2027-01-04, do: launch, cop: aaot, as: dana}\n", "first step creates a CoP"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: volunteer, cop: aaot, who: zed}\n",
     "names zed, who has not been introduced"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: join, cop: aaot, as: dana, name: Bo, email: bo@example.org,"
     " kind: boss}\n", "steps.1.kind"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: plan, cop: aaot, as: dana}\n", "step 2 (plan) needs starts_at"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: withdraw, cop: aaot, as: dana}\n", "step 2 (withdraw) needs reason"),
    ("steps:\n" + CREATE + "  - {day: 2027-01-05, do: sign-in, who: zed}\n", "names zed, who has not been introduced"),
])
def test_a_broken_scenario_is_one_clear_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(BadInput) as refused:
        load_scenario(path)
    assert problem in str(refused.value) and str(refused.value).startswith("scenario.yaml: ")
    assert "\n" not in str(refused.value)
