"""`copflow fidelity`, `community show` and `copflow portfolio`, as a programme lead uses them.

The CoPs are put in place through the real use cases and database (fast); every reading is the
real `copflow` command in a subprocess.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, update

from models.db.tables import Community, Membership, OutboxMessage, Person, SponsorReport, Story
from models.stories import Consent
from tasks.usecases.planning_tasks import add_task
from tests.conftest import SAMPLE_CHARTER, CliRunner
from tests.support.lifecycle import CONVENOR, DAY0, EVERYONE, active, create, hold_session, in_db

TODAY = "2027-06-01"
RAW = ("None", "True", "False", "{", "[", "'")


def monthly_sessions(slug: str, count: int, **kw: object) -> None:
    """Sessions a month apart after the first (DAY0 + 10), everyone attending."""
    for i in range(1, count + 1):
        hold_session(slug, DAY0 + timedelta(days=10 + 30 * i), EVERYONE, **kw)  # type: ignore[arg-type]


def lines_of(cli: CliRunner, *args: str) -> list[str]:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def verdicts(cli: CliRunner, slug: str, today: str = TODAY) -> dict[str, str]:
    done = cli("fidelity", slug, "--json", "--today", today)
    assert done.returncode == 0, done.stderr
    return {c["criterion"]: c["verdict"] for c in json.loads(done.stdout)["criteria"]}


def test_a_cop_true_to_the_model_reads_criterion_by_criterion_with_evidence(home: Path, cli: CliRunner) -> None:
    slug = active(create())
    monthly_sessions(slug, 4, outputs=["A referral checklist"])
    lines = lines_of(cli, "fidelity", slug, "--today", TODAY)
    assert lines[0] == ("Alcohol Assertive Outreach Community of Practice (aaot), active: "
                        "8 of 8 met"), lines
    text = "\n".join(lines)
    for line in ("  A shared domain: met",
                 "  A community that interacts: met",
                 "    4 different people came to the last 4 sessions, 4 to the most recent.",
                 "  Sponsors outside planning: met",
                 "  Rotation happening: met",
                 "  Sessions at the agreed cadence: met",
                 "    1 output recorded across 5 sessions.",
                 "    The last session was on 14 May 2027, 18 days ago.",
                 "  Attendance voluntary: met",
                 "  Consent for every shared story: met"):
        assert line in lines, text
    assert not [raw for raw in RAW if raw in text], text


def test_each_breach_of_the_model_is_named_with_its_evidence(home: Path, cli: CliRunner) -> None:
    slug = active(create())
    monthly_sessions(slug, 6, stories=["Lee's team now visits on the same day as referral"],
                     consent=Consent.named)

    def breach(db: object) -> None:
        cid = db.scalar(select(Community.id).where(Community.slug == slug))  # type: ignore[attr-defined]
        priya = db.scalar(select(Person.id).where(Person.email == "priya@example.nhs.uk"))  # type: ignore[attr-defined]
        # A sponsor on the planning group (the charter refuses this; an old row or a hand edit may not).
        db.add(Membership(community_id=cid, person_id=priya, planning_group=True,  # type: ignore[attr-defined]
                          joined_on=DAY0, kind="practitioner"))
        # An email that chases a member about attendance (copflow has none: this one was put here).
        db.add(OutboxMessage(key="chase:1", community_id=cid, template="attendance-reminder",  # type: ignore[attr-defined]
                             to_name="Lee Hart", to_email="lee@example.org", subject="We missed you",
                             text_body="-", html_body="-", status="sent", queued_on=DAY0,
                             queued_at=DAY0, attempts=1))
        # The first quarter's report went to sponsors, with the stories told in February and March.
        told = db.scalars(select(Story).where(Story.told_on < date(2027, 4, 1)))  # type: ignore[attr-defined]
        db.add(SponsorReport(community_id=cid, period_start=date(2027, 1, 1),  # type: ignore[attr-defined]
                             period_end=date(2027, 3, 31), final=False, created_on=date(2027, 4, 1),
                             figures={"period_label": "January to March 2027", "stories": [
                                 {"held_on": str(s.told_on), "text": s.text, "story_id": s.id,
                                  "consent": s.consent} for s in told]}))

    in_db(breach)
    assert verdicts(cli, slug, "2027-08-01") == {
        "domain": "met", "community": "met", "practice": "met",
        "sponsors-outside-planning": "not met",
        "rotation": "not met",  # the first lead has led all seven sessions: more than two terms' worth
        "cadence": "met",
        "voluntary-attendance": "not met",
        "story-consent": "met",  # each story shared with sponsors was told with the teller's consent
    }
    lines = lines_of(cli, "fidelity", slug, "--today", "2027-08-01")
    text = "\n".join(lines)
    assert lines[0].endswith("active: 5 of 8 met, 3 not met"), text
    assert ("    Priya Raman, a sponsor, is on the planning group; sponsors are informed, never in charge."
            in lines), text
    assert "  Rotation happening: NOT MET" in lines
    assert any(line.startswith("    Sam Okafor has led planning since 4 January 2027 without a change: "
                               "7 sessions") for line in lines), text
    assert ("    1 email chased members about attendance (attendance-reminder); attendance is voluntary."
            in lines), text
    assert ("    Each of the 2 stories shared in sponsor reports went as its teller's consent allows (2 named, "
            "with consent to name); 4 stories stayed in the CoP." in lines), text


def test_fidelity_of_every_cop_and_the_same_in_community_show(home: Path, cli: CliRunner) -> None:
    slug = active(create())
    create(SAMPLE_CHARTER.read_text().replace("slug: aaot", "slug: beta"))
    every = json.loads(cli("fidelity", "--all", "--json", "--today", TODAY).stdout)
    assert [v["slug"] for v in every] == [slug, "beta"]
    beta = every[1]
    assert beta["stage"] == "proposed" and beta["summary"]["not_met"] == []
    assert {c["criterion"]: c["verdict"] for c in beta["criteria"]}["cadence"] == "not yet known"
    assert all(c["evidence"] for c in beta["criteria"])

    shown = lines_of(cli, "community", "show", slug, "--today", TODAY)
    at = shown.index("  fidelity to the model: 6 of 8 met (evidence: copflow fidelity aaot)")
    assert shown[at + 1:at + 3] == ["    A shared domain: met", "    A community that interacts: met"]
    assert "    Sessions at the agreed cadence: not met" in shown  # one session, in January
    as_json = json.loads(cli("community", "show", slug, "--json", "--today", TODAY).stdout)
    summary = as_json["fidelity"]["summary"]
    assert (summary["not_met"], summary["not_yet_known"]) == (["cadence"], ["practice"])  # topics, no story


def test_fidelity_refuses_bad_input_in_one_line(home: Path, cli: CliRunner) -> None:
    create()
    for args, message in ((("fidelity",), "copflow: name one CoP (SLUG) or use --all\n"),
                          (("fidelity", "aaot", "--all"), "copflow: give a CoP or --all, not both\n"),
                          (("fidelity", "nope"), "copflow: no CoP with slug 'nope'\n"),
                          (("fidelity", "aaot", "--today", "June"),
                           "copflow: --today: 'June' is not a date (YYYY-MM-DD)\n")):
        done = cli(*args)
        assert (done.returncode, done.stderr, done.stdout) == (2, message, ""), args


def test_the_portfolio_shows_every_cop_and_who_carries_more_than_one(home: Path, cli: CliRunner) -> None:
    slug = active(create())  # Dana convenes it; Sam is on its planning group and leads it
    monthly_sessions(slug, 4)
    in_db(add_task, slug, title="Book a speaker", due=date(2027, 5, 1), notes=None, actor=CONVENOR, today=DAY0)
    # Dana proposes a second CoP: the seed asks for serious consideration before several.
    create(SAMPLE_CHARTER.read_text().replace("slug: aaot", "slug: beta"))

    view = json.loads(cli("portfolio", "--json", "--today", TODAY).stdout)
    aaot, beta = view["communities"]
    assert (aaot["slug"], aaot["stage"], aaot["in_stage_since"], aaot["days_in_stage"]) == (
        "aaot", "active", "2027-01-14", 138)
    assert (aaot["cadence_kept"], aaot["attendance_trend"], aaot["recent_attendance"]) == (
        True, "steady", [4, 4, 4, 4])
    assert (aaot["open_tasks"], aaot["overdue_tasks"]) == (1, 1)
    assert aaot["next_report"] == {"due_now": ["January to March 2027"], "next_period": "April to June 2027",
                                   "due_on": "2027-07-01"}
    assert (beta["stage"], beta["days_in_stage"], beta["next_report"], beta["cadence_kept"]) == (
        "proposed", 148, None, None)
    assert view["people_carrying_more_than_one"] == [
        {"name": "Dana Whitlow", "communities": [{"slug": "aaot", "roles": ["convenor"]},
                                                 {"slug": "beta", "roles": ["convenor"]}]},
        {"name": "Sam Okafor", "communities": [{"slug": "aaot", "roles": ["planning lead", "planning group"]},
                                               {"slug": "beta", "roles": ["planning group"]}]},
    ]
    lines = lines_of(cli, "portfolio", "--today", TODAY)
    text = "\n".join(lines)
    assert lines[0] == "2 CoPs on 1 June 2027: 1 proposed, 1 active", text
    for line in ("aaot: Alcohol Assertive Outreach Community of Practice",
                 "  Active for 138 days (since 14 January 2027). Monthly cadence kept.",
                 "  Attendance steady: 4, 4, 4, 4 people at the last 4 sessions.",
                 "  Planning tasks: 1 open, 1 overdue.",
                 "  Sponsor report due now for January to March 2027.",
                 "  Proposed for 148 days (since 4 January 2027).",
                 "  Dana Whitlow: aaot (convenor); beta (convenor)",
                 "  Sam Okafor: aaot (planning lead, planning group); beta (planning group)"):
        assert line in lines, text
    assert not [raw for raw in RAW if raw in text], text


def test_the_portfolio_of_nothing_and_of_an_archived_cop(home: Path, cli: CliRunner) -> None:
    assert lines_of(cli, "portfolio") == ["No CoPs yet.", "",
                                          "Nobody carries planning or convening in more than one CoP."]
    slug = active(create())
    in_db(lambda db: db.execute(update(Community).where(Community.slug == slug)
                                .values(stage="archived", archived_on=date(2027, 3, 1))))
    view = json.loads(cli("portfolio", "--json", "--today", TODAY).stdout)
    assert view["communities"][0]["next_report"] is None and view["people_carrying_more_than_one"] == []


def test_a_story_a_report_shared_against_its_consent_is_named_with_the_report(home: Path, cli: CliRunner) -> None:
    from tasks.usecases.sponsor_reports import queue_due_reports

    slug = active(create())
    hold_session(slug, date(2027, 2, 11), EVERYONE, stories=["Lee Hart now rings before a first visit"],
                 consent=Consent.named, teller="lee@example.org")
    hold_session(slug, date(2027, 3, 11), EVERYONE, stories=["What was said about the ward stays here"])

    def report_as_an_older_copflow_sent_it(db: object) -> None:
        """The quarter's report, built as copflow builds it, then with the private story put in."""
        queue_due_reports(db, db.scalars(select(Community)).one(),  # type: ignore[arg-type, attr-defined]
                          today=date(2027, 4, 1), flow_run_id=None)
        private = db.scalars(select(Story).where(Story.consent == "private")).one()  # type: ignore[attr-defined]
        row = db.scalars(select(SponsorReport)).one()  # type: ignore[attr-defined]
        row.figures = {**row.figures, "stories": [*row.figures["stories"], {
            "held_on": "2027-03-11", "text": private.text, "story_id": private.id, "consent": "private"}]}

    in_db(report_as_an_older_copflow_sent_it)
    assert verdicts(cli, slug, "2027-04-02")["story-consent"] == "not met"
    lines = lines_of(cli, "fidelity", slug, "--today", "2027-04-02")
    assert "  Consent for every shared story: NOT MET" in lines, lines
    assert ("    Story #2 was shared in the sponsor report for January to March 2027, though its teller kept "
            "it private.") in lines, lines
    # Before the report was stored, nothing had left the CoP.
    assert verdicts(cli, slug, "2027-03-31")["story-consent"] == "met"


def test_a_community_counts_different_people_at_its_last_four_sessions_held(home: Path, cli: CliRunner) -> None:
    """The portfolio and fidelity count attendance in SQL: these figures pin what they count."""
    slug = active(create())
    dana, sam, lee, _ = EVERYONE
    for i, people in enumerate([EVERYONE, EVERYONE, [dana, sam], [dana, sam], [dana, lee], [dana, sam]], 1):
        hold_session(slug, DAY0 + timedelta(days=10 + 14 * i), people)
    hold_session(slug, date(2027, 6, 20), EVERYONE)  # after TODAY: not held yet on TODAY

    view = json.loads(cli("fidelity", slug, "--json", "--today", TODAY).stdout)
    community = next(c for c in view["criteria"] if c["criterion"] == "community")
    assert community["verdict"] == "met"  # three different people, though two came to each
    assert community["facts"] == [{"says": "people-meeting", "people": 3, "sessions": 4, "at_last": 2}]
    row = json.loads(cli("portfolio", "--json", "--today", TODAY).stdout)["communities"][0]
    assert (row["sessions_held"], row["recent_attendance"]) == (7, [2, 2, 2, 2])  # launch held one
