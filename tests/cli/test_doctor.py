"""`copflow doctor` and the database checks behind every command: each check broken in turn,
as an operator would meet it, names what is wrong in one line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import CliRunner

NO_SERVER = {"PREFECT_API_URL": ""}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alter(statement: str) -> None:
    """Change the test's database behind copflow's back (SQLite or PostgreSQL alike)."""
    from tasks.storage.db import engine

    with engine().begin() as connection:
        connection.exec_driver_sql(statement)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_ready_machine_passes_every_check(cli: CliRunner) -> None:
    done = cli("doctor", env=NO_SERVER)
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    assert len(lines) == 8 and all(line.startswith("ok ") for line in lines)
    assert "is at this copflow's migration" in done.stdout
    assert "file: emails are written to" in done.stdout


def test_a_wrong_setting_fails_first_and_stops(cli: CliRunner) -> None:
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_RETENTION_DAYS": "soon"})
    assert done.returncode == 1
    assert _lines(done.stderr) == [next(line for line in _lines(done.stderr) if "COPFLOW_RETENTION_DAYS" in line)]
    assert done.stderr.startswith("FAIL settings")


def test_a_missing_database_is_named_and_not_created(cli: CliRunner, tmp_path: Path) -> None:
    where = tmp_path / "mistyped" / "copflow.db"
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_DATABASE_URL": f"sqlite:///{where}"})
    assert done.returncode == 1
    assert f"no copflow database at {where}" in done.stderr
    assert not where.parent.exists()  # a read-only check makes no folder


def test_a_database_from_a_newer_copflow_is_said_in_one_line(cli: CliRunner, home: Path) -> None:
    _alter("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    said = "upgraded by a newer copflow (migration 9999_from_the_future)"
    done = cli("doctor", env=NO_SERVER)
    assert done.returncode == 1 and f"FAIL database: this database was {said}" in done.stderr
    for args in (["community", "list"], ["init"]):
        done = cli(*args, env=NO_SERVER)
        assert done.returncode == 2, args
        assert _lines(done.stderr) == [f"copflow: this database was {said}; run that copflow version here"]


def test_a_database_not_yet_upgraded_says_run_init(cli: CliRunner, home: Path) -> None:
    _alter("DELETE FROM alembic_version")
    done = cli("community", "list", env=NO_SERVER)
    assert done.returncode == 2
    assert "run 'copflow init' to upgrade it" in done.stderr


def test_an_smtp_relay_that_does_not_answer_fails_the_email_check(cli: CliRunner) -> None:
    port = _closed_port()
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_EMAIL_TRANSPORT": "smtp", "COPFLOW_SMTP_HOST": "127.0.0.1",
                              "COPFLOW_SMTP_PORT": str(port), "COPFLOW_SMTP_TIMEOUT": "2"})
    assert done.returncode == 1
    assert "FAIL email: smtp: could not connect to SMTP server 127.0.0.1:" in done.stderr
    assert "ok   database" in done.stdout  # the other checks still ran


def test_an_smtp_relay_with_a_wrong_password_fails_the_email_check(cli: CliRunner, smtp_server: object) -> None:
    ready = cli("doctor", env=NO_SERVER)  # the fixture's relay: STARTTLS and a login
    assert ready.returncode == 0, ready.stderr
    assert "logged in as copflow-relay" in ready.stdout
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_SMTP_PASSWORD": "not-the-password"})
    assert done.returncode == 1
    assert "refused the login" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout


def test_notify_without_a_key_fails_the_email_check(cli: CliRunner) -> None:
    done = cli("doctor", env={**NO_SERVER, "COPFLOW_EMAIL_TRANSPORT": "notify"})
    assert done.returncode == 1
    assert "FAIL email: notify: the notify transport needs COPFLOW_NOTIFY_TEMPLATE_ID and COPFLOW_NOTIFY_API_KEY" in done.stderr


def test_a_prefect_server_that_does_not_answer_fails_the_prefect_checks(cli: CliRunner) -> None:
    done = cli("doctor", env={"PREFECT_API_URL": f"http://127.0.0.1:{_closed_port()}/api"}, timeout=180)
    assert done.returncode == 1
    assert "FAIL prefect server: the Prefect server at http://127.0.0.1:" in done.stderr
    assert "ok   database" in done.stdout


@pytest.mark.parametrize("url, said", [
    ("not-a-url", "COPFLOW_DATABASE_URL is not a database URL"),
    ("mysql://u@h/db", "not 'mysql'"),
    ("sqlite://", "names no SQLite file"),
])
def test_a_wrong_database_url_is_one_line(cli: CliRunner, url: str, said: str) -> None:
    done = cli("community", "list", env={"COPFLOW_DATABASE_URL": url})
    assert done.returncode == 2
    assert said in done.stderr and len(_lines(done.stderr)) == 1


def test_postgres_urls_in_the_heroku_style_are_postgresql() -> None:
    from tasks.storage.database_url import checked_url, shown

    assert checked_url("postgres://u:pw@db.example/cop") == "postgresql+psycopg://u:pw@db.example/cop"
    assert checked_url("postgresql://u@db.example/cop") == "postgresql+psycopg://u@db.example/cop"
    assert "pw" not in shown("postgresql://u:pw@db.example/cop")


def test_a_read_only_command_at_a_mistyped_home_makes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    where = tmp_path / "no-such-home"
    done = cli("community", "list", env={"COPFLOW_HOME": str(where), "COPFLOW_DATABASE_URL": ""})
    assert done.returncode == 2
    assert str(where / "copflow.db") in done.stderr
    assert not where.exists()
