"""Render a sample sponsor report and screenshot it with headless Chromium, for docs/.

    .venv/bin/python tools/sponsor_report_screenshot.py [--out docs/sponsor-report.png]

Builds a fictional CoP's half-year in a throwaway COPFLOW_HOME, queues its
April-June report, and takes the HTML exactly as the first sponsor receives it.
Needs Debian's chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def sample_report_html(home: Path) -> tuple[str, str]:
    """(the April-June report, the final report after a July close), as the first sponsor gets them."""
    os.environ["COPFLOW_HOME"] = str(home)
    from sqlalchemy import select

    from models.charter import Charter
    from models.db.tables import Community, OutboxMessage, RoleTerm
    from tasks.charter_file import load_charter
    from tasks.storage.db import session_scope, upgrade
    from tasks.usecases.communities import create_community
    from tasks.usecases.membership import volunteer
    from tasks.usecases.planning_tasks import add_task
    from tasks.usecases.sessions import record_session
    from tasks.usecases.sponsor_reports import queue_due_reports, queue_final_report

    upgrade()
    charter: Charter = load_charter(REPO / "examples" / "aaot-charter.yaml")
    charter = charter.model_copy(update={"members": [*charter.members, *Charter.model_validate({
        "name": "x", "members": [
            {"name": "Jo Reid", "email": "jo@example.nhs.uk", "kind": "practitioner"},
            {"name": "Mo Begum", "email": "mo@example.nhs.uk", "kind": "practitioner"},
            {"name": "Ruth Adeyemi", "email": "ruth@example.org", "kind": "expert-by-experience"},
        ]}).members]})
    dana, sam, lee, ana, jo, mo, ruth = ("dana@example.nhs.uk", "sam@example.nhs.uk", "lee@example.org",
                                         "ana@example.ac.uk", "jo@example.nhs.uk", "mo@example.nhs.uk",
                                         "ruth@example.org")
    sessions = [
        (date(2027, 1, 14), [dana, sam, lee, ana], ["Why people disengage after detox"], [], [], None),
        (date(2027, 2, 11), [dana, sam, lee, ana, jo], ["Assertive outreach in rural areas"], [], [], None),
        (date(2027, 3, 11), [dana, sam, ana, jo, mo], ["Case: re-engaging after a missed visit"], [], [], None),
        (date(2027, 4, 8), [dana, sam, lee, ana, jo, mo],
         ["Case: a client who would only meet at the allotment", "Working with housing officers"],
         ["Case review", "Time to Think"], [], "After Lee's story about being turned away, two teams "
         "now offer the first visit wherever the person feels safe, not only at the clinic."),
        (date(2027, 5, 13), [dana, sam, lee, ana, jo, mo, ruth],
         ["Home detox: keeping families informed", "Case: winter outreach"],
         ["Case review"], ["A one-page home detox checklist, now used by three teams"], None),
        (date(2027, 6, 10), [sam, lee, ana, jo, mo, ruth],
         ["Measuring what matters to people in recovery"], ["World café"],
         ["Draft outcome questions co-written with experts by experience"],
         "Ruth's feedback led the Northfield team to rewrite its discharge letter in plain English."),
    ]
    with session_scope() as db:
        community = create_community(db, charter, date(2027, 1, 4))
        community.stage, community.launched_on = "active", date(2027, 1, 10)
        db.flush()
        from tasks.storage.queries import membership_of

        db.add(RoleTerm(community_id=community.id, membership_id=membership_of(db, community, sam).id,
                        started_on=date(2027, 1, 10), ended_on=date(2027, 4, 9), sessions_at_start=0))
        db.add(RoleTerm(community_id=community.id, membership_id=membership_of(db, community, jo).id,
                        started_on=date(2027, 4, 9), sessions_at_start=3))
    for held, who, topics, methods, outputs, story in sessions:
        with session_scope() as db:
            record_session(db, "aaot", held_on=held, attended=who, format=None, topics=topics,
                           methods=methods, outputs=outputs, story=story, actor=dana, today=held)
        if held == date(2027, 5, 13):
            with session_scope() as db:
                volunteer(db, "aaot", ruth, opt_out=False, actor=ruth, today=held)
    with session_scope() as db:
        add_task(db, "aaot", title="Invite the housing team to the July session", due=date(2027, 7, 8),
                 notes=None, actor=dana, today=date(2027, 6, 20))
        add_task(db, "aaot", title="Share the home detox checklist with the regional network",
                 due=None, notes=None, actor=dana, today=date(2027, 6, 20))
    with session_scope() as db:
        community = db.scalars(select(Community)).one()
        queue_due_reports(db, community, today=date(2027, 4, 1), flow_run_id=None)
        queue_due_reports(db, community, today=date(2027, 7, 1), flow_run_id=None)
        row = db.scalars(select(OutboxMessage).where(OutboxMessage.key.like("report:aaot:2027-04-01:priya%"))).one()
        periodic = row.html_body
    with session_scope() as db:
        record_session(db, "aaot", held_on=date(2027, 7, 8), attended=[dana, sam, lee, jo, ruth], format=None,
                       topics=["What we would tell a new outreach team"], methods=["Appreciative inquiry"],
                       outputs=["A handbook of the community's cases, for the regional network"],
                       story=None, actor=dana, today=date(2027, 7, 8))
    with session_scope() as db:
        community = db.scalars(select(Community)).one()
        community.stage, community.closing_since = "closing", date(2027, 7, 8)
        community.close_reason = ("We set out to share what works in alcohol assertive outreach, "
                                  "and the handbook now does that for teams across the region.")
        queue_final_report(db, community, today=date(2027, 7, 22), flow_run_id=None)
        final = db.scalars(select(OutboxMessage).where(OutboxMessage.key == "final-report:aaot:priya@example.nhs.uk")).one()
        return periodic, final.html_body


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "sponsor-report.png")
    parser.add_argument("--width", type=int, default=680)
    parser.add_argument("--height", type=int, default=2150)
    parser.add_argument("--final-height", type=int, default=2150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        periodic, final = sample_report_html(Path(tmp) / "home")
        final_out = args.out.with_name("final-" + args.out.name)
        for html, out, height in ((periodic, args.out, args.height), (final, final_out, args.final_height)):
            page = Path(tmp) / "report.html"
            page.write_text(html, encoding="utf-8")
            out.with_suffix(".html").write_text(html, encoding="utf-8")
            subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/chromium",
                            f"--screenshot={out.resolve()}", f"--window-size={args.width},{height}",
                            page.as_uri()], check=True, capture_output=True, timeout=120)
            print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
