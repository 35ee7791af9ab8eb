"""Whether this process may deliver with the site's email transport, or leaves the emails queued.

The rule: the site's transport is the one COPFLOW_EMAIL_TRANSPORT names in the process that
delivers. A worker (or `copflow serve`) delivers with its own settings: they are the site's.
A command that runs a flow in its own process while a Prefect server is configured (the
deployment is missing, or it was told to run here) stands in for the worker; it delivers only
when COPFLOW_EMAIL_TRANSPORT is set in its own environment too, never with the `file` default,
and only when the credentials that transport needs are here (set, or in a Secret block this
process can read). Otherwise the emails stay queued, and the worker's next run for those CoPs
(or the daily sponsor-report run over every CoP) delivers them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from models.errors import CopflowError
from tasks.storage.paths import check_private
from tasks.storage.settings import Settings

_STANDING_IN: ContextVar[bool] = ContextVar("copflow_standing_in_for_the_worker", default=False)


@contextmanager
def standing_in_for_the_worker(yes: bool = True) -> Iterator[None]:
    """While a command runs a flow here that a server's worker would otherwise run."""
    token = _STANDING_IN.set(yes)
    try:
        yield
    finally:
        _STANDING_IN.reset(token)


def standing_in() -> bool:
    return _STANDING_IN.get()


def not_here(settings: Settings) -> str | None:
    """Why this process cannot deliver with the site's transport (None: it may). A worker missing
    a credential leaves the emails pending too, rather than trying a login bound to fail."""
    if standing_in() and "email_transport" not in settings.model_fields_set:
        return "COPFLOW_EMAIL_TRANSPORT is not set here; the site's transport is set where its worker runs"
    return missing_credentials(settings)


def missing_credentials(settings: Settings) -> str | None:
    """What the configured transport lacks in this process (None: nothing), by variable name."""
    if settings.email_transport == "smtp" and settings.smtp_username and settings.smtp_password is None:
        return ("COPFLOW_SMTP_USERNAME is set but there is no COPFLOW_SMTP_PASSWORD, nor a "
                "COPFLOW_SMTP_PASSWORD_BLOCK readable here")
    if settings.email_transport == "notify" and (settings.notify_api_key is None
                                                 or not settings.notify_template_id):
        return ("the notify transport needs COPFLOW_NOTIFY_TEMPLATE_ID and COPFLOW_NOTIFY_API_KEY "
                "(or a COPFLOW_NOTIFY_API_KEY_BLOCK readable here)")
    return None


# `copflow doctor` asks this, without sending anything.
def transport_ready(settings: Settings) -> str:
    """One line on the transport; raises when it could not send now."""
    if settings.email_transport == "smtp":
        from tasks.email.smtp import SmtpTransport

        transport = SmtpTransport(settings)
        try:
            transport._connect().quit()  # the same connection and login a batch opens
        except Exception as exc:
            raise CopflowError(f"smtp: {exc}") from None
        login = f", logged in as {settings.smtp_username}" if settings.smtp_username else ""
        return f"smtp: {settings.smtp_host}:{settings.smtp_port} answers ({settings.smtp_security}{login})"
    if settings.email_transport == "notify":
        missing = missing_credentials(settings)
        if missing:
            raise CopflowError(f"notify: {missing}")
        return f"notify: key and template set, sending through {settings.notify_base_url}"
    outbox = settings.outbox_dir
    if outbox.exists():
        check_private(outbox, "the outbox folder")
        if not os.access(outbox, os.W_OK):
            raise CopflowError(f"file: the outbox folder {outbox} cannot be written")
    return f"file: emails are written to {outbox}, not sent (set COPFLOW_EMAIL_TRANSPORT to send them)"
