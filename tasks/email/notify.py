"""GOV.UK Notify transport: the email API over httpx, one client per batch.

Each message goes through one generic template whose whole content is
((subject)) and ((body)); the reference is the outbox key, so a message whose
send was interrupted is looked up before it is sent again.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import httpx
import jwt

from tasks.email.transports import ConnectionFailure, PermanentFailure, SettingsRefused, TransientFailure
from tasks.storage.settings import Settings

UUID_LENGTH = 36


def split_api_key(api_key: str) -> tuple[str, str]:
    """(service id, secret): a key is `{key_name}-{service_id}-{secret}`, the last two UUIDs."""
    if len(api_key) < 2 * UUID_LENGTH + 2 or api_key[-UUID_LENGTH - 1] != "-":
        raise ValueError("COPFLOW_NOTIFY_API_KEY is not a GOV.UK Notify API key")
    secret = api_key[-UUID_LENGTH:]
    service_id = api_key[-2 * UUID_LENGTH - 1 : -UUID_LENGTH - 1]
    return service_id, secret


def bearer_token(service_id: str, secret: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return jwt.encode({"iss": service_id, "iat": issued}, secret, algorithm="HS256")


def _errors(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
        parts = [f"{e.get('error', '')}: {e.get('message', '')}" for e in body.get("errors", [])]
        detail = "; ".join(parts) or response.text[:200]
    except ValueError:
        detail = response.text[:200]
    return f"Notify said {response.status_code}: {' '.join(detail.split())}"


# A 400 naming these is about one recipient (an invalid address, one outside a trial service's
# team); any other 400 (template, personalisation, service, reply-to) and every 401/403 (the
# API key) is about the settings, and would refuse every message alike.
ABOUT_THE_RECIPIENT = ("recipient", "email_address")


def refusal(status: int, reason: str) -> PermanentFailure:
    if status == 400 and any(word in reason.lower() for word in ABOUT_THE_RECIPIENT):
        return PermanentFailure(reason, kind="recipient-refused")
    return SettingsRefused(reason, kind="key-refused" if status in (401, 403) else "notify-settings")


class NotifyTransport:
    name = "notify"

    def __init__(self, settings: Settings) -> None:
        if settings.notify_api_key is None or not settings.notify_template_id:
            raise ValueError("the notify transport needs COPFLOW_NOTIFY_API_KEY and COPFLOW_NOTIFY_TEMPLATE_ID")
        self._service_id, self._secret = split_api_key(settings.notify_api_key.get_secret_value())
        self.template_id = settings.notify_template_id
        self.base_url = settings.notify_base_url.rstrip("/")
        self._client = httpx.Client(timeout=settings.smtp_timeout,
                                    headers={"User-Agent": "copflow"})

    def _headers(self) -> dict[str, str]:
        # A fresh token per request: Notify refuses tokens older than 30 seconds.
        return {"Authorization": f"Bearer {bearer_token(self._service_id, self._secret)}"}

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, self.base_url + path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:
            raise ConnectionFailure(f"could not reach Notify: {exc.__class__.__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientFailure(_errors(response))
        if response.status_code >= 400:
            raise refusal(response.status_code, _errors(response))
        return response

    def find(self, key: str) -> str | None:
        """The id of a notification already sent under this reference, if any."""
        body = self._request("GET", "/v2/notifications", params={"reference": key}).json()
        found = body.get("notifications") or []
        return str(found[0]["id"]) if found else None

    def send(self, key: str, message: EmailMessage, *, maybe_sent: bool = False) -> str:
        if maybe_sent:
            existing = self.find(key)
            if existing is not None:
                return existing
        part = message.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        payload = {
            "email_address": message["To"].addresses[0].addr_spec,
            "template_id": self.template_id,
            "personalisation": {"subject": str(message["Subject"]), "body": body},
            "reference": key,
        }
        response = self._request("POST", "/v2/notifications/email", json=payload)
        return str(response.json().get("id", ""))

    def close(self) -> None:
        self._client.close()
