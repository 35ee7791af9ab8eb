"""The actions a member takes for themselves: the same use cases as the command line, run with
the signed-in (or link-bound) person as the actor and the web as the channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from tasks.storage.audit import CHANNEL
from tasks.storage.db import session_scope
from tasks.usecases.member_emails import set_emails_stopped
from tasks.usecases.membership import leave, volunteer

CHANNEL_WEB = "web"
Action = Callable[[Session, str, str, date], object]

ACTIONS: dict[str, Action] = {
    "volunteer": lambda db, slug, me, today: volunteer(db, slug, me, opt_out=False, actor=me, today=today),
    "opt-out": lambda db, slug, me, today: volunteer(db, slug, me, opt_out=True, actor=me, today=today),
    "stop-emails": lambda db, slug, me, today: set_emails_stopped(db, slug, me, stopped=True, actor=me,
                                                                  today=today),
    "restart-emails": lambda db, slug, me, today: set_emails_stopped(db, slug, me, stopped=False, actor=me,
                                                                     today=today),
    "leave": lambda db, slug, me, today: leave(db, slug, me, actor=me, today=today),
}


def run(action: str, slug: str, email: str, before: Callable[[Session], bool] | None = None) -> bool:
    """Do one action in one transaction; `before` (same transaction) may veto it (False): then
    nothing is written. A use case's refusal (CopflowError) rolls everything back."""
    try:
        with session_scope() as db:
            db.info[CHANNEL] = CHANNEL_WEB
            if before is not None and not before(db):
                raise _Vetoed
            ACTIONS[action](db, slug, email, date.today())
    except _Vetoed:
        return False
    return True


class _Vetoed(Exception):
    """Rolls the transaction back: nothing written."""
