"""Health that helps, through `copflow health`: a launched CoP that never met is noticed (with
withdraw suggested), a decision to continue is respected for a while, and a nudge says what to try.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from tasks.usecases.close import close, continue_community
from tasks.usecases.health import check_community
from tests.conftest import CliRunner
from tests.support.lifecycle import CONVENOR, active, create, hold_session, in_db, launched, outbox

COMMAND_LINE = re.compile(r"\bcopflow [a-z]+ ")


def test_a_cop_launched_that_never_met_is_a_signal_with_withdraw_suggested(home: Path, cli: CliRunner) -> None:
    slug = launched(create())  # launched on 4 January; first session planned for 14 January; monthly
    assert in_db(check_community, slug, today=date(2027, 2, 20), flow_run_id=None).attention == []
    done = cli("health", slug, "--today", "2027-03-15")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        f"{slug}: needs attention",
        "  - the CoP was launched but has not met yet, well past the time its first session was due",
        "  Something to try: set a date for the first session and let members know it",
        ("  Something to try: if the CoP is not going to meet after all, withdraw it: everyone invited "
         "gets a short, kind note, and no sponsor report is sent"),
    ], done.stdout
    assert "  Launched on 4 January 2027; the first session was planned for 14 January 2027" in lines
    [nudge] = outbox("convenor-nudge")
    assert nudge.to_email == CONVENOR
    assert "Two things you might try:" in nudge.text_body and "withdraw it" in nudge.text_body
    assert "withdraw it" in nudge.html_body
    assert not COMMAND_LINE.search(nudge.text_body), nudge.text_body


def test_after_continue_no_close_is_proposed_for_sixty_days_or_three_sessions(home: Path, cli: CliRunner) -> None:
    slug = active(create(), attended=[CONVENOR])  # 14 January: only the convenor came
    for day in (date(2027, 2, 14), date(2027, 3, 14)):
        hold_session(slug, day, [CONVENOR])
    assert in_db(check_community, slug, today=date(2027, 3, 20), flow_run_id=None).close_proposed
    proposed = len(outbox("close-proposal"))
    assert proposed == 2  # the convenor and the planning group (Sam)
    in_db(close, slug, actor=CONVENOR, reason="few come now", successor=None, notice_days=14,
          today=date(2027, 3, 21), flow_run_id=None)
    in_db(continue_community, slug, actor=CONVENOR, today=date(2027, 3, 25), flow_run_id=None)

    next_day = cli("health", slug, "--today", "2027-03-26")
    assert next_day.returncode == 0, next_day.stderr
    assert len(outbox("close-proposal")) == proposed  # the decision stands; nobody is asked again
    assert "  - a sign of a natural end: few members have come to the last few sessions" in next_day.stdout
    assert ("  The members decided to continue on 25 March 2027: no close is proposed before 24 May 2027, "
            "or sooner once three more sessions have been held.") in next_day.stdout.splitlines()

    later = cli("health", slug, "--today", "2027-05-24")  # sixty days on, and still few come
    assert later.returncode == 0, later.stderr
    assert len(outbox("close-proposal")) == proposed + 2, later.stdout
    assert "  aaot: a close proposal went to the convenor and planning group" in later.stdout.splitlines()
    assert "The members decided to continue" not in later.stdout
