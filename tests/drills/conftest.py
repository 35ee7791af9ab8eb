"""Fixtures for the drills: a plain SMTP relay on loopback, and the drills' summary line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.drills.tally import DRILLS
from tests.flows.conftest import emitted  # noqa: F401 - the flows' record of events, for the transport drills
from tests.support.servers import Mailbox, free_port


@pytest.fixture(autouse=True)
def convenor_acts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drills' commands are typed by the sample CoP's convenor, said once as COPFLOW_ACTOR
    (nothing defaults to anyone); the who-may-act drills set or unset it case by case."""
    monkeypatch.setenv("COPFLOW_ACTOR", "dana@example.nhs.uk")


@pytest.fixture
def smtp_relay() -> Iterator[tuple[Mailbox, dict[str, str]]]:
    """A relay without TLS or login (an internal relay); settings for the driver to use it."""
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, {"email_transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": str(port),
                    "smtp_security": "none", "smtp_timeout": "5", "email_from": "copflow@example.nhs.uk"}
    controller.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Carry what each drill did on its report; tests/conftest.py prints the total."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown":
        done = DRILLS.take()
        if done:
            report.user_properties.append(("drills", done))

