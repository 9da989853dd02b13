"""The PostgreSQL server the tests use, and a schema of its own for each test.

Tests find the server through `ALERTD_TEST_POSTGRES_URL` (default the local one CI starts:
trust authentication, user postgres, database `test`). Each test gets a fresh schema (its
tables made by the store's own migrations), dropped afterwards, so tests running in parallel
(pytest-xdist) never see each other's rows. With no server, the tests skip and say how to run
them; under CI (`CI` set, as .ci/run does) they fail instead, so that a CI run without its
database cannot pass unnoticed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from tests.needs import unavailable

POSTGRES_URL = os.environ.get(
    "ALERTD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def server_or_skip() -> None:
    """Return when the test server answers; else skip (fail under CI) saying how to run it."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        unavailable(
            f"no PostgreSQL at {POSTGRES_URL} ({str(error).strip().splitlines()[0]}): start one"
            " (trust authentication, database test) or set ALERTD_TEST_POSTGRES_URL"
        )


def in_schema(url: str, schema: str) -> str:
    """`url` with every session's search_path set to `schema`."""
    options = quote(f"-csearch_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to the test server whose sessions use a new, empty schema of their own."""
    server_or_skip()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield in_schema(POSTGRES_URL, schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
