"""Masking a database's words before they can reach a log or Prefect's stores (DESIGN 6a)."""

from __future__ import annotations

from models.masking import masked_database_error

PG_DUPLICATE = ('(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint '
                '"person_email_key"\nDETAIL:  Key (email)=(o\'neil+x@bücher.example) already exists.')


def test_a_duplicate_key_keeps_its_constraint_and_loses_its_value() -> None:
    assert masked_database_error(PG_DUPLICATE) == (
        '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint '
        '"person_email_key"\nDETAIL:  Key (email)=(values hidden) already exists.')


def test_a_failing_row_loses_every_value_and_a_number_elsewhere_is_masked() -> None:
    text = ('new row for relation "person" violates check constraint "x"\n'
            'DETAIL:  Failing row contains (7, Priya Raman, 07700 900123).\ncall 07700 900123')
    assert masked_database_error(text) == ('new row for relation "person" violates check constraint "x"\n'
                                           'DETAIL:  Failing row contains (values hidden).\ncall [number]')


def test_sqlite_words_are_left_as_they_are() -> None:
    assert masked_database_error("UNIQUE constraint failed: person.email") == "UNIQUE constraint failed: person.email"
