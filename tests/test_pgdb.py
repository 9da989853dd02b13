"""alertd.pgdb against a real PostgreSQL: a transaction whose session the server dropped is
lost, and says so, whichever statement comes next; the next one after it reconnects."""

from __future__ import annotations

import psycopg
import pytest

from alertd.engine.errors import StateStoreError
from alertd.pgdb import PgConnection, connect
from tests.postgres import POSTGRES_URL


def _drop_session(connection: PgConnection) -> None:
    """The server ends the connection's session, as a restart or a network cut would."""
    (pid,) = connection.execute("SELECT pg_backend_pid()").fetchone()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_commit_after_the_session_dropped_fails_and_keeps_nothing(postgres_url: str) -> None:
    connection = connect(postgres_url)
    try:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.execute("BEGIN")
        connection.execute("INSERT INTO t VALUES (1)")
        _drop_session(connection)
        with pytest.raises(StateStoreError):  # the statement that finds the session gone
            connection.execute("INSERT INTO t VALUES (2)")
        # Its caller goes on to commit (a store whose savepoint swallowed the error, say):
        # on a new session COMMIT would succeed with nothing to commit.
        with pytest.raises(StateStoreError, match="the transaction was lost") as lost:
            connection.commit()
        assert lost.value.reason == "unreachable"
        connection.rollback()
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (0,)  # reconnected
    finally:
        connection.close()


def test_a_session_dropped_between_transactions_is_opened_again(postgres_url: str) -> None:
    connection = connect(postgres_url)
    try:
        connection.execute("CREATE TABLE t (x INTEGER)")
        _drop_session(connection)
        with pytest.raises(StateStoreError):
            connection.execute("SELECT 1")
        connection.execute("BEGIN")
        connection.execute("INSERT INTO t VALUES (1)")
        connection.commit()
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (1,)
    finally:
        connection.close()
