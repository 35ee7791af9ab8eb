"""Can the configured email transport send? Asked by `copflow doctor`, without sending anything."""

from __future__ import annotations

import os

from models.errors import CopflowError
from tasks.storage.paths import check_private
from tasks.storage.settings import Settings


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
        if settings.notify_api_key is None and not settings.notify_api_key_block:
            raise CopflowError("notify: no COPFLOW_NOTIFY_API_KEY or COPFLOW_NOTIFY_API_KEY_BLOCK set")
        if not settings.notify_template_id:
            raise CopflowError("notify: no COPFLOW_NOTIFY_TEMPLATE_ID set")
        return f"notify: key and template set, sending through {settings.notify_base_url}"
    outbox = settings.outbox_dir
    if outbox.exists():
        check_private(outbox, "the outbox folder")
        if not os.access(outbox, os.W_OK):
            raise CopflowError(f"file: the outbox folder {outbox} cannot be written")
    return f"file: emails are written to {outbox}, not sent (set COPFLOW_EMAIL_TRANSPORT to send them)"
