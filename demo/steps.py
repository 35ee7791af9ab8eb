"""Play the demo's steps through the real use cases and flows; no rule is decided here.

Each step returns what happened as plain values for its narrative template
(templates/demo/<step>.txt). Record steps call the use cases in tasks/usecases/, as the
record commands do; lifecycle steps run the flows in this process, as the CLI does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from demo.scenario import EXAMPLES, Step, handle
from models.db.tables import Community, PlanningTask
from models.errors import BadInput
from tasks.storage.db import session_scope


class Year:
    """The demo's year: who is who (by the part of their address before the @) and what ran."""

    def __init__(self) -> None:
        self.emails: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.flow_runs = 0

    # -- people ---------------------------------------------------------------------------

    def learn(self, name: str, email: str) -> None:
        self.emails[handle(email)], self.names[handle(email)] = email, name

    def email(self, handle: str | None) -> str:
        if handle not in self.emails:
            raise BadInput(f"demo scenario: nobody called '{handle}' has been introduced yet")
        return self.emails[handle]

    def person_id(self, handle: str | None) -> int:
        """Who acts, as a flow is told: by person id, never by address (DESIGN 6a)."""
        from tasks.storage.queries import person_by_email

        email = self.email(handle)
        with session_scope() as db:
            person = person_by_email(db, email)
            if person is None:
                raise BadInput(f"demo scenario: '{handle}' is not in the database")
            return person.id

    def name(self, handle: str | None) -> str:
        self.email(handle)
        return self.names[str(handle)]

    # -- running ----------------------------------------------------------------------------

    def play(self, step: Step) -> dict[str, Any]:
        told: dict[str, Any] = getattr(self, f"_{step.do.replace('-', '_')}")(step)
        return told

    def flow(self, name: str, request: Any) -> Any:
        """Run the flow here, never through a deployment: the demo's CoPs live in its own folder,
        and its scheduled steps (every CoP, on a simulated day) must not reach anyone else's."""
        from flows.runtime.dispatch import load_flow

        self.flow_runs += 1
        return load_flow(name)(request=request)

    # -- the steps --------------------------------------------------------------------------

    def _create(self, step: Step) -> dict[str, Any]:
        from tasks.charter_file import load_charter
        from tasks.usecases.communities import create_community

        path = EXAMPLES / str(step.charter)
        charter = load_charter(path)
        with session_scope() as db:
            create_community(db, charter, step.day)
        people = ([charter.convenor] if charter.convenor else []) + list(charter.members) + list(charter.sponsors)
        for person in people:
            self.learn(person.name, person.email)
        return {"charter": charter, "path": f"examples/{path.name}",
                "kinds": Counter(m.kind.value for m in charter.members)}

    def _launch(self, step: Step) -> dict[str, Any]:
        from flows.requests import LaunchRequest

        assert step.cop is not None  # the scenario's checks require a CoP for a launch step
        result = self.flow("launch", LaunchRequest(slug=step.cop, actor_id=self.person_id(step.as_), today=step.day))
        outcome = result.communities[0]
        return {"who": self.name(step.as_), "slug": step.cop, "notes": outcome.notes,
                "lead": outcome.planning_lead, "sent": result.sent}

    def _session(self, step: Step) -> dict[str, Any]:
        from tasks.storage.queries import current_members, get_community, sessions_held
        from tasks.usecases.sessions import record_session

        with session_scope() as db:
            stage_before = get_community(db, str(step.cop)).stage
            held = record_session(
                db, str(step.cop), held_on=step.day, attended=[self.email(h) for h in step.attended],
                format=None, topics=step.topics, methods=step.methods, outputs=step.outputs,
                stories=[step.story] if step.story else [], consent=step.consent, guests=step.guests,
                actor=self.email(step.as_), today=step.day)
            kinds = Counter("convenor" if a.membership.is_convenor else a.membership.kind
                            for a in held.attendance)
            community = get_community(db, str(step.cop))
            told = {"number": sessions_held(db, community), "came": len(held.attendance),
                    "guests": held.guests, "consent": step.consent.value,
                    "members": len(current_members(db, community)), "kinds": kinds,
                    "now_active": stage_before != community.stage, "stage": community.stage}
        return {**told, "topics": step.topics, "methods": step.methods, "outputs": step.outputs,
                "story": step.story}

    def _task(self, step: Step) -> dict[str, Any]:
        from tasks.usecases.planning_tasks import add_task

        with session_scope() as db:
            task = add_task(db, str(step.cop), title=str(step.title), due=step.due, notes=None,
                            actor=self.email(step.as_), today=step.day)
            owner = task.owner.person.name
        return {"who": self.name(step.as_), "title": step.title, "due": step.due, "owner": owner}

    def _done(self, step: Step) -> dict[str, Any]:
        from tasks.usecases.planning_tasks import complete_task

        with session_scope() as db:
            task_id = db.scalar(select(PlanningTask.id).join(Community).where(
                Community.slug == step.cop, PlanningTask.title == step.title,
                PlanningTask.status == "open"))
            if task_id is None:
                raise BadInput(f"demo scenario: no open task '{step.title}' in {step.cop}")
            complete_task(db, str(step.cop), task_id, actor=self.email(step.as_), today=step.day)
        return {"who": self.name(step.as_), "title": step.title}

    def _volunteer(self, step: Step) -> dict[str, Any]:
        from tasks.usecases.membership import volunteer

        with session_scope() as db:
            # An offer, made by the member for themselves.
            volunteer(db, str(step.cop), self.email(step.who), opt_out=False, actor=self.email(step.who),
                      today=step.day)
        return {"who": self.name(step.who)}

    def _join(self, step: Step) -> dict[str, Any]:
        from tasks.usecases.membership import add_member

        with session_scope() as db:
            add_member(db, str(step.cop), name=str(step.name), email=str(step.email),
                       kind=step.kind, planning_group=False,
                       actor=self.email(step.as_), today=step.day)
        self.learn(str(step.name), str(step.email))
        return {"who": step.name, "kind": step.kind.value, "by": self.name(step.as_)}

    def _schedule(self, step: Step) -> dict[str, Any]:
        from flows.requests import (
            ArchiveRequest,
            HealthRequest,
            ReportRequest,
            RotateRequest,
        )

        requests = {"sponsor-report": ReportRequest, "rotate": RotateRequest,
                    "health": HealthRequest, "archive": ArchiveRequest}
        runs = [{"flow": name, "result": self.flow(name, requests[name](today=step.day))}
                for name in step.run]
        for run in runs:
            if run["flow"] == "health":
                self._with_stored_figures(run["result"])
        return {"runs": runs, "sent": sum(r["result"].sent for r in runs)}

    def _with_stored_figures(self, result: Any) -> None:
        """A scheduled health run keeps only signals; its figures are in each CoP's health record."""
        from tasks.storage.db import read_scope
        from tasks.storage.views import stored_health

        with read_scope() as db:
            figures = {h["slug"]: h["figures"] for h in stored_health(db, None)}
        for community in result.communities:
            if community.figures is None:
                community.figures = figures.get(community.slug, {})

    def _close(self, step: Step) -> dict[str, Any]:
        from flows.requests import CloseRequest

        result = self.flow("close", CloseRequest(
            slug=str(step.cop), actor_id=self.person_id(step.as_), reason=" ".join(str(step.reason).split()),
            successor=step.successor, notice_days=step.notice_days, today=step.day))
        outcome = result.communities[0]
        with session_scope() as db:
            successor = db.scalar(select(Community.name).where(Community.slug == step.successor))
        return {"who": self.name(step.as_), "slug": step.cop, "reason": " ".join(str(step.reason).split()),
                "successor": successor, "successor_slug": step.successor,
                "notice_ends_on": outcome.notice_ends_on, "notes": outcome.notes,
                "sent": result.sent}

    def _opt_out(self, step: Step) -> dict[str, Any]:
        from tasks.usecases.membership import volunteer

        with session_scope() as db:
            volunteer(db, str(step.cop), self.email(step.who), opt_out=True, actor=self.email(step.who),
                      today=step.day)  # the member, for themselves
        return {"who": self.name(step.who)}

    def _rotate(self, step: Step) -> dict[str, Any]:
        from flows.requests import RotateRequest

        result = self.flow("rotate", RotateRequest(slug=step.cop, actor_id=self.person_id(step.as_), today=step.day))
        outcome = result.communities[0]
        return {"who": self.name(step.as_), "slug": step.cop, "notes": outcome.notes, "sent": result.sent}

    def _continue(self, step: Step) -> dict[str, Any]:
        from flows.requests import ContinueRequest

        result = self.flow("continue", ContinueRequest(slug=str(step.cop), actor_id=self.person_id(step.as_),
                                                       today=step.day))
        return {"who": self.name(step.as_), "slug": step.cop, "notes": result.communities[0].notes,
                "sent": result.sent}

    def _withdraw(self, step: Step) -> dict[str, Any]:
        from flows.requests import WithdrawRequest

        reason = " ".join(str(step.reason).split())
        result = self.flow("withdraw", WithdrawRequest(slug=str(step.cop), actor_id=self.person_id(step.as_),
                                                       reason=reason, today=step.day))
        return {"who": self.name(step.as_), "slug": step.cop, "reason": reason,
                "notes": result.communities[0].notes, "sent": result.sent}

    def _plan(self, step: Step) -> dict[str, Any]:
        from flows.requests import PlanRequest

        assert step.starts_at is not None  # the scenario's checks require it for a plan step
        result = self.flow("plan-session", PlanRequest(slug=str(step.cop), actor_id=self.person_id(step.as_),
                                                        starts_at=step.starts_at, agenda=step.agenda,
                                                        today=step.day))
        return {"who": self.name(step.as_), "slug": step.cop, "starts_at": step.starts_at,
                "agenda": step.agenda, "sent": result.sent}

    def _sign_in(self, step: Step) -> dict[str, Any]:
        """A link to sign in to the web app, asked for as its sign-in page asks (web/signin.py),
        and delivered at once as it delivers it; no web server runs."""
        from tasks.email.delivery import deliver_pending
        from tasks.usecases.sign_in import request_sign_in

        asked = request_sign_in(self.email(step.who), "copflow demo", None)
        if asked.limited:
            raise BadInput(f"demo scenario: too many sign-in links asked for {step.who}")
        sent = len(deliver_pending([asked.outbox_id]).sent) if asked.outbox_id is not None else 0
        return {"who": self.name(step.who), "sent": sent}
