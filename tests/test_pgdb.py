"""alertd.pgdb and alertd.dialect: SQLite's statements in PostgreSQL's dialect, the
notifications daemons sharing a database wake each other with, and a transaction whose session
the server dropped: lost, and saying so whichever statement comes next."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from alertd.dialect import translate
from alertd.engine.errors import StateStoreError
from alertd.engine.pg_store import PostgresStore
from alertd.engine.state import Timer
from alertd.notify.outbox import enqueue
from alertd.pgdb import Listener, PgConnection, connect, notify
from tests.engine.builders import T0
from tests.notify.test_outbox import notification
from tests.postgres import POSTGRES_URL
from tests.tcpproxy import proxied
from tests.waiting import until


def test_upserts_take_the_tables_primary_key() -> None:
    assert translate(
        "INSERT OR REPLACE INTO timers (kind, ref, due, payload) VALUES (?, ?, ?, ?)"
    ) == (
        "INSERT INTO timers (kind, ref, due, payload) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (kind, ref) DO UPDATE SET due = EXCLUDED.due, payload = EXCLUDED.payload"
    )
    assert translate("INSERT OR IGNORE INTO outbox (id) VALUES (?)") == (
        "INSERT INTO outbox (id) VALUES (%s) ON CONFLICT DO NOTHING"
    )


def test_no_limit_is_minus_one_as_in_sqlite_and_json_arrays_are_unnested() -> None:
    assert translate("SELECT seq FROM t WHERE a LIKE '%x' LIMIT ?") == (
        "SELECT seq FROM t WHERE a LIKE '%%x' LIMIT NULLIF(%s, -1)"
    )
    assert translate("DELETE FROM t WHERE rule_id NOT IN (SELECT value FROM json_each(?))") == (
        "DELETE FROM t WHERE rule_id NOT IN"
        " (SELECT value FROM json_array_elements_text(%s::json) AS value)"
    )


async def test_a_listener_hears_what_another_session_notifies(postgres_url: str) -> None:
    heard: list[str] = []
    changed = asyncio.Event()

    def told(payload: str) -> None:
        heard.append(payload)
        changed.set()

    listening = asyncio.create_task(Listener(postgres_url).run(told))
    try:
        await asyncio.wait_for(changed.wait(), 10)
        assert heard == [""]  # listening now: whatever was said before is unheard
        other = connect(postgres_url)
        notify(other, "outbox")
        other.close()
        while len(heard) < 2:
            changed.clear()
            await asyncio.wait_for(changed.wait(), 10)
        assert heard == ["", "outbox"]
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_a_timer_set_is_told_when_its_transaction_commits(postgres_url: str) -> None:
    heard: list[str] = []
    changed = asyncio.Event()

    def told(payload: str) -> None:
        heard.append(payload)
        changed.set()

    store = PostgresStore(postgres_url)
    listening = asyncio.create_task(Listener(postgres_url).run(told))
    try:
        await asyncio.wait_for(changed.wait(), 10)  # listening
        store.begin()
        store.set_timer(Timer("escalate", "a", T0))
        store.rollback()  # nothing set: nothing told
        with store.transaction():
            store.set_timer(Timer("escalate", "b", T0))
            store.set_timer(Timer("escalate", "c", T0))  # one notification per transaction
        changed.clear()
        await asyncio.wait_for(changed.wait(), 10)
        assert heard == ["", "timers"]
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        store.close()


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
        with pytest.raises(StateStoreError, match="the transaction was lost"):  # and the next
            connection.executemany("INSERT INTO t VALUES (?)", [(3,)])
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


@pytest.mark.parametrize("committed", [True, False])
def test_a_commit_whose_answer_was_lost_is_kept_if_the_server_committed_it(
    postgres_url: str, committed: bool
) -> None:
    """The session ends during COMMIT (a server restarting): after it, or before it. The store
    asks the server which, on a new session, and raises only when nothing was kept."""
    store = PostgresStore(postgres_url)
    connection = store.connection
    execute = connection.execute

    def cut_at_commit(sql: str, parameters: Sequence[Any] = ()) -> Any:
        if sql != "COMMIT":
            return execute(sql, parameters)
        if committed:
            execute(sql)
        _drop_session(connection)
        return execute("SELECT 1")  # the session is found gone: StateStoreError

    try:
        store.begin()
        store.connection.execute("INSERT INTO state_probe VALUES (0, 1.0)")
        connection.execute = cut_at_commit  # type: ignore[method-assign]
        if committed:
            store.commit()
        else:
            with pytest.raises(StateStoreError):
                store.commit()
        connection.execute = execute  # type: ignore[method-assign]
        (rows,) = connection.execute("SELECT count(*) FROM state_probe").fetchone()
        assert rows == (1 if committed else 0)
    finally:
        store.close()


def _state(connection: PgConnection) -> str:
    """What the server says the connection's session is doing."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        (state,) = admin.execute(
            "SELECT state FROM pg_stat_activity WHERE pid = %s", (connection.backend_pid,)
        ).fetchone()
    return str(state)


