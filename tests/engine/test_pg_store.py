"""What the PostgreSQL store does beyond the store contract (tests/engine/test_state_stores.py):
two stores on one database, as two daemons have them, each holding a key before it trusts the
key's windows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from alertd.engine.errors import StateStoreError
from alertd.engine.pg_store import PostgresStore
from alertd.engine.state import Timer
from alertd.pgdb import connect
from tests.engine.builders import T0


@pytest.fixture
def two(postgres_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    yield first, second
    first.close()
    second.close()


def test_a_window_is_read_fresh_when_its_key_is_held(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    with a.transaction():
        a.suppressions("crit")[("v1",)] = (T0, T0 + 300, 0)
    with b.transaction():  # b never saw it, and finds it
        assert b.suppressions("crit").get(("v1",)) == (T0, T0 + 300, 0)
        b.suppressions("crit")[("v1",)] = (T0, T0 + 300, 5)
    with a.transaction():  # a's memory had 0 suppressed; the database has b's 5
        assert a.suppressions("crit").get(("v1",)) == (T0, T0 + 300, 5)


def test_held_keys_are_looked_up_in_the_index_however_many_windows_there_are(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    try:
        store.connection.execute(
            "INSERT INTO suppression SELECT 'crit', '[\"v' || n || '\"]', 0, 1, 0, 1"
            " FROM generate_series(1, 20000) AS n"
        )
        store.connection.execute("ANALYZE suppression")
        store.begin()

        def scans() -> int:  # of the table, by this session, not yet reported to the server
            sql = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'suppression'"
            return int(store.connection.execute(sql).fetchone()[0])

        before = scans()
        store.hold_keys([("crit", (f"v{n}",)) for n in range(1, 400, 2)])
        assert store.suppressions("crit").get(("v399",)) == (0, 1, 0)
        assert scans() == before  # not a scan of 20,000 rows for 200 keys
        store.rollback()
    finally:
        store.close()


def test_a_held_key_waits_for_the_other_transaction_to_commit(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    a.begin()
    a.hold_keys([("crit", ("v1",))])
    a.suppressions("crit")[("v1",)] = (T0, T0 + 300, 1)
    seen: list[object] = []

    def other() -> None:
        with b.transaction():  # waits for a's lock, then reads what a committed
            seen.append(b.suppressions("crit").get(("v1",)))

    thread = threading.Thread(target=other)
    thread.start()
    watcher = connect(a.url)
    deadline = time.monotonic() + 10
    while not watcher.execute(  # b waits for the advisory lock a holds
        "SELECT 1 FROM pg_locks WHERE pid = ? AND locktype = 'advisory' AND NOT granted",
        (b.connection.backend_pid,),
    ).fetchone():
        assert time.monotonic() < deadline, "b never waited for a's lock"
        time.sleep(0.01)
    watcher.close()
    assert seen == []
    a.commit()
    thread.join(10)
    assert seen == [(T0, T0 + 300, 1)]


def test_the_sweep_leaves_a_key_another_transaction_holds(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    with a.transaction():
        a.suppressions("crit")[("v1",)] = (T0, T0 + 10, 0)
        a.suppressions("crit")[("v2",)] = (T0, T0 + 10, 0)
    a.begin()
    a.hold_keys([("crit", ("v1",))])  # a is deciding v1's window: not to be swept under it
    with b.transaction():
        assert b.sweep(T0 + 100) == 1  # v2 only
    a.suppressions("crit")[("v1",)] = (T0 + 50, T0 + 350, 0)  # renewed
    a.commit()
    with b.transaction():
        assert b.sweep(T0 + 100) == 0  # v1 was renewed meanwhile: not expired after all
        assert b.suppressions("crit").get(("v1",)) == (T0 + 50, T0 + 350, 0)


def test_a_due_timer_is_taken_by_one_store_at_a_time(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    """Two daemons' timer sweeps at once: the timers one took (locked until it commits,
    having run them) the other passes by; once run and moved, they are not due any more."""
    a, b = two
    for n in range(4):
        a.set_timer(Timer("escalate", f"alert-{n}", T0 + n))
    a.begin()
    taken = a.due_timers(T0 + 10, limit=2)
    assert [t.ref for t in taken] == ["alert-0", "alert-1"]
    with b.transaction():
        assert [t.ref for t in b.due_timers(T0 + 10, limit=10)] == ["alert-2", "alert-3"]
    for timer in taken:  # a runs them: the next step is due later
        a.set_timer(Timer("escalate", timer.ref, T0 + 600))
    a.commit()
    with b.transaction():
        assert [t.ref for t in b.due_timers(T0 + 10, limit=10)] == ["alert-2", "alert-3"]


def test_a_store_whose_session_the_server_dropped_says_so_then_carries_on(
    postgres_url: str,
) -> None:
    """The server restarted, or killed the session: the transaction under way is lost (a 503
    for its batch), and the next one opens a new session by itself."""
    store = PostgresStore(postgres_url)
    with store.transaction():
        store.suppressions("crit")[("v1",)] = (T0, T0 + 300, 0)
    admin = connect(postgres_url)
    admin.execute("SELECT pg_terminate_backend(?)", (store.connection.backend_pid,))
    admin.close()
    with pytest.raises(StateStoreError) as lost, store.transaction():
        store.suppressions("crit")[("v2",)] = (T0, T0 + 300, 0)
    assert lost.value.reason == "unreachable"
    with store.transaction():
        store.suppressions("crit")[("v3",)] = (T0, T0 + 300, 0)
    store.close()
    again = PostgresStore(postgres_url)
    table = again.suppressions("crit")
    assert [table.get((k,)) is not None for k in ("v1", "v2", "v3")] == [True, False, True]
    again.close()