def test_a_transactions_inserts_reach_the_server_with_its_next_statement(
    postgres_url: str,
) -> None:
    connection = connect(postgres_url)
    try:
        connection.execute("CREATE TABLE t (n BIGINT, at DOUBLE PRECISION, what TEXT)")
        connection.execute("BEGIN")
        connection.execute("SAVEPOINT s")
        connection.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, 2, "a"), (2, 2.5, None)])
        connection.execute("RELEASE s")
        assert connection.in_transaction
        assert _state(connection) == "idle"  # nothing sent yet, not even the BEGIN
        assert connection.execute("SELECT n, at, what FROM t ORDER BY n").fetchall() == [
            (1, 2.0, "a"),
            (2, 2.5, None),
        ]
        assert _state(connection) == "idle in transaction"
        connection.executemany("INSERT INTO t VALUES (?, ?, ?)", [(3, 1.0, "c")])
        connection.commit()
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)
        assert connection.total_changes == 3
    finally:
        connection.close()


def test_a_held_insert_that_fails_ends_its_transaction(postgres_url: str) -> None:
    connection = connect(postgres_url)
    try:
        connection.execute("CREATE TABLE t (n BIGINT NOT NULL)")
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO t VALUES (?)", [(1,)])
        connection.execute("SAVEPOINT s")  # held: never made, as the insert before it fails
        connection.executemany("INSERT INTO t VALUES (?)", [(None,)])
        with pytest.raises(psycopg.errors.NotNullViolation):
            connection.execute("SELECT 1")
        # Rolling back to `s` could not work: the whole transaction is gone, and says so.
        assert not connection.in_transaction
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        connection.close()


def test_notifications_of_a_group_are_numbered_once_it_commits(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, node="n1")
    group = [[notification(f"a{b}", n) for n in range(2)] for b in range(3)]
    try:
        store.begin()
        for number, batch in enumerate(group):
            with contextlib.suppress(RuntimeError), store.transaction():
                enqueue(store.connection, batch)
                if number == 1:
                    raise RuntimeError("the batch fails: its rows go")
        assert [n.seq for batch in group for n in batch] == [0] * 6  # not sent yet
        store.commit()
        seqs = [n.seq for n in group[0] + group[2]]
        assert seqs == sorted(seqs) and seqs[-1] - seqs[0] == 3
        assert [n.seq for n in group[1]] == [0, 0]
        rows = store.connection.execute("SELECT id, seq FROM outbox ORDER BY seq").fetchall()
        assert rows == [(n.id, n.seq) for n in group[0] + group[2]]
    finally:
        store.close()


def test_held_rows_keep_every_value_as_the_rows_one_by_one_would(postgres_url: str) -> None:
    connection = connect(postgres_url)
    rows = [
        (1, 2.5, 'a "quoted" \\ text\n\u00e9\u2603', b"\x00\xffbytes"),
        (2.0, float("inf"), None, b""),
        (3, float("-inf"), "", None),
        (4, float("nan"), "%s ? $1", bytearray(b"x")),
    ]
    try:
        connection.execute("CREATE TABLE t (n BIGINT, at DOUBLE PRECISION, what TEXT, b BYTEA)")
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        connection.commit()
        found = connection.execute("SELECT n, at, what, b FROM t ORDER BY n").fetchall()
        assert [row[0] for row in found] == [1, 2, 3, 4]
        assert [row[1] for row in found][:3] == [2.5, float("inf"), float("-inf")]
        assert math.isnan(found[3][1])
        assert [row[2] for row in found] == [row[2] for row in rows]
        assert [row[3] for row in found] == [b"\x00\xffbytes", b"", None, b"x"]
    finally:
        connection.close()


async def test_a_commit_cut_off_while_the_server_still_runs_it_is_kept(postgres_url: str) -> None:
    """The session is cut while the server is in the middle of the COMMIT (here a deferred
    trigger that takes a second): the server finishes it, as it has not tried to answer yet.
    Asked at once, it says the transaction is in progress: the store waits for the end, and
    does not refuse what is about to be committed. (The store talks to the proxy, which runs
    on this event loop, from a thread.)"""
    target = urlsplit(postgres_url)
    async with proxied(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        url = postgres_url.replace(f":{target.port}/", f":{proxy.port}/", 1)
        store = await asyncio.to_thread(PostgresStore, url)

        def begin_and_write() -> int:
            """The transaction begun and written, its COMMIT to come; the session's pid."""
            (pid,) = store.connection.execute("SELECT pg_backend_pid()").fetchone()
            store.connection.executescript(
                "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;"
                " CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON state_probe"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
            )
            store.begin()
            store.hold_keys([("r", ("k",))])  # the transaction's id comes along
            store.connection.execute("INSERT INTO state_probe VALUES (0, 1.0)")
            return int(pid)

        admin = psycopg.connect(postgres_url, autocommit=True)  # straight to the server

        def in_the_trigger(pid: int) -> bool:
            (waiting,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event = 'PgSleep'",
                (pid,),
            ).fetchone() or (0,)
            return bool(waiting)

        try:
            pid = await asyncio.to_thread(begin_and_write)
            committing = asyncio.create_task(asyncio.to_thread(store.commit))
            # The COMMIT is running the trigger, on the server (its pg_sleep: a second).
            await until(lambda: in_the_trigger(pid), "the COMMIT to run the slow trigger")
            proxy.cut()
            await asyncio.sleep(0.05)
            proxy.restore()
            await committing  # no StateStoreError: the server committed it
            count = "SELECT count(*) FROM state_probe"
            (rows,) = (await asyncio.to_thread(store.connection.execute, count)).fetchone()
            assert rows == 1
        finally:
            admin.close()
            await asyncio.to_thread(store.close)
