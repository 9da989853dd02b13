"""The SQLite store: durable across restarts, caller-owned transactions, clear open errors."""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path

import pytest

from alertd.dsl import compile_text
from alertd.engine.count_layout import CHUNK
from alertd.engine.engine import Engine
from alertd.engine.errors import StateStoreError
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.windows import count_step, count_window, window_matches
from tests.engine.builders import T0, event, make_engine, make_rule, replay

RULES = (
    make_rule("crit", suppress=(300, ("vehicle_id",)), types={"safety_event"}),
    make_rule("many", count=(3, 600, ("vehicle_id",)), types={"harsh"}),
)


def test_windows_survive_a_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    before = make_engine(*RULES, store=store)
    harsh = {"type": "harsh", "vehicle_id": "v1"}
    assert replay(before, [event(0, vehicle_id="v1"), {**event(1), **harsh}]) == [
        "fired",
        "counting",
    ]
    store.close()

    store = SQLiteStore(path)
    after = make_engine(*RULES, store=store)
    # No second page for a key still inside its window; the count goes on from 1.
    assert replay(after, [event(2, vehicle_id="v1"), {**event(3), **harsh}]) == [
        "suppressed",
        "counting",
    ]
    [fired] = after.process({**event(4), **harsh}, T0)
    assert (fired.rule_id, fired.kind) == ("many", "fired")
    assert fired.alert is not None
    assert [e["timestamp"] for e in fired.alert.count_events] == [T0 + 1, T0 + 3, T0 + 4]
    store.close()


def test_windows_keyed_by_lists_and_objects_survive_a_close_and_reopen(tmp_path: Path) -> None:
    rules = (
        make_rule("crit", suppress=(300, ("tags",))),
        make_rule("many", count=(2, 600, ("tags",))),
    )
    tags = ["a", {"b": 1, "c": [2, None]}]
    store = SQLiteStore(tmp_path / "state.db")
    assert replay(make_engine(*rules, store=store), [event(0, tags=tags)]) == ["fired,counting"]
    store.close()
    store = SQLiteStore(tmp_path / "state.db")
    other = ["a", {"b": 2}]
    assert replay(
        make_engine(*rules, store=store), [event(1, tags=tags), event(2, tags=other)]
    ) == [
        "suppressed,fired",
        "fired,counting",
    ]
    store.close()


def test_a_batch_on_a_large_window_writes_what_it_changed(tmp_path: Path) -> None:
    """A window of 5,000 matches that takes 10 more rewrites one row of a bounded size and
    adds at most one chunk of times: not the 5,000 times and events (issue 9)."""
    store = SQLiteStore(tmp_path / "state.db")
    engine = make_engine(make_rule("many", count=(100_000, 3600.0, ("vehicle_id",))), store=store)
    body = {"vehicle_id": "v1", "note": "x" * 200}
    for start in range(0, 5000, 1000):
        engine.process_batch([event(n * 0.5, **body) for n in range(start, start + 1000)], T0)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    written = store.connection.total_changes
    engine.process_batch([event(2500 + n * 0.5, **body) for n in range(10)], T0)
    assert store.connection.total_changes - written <= 3  # the row, a chunk, the version
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert all(len(s) < 30_000 for s in writes), [len(s) for s in writes]
    (row_bytes,) = store.connection.execute(
        "SELECT length(times) + length(events) FROM count_window"
    ).fetchone()
    assert row_bytes < 20 * 300 + CHUNK * 20
    window = store.count_windows("many").get(("v1",))
    assert window is not None and window_matches(window) == 5010
    store.close()


def test_a_suppressed_match_updates_the_count_of_its_row_in_place(tmp_path: Path) -> None:
    """A suppressed match changes one column: from the second on (the first moves the
    expiry), its row is updated, not replaced (deleted and inserted, index and all)."""
    store = SQLiteStore(tmp_path / "state.db")
    engine = make_engine(RULES[0], store=store)
    assert replay(engine, [event(0, vehicle_id="v1"), event(1, vehicle_id="v1")]) == [
        "fired",
        "suppressed",
    ]
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    assert replay(engine, [event(2, vehicle_id="v1"), event(3, vehicle_id="v1")]) == [
        "suppressed",
        "suppressed",
    ]
    writes = [s for s in statements if "suppression" in s and not s.startswith("SELECT")]
    assert [s.split(" WHERE")[0] for s in writes] == [
        "UPDATE suppression SET suppressed = 2",
        "UPDATE suppression SET suppressed = 3",
    ]
    row = "SELECT fired_at, until, suppressed, expires_at FROM suppression"
    assert store.connection.execute(row).fetchall() == [(T0, T0 + 300, 3, T0 + 600)]
    store.close()


def test_a_count_for_a_row_that_is_not_there_is_written_whole(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = make_engine(RULES[0], store=store)
    replay(engine, [event(0, vehicle_id="v1"), event(1, vehicle_id="v1")])
    with store.transaction():
        store.connection.execute("DELETE FROM suppression")  # behind the store's back
        assert replay(engine, [event(2, vehicle_id="v1")]) == ["suppressed"]
    row = "SELECT fired_at, until, suppressed, expires_at FROM suppression"
    assert store.connection.execute(row).fetchall() == [(T0, T0 + 300, 2, T0 + 600)]
    store.close()


def test_a_sweep_takes_a_large_window_with_its_chunk_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = make_engine(make_rule("many", count=(100_000, 600.0, ("vehicle_id",))), store=store)
    engine.process_batch([event(n * 0.1, vehicle_id="v1") for n in range(3 * CHUNK)], T0)
    engine.process_batch([event(1, vehicle_id="v2")], T0)
    assert store.connection.execute("SELECT count(*) FROM count_window_chunk").fetchone()[0] > 0
    with store.transaction():
        assert store.sweep(T0 + 3 * CHUNK * 0.1 + 600, limit=1) == 1  # v2's expires first
        assert store.sweep(T0 + 3 * CHUNK * 0.1 + 600, limit=1) == 1
    assert store.connection.execute("SELECT count(*) FROM count_window_chunk").fetchone() == (0,)
    assert store.count_windows("many").get(("v1",)) is None
    store.close()
    assert SQLiteStore(tmp_path / "state.db").size().count_windows == 0


def test_windows_written_before_their_times_were_numbered_are_read(tmp_path: Path) -> None:
    """A state file of an alertd before issue 9 (every time and event in the row) upgrades."""
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(
        """CREATE TABLE count_window (rule_id TEXT NOT NULL, key TEXT NOT NULL,
        within REAL NOT NULL, times TEXT NOT NULL, events TEXT NOT NULL,
        expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)) WITHOUT ROWID;"""
    )
    old.execute(
        "INSERT INTO count_window VALUES ('many', '[\"v1\"]', 600.0, ?, ?, ?)",
        (f"[{T0}, {T0 + 1}]", '[{"n": 1}, {"n": 2}]', T0 + 601),
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    engine = make_engine(*RULES, store=store)
    assert store.count_windows("many").get(("v1",)) == count_window(
        600.0, [T0, T0 + 1], [{"n": 1}, {"n": 2}]
    )
    [fired] = engine.process({"type": "harsh", "vehicle_id": "v1", "timestamp": T0 + 2}, T0)
    assert fired.alert is not None and len(fired.alert.count_events) == 3
    store.close()


def test_alerts_survive_a_close_and_reopen(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    [decision] = make_engine(make_rule("crit"), store=store).process(event(0), T0)
    store.close()
    reopened = SQLiteStore(tmp_path / "state.db")
    assert decision.alert is not None
    record = reopened.get_alert(decision.alert.id)
    assert record is not None and record.alert == decision.alert
    reopened.close()


def test_the_database_is_in_wal_mode_and_syncs_every_commit_by_default(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    assert store.connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store.connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    store.close()
    relaxed = SQLiteStore(tmp_path / "state.db", synchronous="NORMAL")
    assert relaxed.connection.execute("PRAGMA synchronous").fetchone() == (1,)
    relaxed.close()


def test_nothing_is_visible_to_others_until_the_callers_transaction_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    engine = make_engine(make_rule("crit", suppress=(300, ("vehicle_id",))), store=store)
    reader = sqlite3.connect(path)
    with store.transaction():
        engine.process_batch([event(0, vehicle_id="v1")], T0)
        engine.process(event(1, vehicle_id="v2"), T0)
        assert reader.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    assert reader.execute("SELECT count(*) FROM alerts").fetchone() == (2,)
    assert reader.execute("SELECT count(*) FROM suppression").fetchone() == (2,)
    reader.close()
    store.close()


def test_a_failing_callers_transaction_rolls_back_alerts_and_windows_together(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.connection.execute("CREATE TABLE sent (alert_id TEXT NOT NULL, channel TEXT)")
    engine = make_engine(make_rule("crit", suppress=(300, ("vehicle_id",))), store=store)
    with pytest.raises(RuntimeError, match="provider table full"), store.transaction():
        [decision] = engine.process_batch([event(0, vehicle_id="v1")], T0)
        assert decision.alert is not None
        store.connection.execute("INSERT INTO sent VALUES (?, 'sms')", (decision.alert.id,))
        raise RuntimeError("provider table full")
    assert store.size().alerts == store.size().suppressions == 0
    assert store.connection.execute("SELECT count(*) FROM sent").fetchone() == (0,)
    # The retried batch is judged afresh: it fires, it is not suppressed by the lost attempt.
    assert replay(engine, [event(0, vehicle_id="v1")]) == ["fired"]
    store.close()


def test_a_transaction_the_caller_rolls_back_itself_leaves_no_window_behind(
    tmp_path: Path,
) -> None:
    """Windows the store holds in memory follow a rollback it did not see (a transaction
    begun and rolled back on its connection behind its back)."""
    store = SQLiteStore(tmp_path / "state.db")
    engine = make_engine(make_rule("crit", suppress=(300, ("vehicle_id",))), store=store)
    store.connection.execute("BEGIN IMMEDIATE")
    assert replay(engine, [event(0, vehicle_id="v1")]) == ["fired"]
    store.connection.rollback()
    assert replay(engine, [event(0, vehicle_id="v1")]) == ["fired"]  # not the lost attempt's
    assert replay(engine, [event(1, vehicle_id="v1")]) == ["suppressed"]
    store.close()


def test_two_stores_on_one_file_see_each_others_windows(tmp_path: Path) -> None:
    rule = make_rule("crit", suppress=(300, ("vehicle_id",)))
    first, second = SQLiteStore(tmp_path / "state.db"), SQLiteStore(tmp_path / "state.db")
    one, other = make_engine(rule, store=first), make_engine(rule, store=second)
    assert replay(one, [event(0, vehicle_id="v1")]) == ["fired"]
    assert replay(other, [event(1, vehicle_id="v1")]) == ["suppressed"]
    assert replay(one, [event(2, vehicle_id="v1")]) == ["suppressed"]
    [fired] = other.process(event(300, vehicle_id="v1"), T0)
    assert fired.alert is not None and fired.alert.suppressed_count == 2
    first.close()
    second.close()


def test_a_nested_transaction_that_fails_undoes_only_its_own_writes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    suppressions = store.suppressions("crit")
    with store.transaction():
        suppressions[("kept",)] = (T0, T0 + 300, 0)
        with pytest.raises(KeyError), store.transaction():
            suppressions[("undone",)] = (T0, T0 + 300, 0)
            suppressions[("kept",)] = (T0, T0 + 300, 5)
            raise KeyError("inner")
    assert suppressions.get(("kept",)) == (T0, T0 + 300, 0)
    assert suppressions.get(("undone",)) is None
    store.close()
    reopened = SQLiteStore(tmp_path / "state.db")
    assert reopened.suppressions("crit").get(("kept",)) == (T0, T0 + 300, 0)
    assert reopened.suppressions("crit").get(("undone",)) is None
    reopened.close()


def test_a_bug_in_sql_inside_a_transaction_rolls_it_back_and_is_raised_as_it_is(
    tmp_path: Path,
) -> None:
    """Not a StateStoreError (the state's condition, a 503): retrying cannot mend it."""
    store = SQLiteStore(tmp_path / "state.db")
    bug = pytest.raises(sqlite3.OperationalError, match="no such table: missing")
    with bug, store.transaction():
        store.connection.execute("SELECT * FROM missing")
    assert not store.connection.in_transaction
    store.close()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("these are not the bytes you are looking for\n" * 100)
    with pytest.raises(StateStoreError, match=r"state\.db: cannot open the state database: "):
        SQLiteStore(path)


def test_the_folder_is_created_when_missing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "var" / "alertd.db")
    assert (tmp_path / "var" / "alertd.db").exists()
    store.close()


def filled(path: Path, keys: int = 100) -> SQLiteStore:
    """A store holding a suppression entry and a counting window for each of `keys` keys."""
    store = SQLiteStore(path)
    suppressions, windows = store.suppressions("crit"), store.count_windows("many")
    with store.transaction():
        for n in range(keys):
            suppressions[(f"v{n}",)] = (T0 + n, T0 + n + 300, 0)
            windows[(f"v{n}",)] = count_window(600.0, [T0 + n], [{"n": n}])
    return store


def change_some_windows(store: SQLiteStore) -> None:
    """Set, pop, add and change in place, some of it in an inner block that is released."""
    suppressions, windows = store.suppressions("crit"), store.count_windows("many")
    suppressions[("v1",)] = (T0 + 9, T0 + 309, 4)
    suppressions.pop(("v2",), None)
    suppressions[("new",)] = (T0, T0 + 300, 0)
    window = windows.get(("v3",))
    assert window is not None
    window, _ = count_step(window, T0 + 50, {"n": "late"}, keep=20)  # its times change in place
    windows[("v3",)] = window
    with store.transaction():
        windows.pop(("v4",), None)
        windows[("new",)] = count_window(600.0, [T0], [{"n": "new"}])


def assert_as_before(store: SQLiteStore, before: SQLiteStore) -> None:
    for name in ("suppressions", "count_windows"):
        table, expected = getattr(store, name), getattr(before, name)
        rule = "crit" if name == "suppressions" else "many"
        assert table(rule).entries == expected(rule).entries


def test_a_failed_block_reads_back_only_the_windows_it_changed(tmp_path: Path) -> None:
    store = filled(tmp_path / "state.db")
    untouched = store.suppressions("crit").get(("v50",)), store.count_windows("many").get(("v50",))
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    store.begin()  # the daemon's group of batches
    with pytest.raises(KeyError), store.transaction():  # one batch, which fails
        change_some_windows(store)
        raise KeyError("a bug in one batch")
    store.commit()
    before = SQLiteStore(tmp_path / "state.db")
    assert_as_before(store, before)
    # The windows it did not touch were not read again: the very same objects.
    assert store.suppressions("crit").get(("v50",)) is untouched[0]
    assert store.count_windows("many").get(("v50",)) is untouched[1]
    reads = [s for s in statements if s.startswith("SELECT") and "FROM count_window" in s]
    assert reads and all("key IN" in s for s in reads)
    before.close()
    store.close()


def test_a_rolled_back_transaction_reads_back_only_the_windows_it_changed(
    tmp_path: Path,
) -> None:
    store = filled(tmp_path / "state.db")
    untouched = store.count_windows("many").get(("v50",))
    store.begin()
    change_some_windows(store)
    with store.transaction():  # a batch that succeeded, then its whole group is rolled back
        store.suppressions("crit")[("v5",)] = (T0, T0 + 300, 9)
    store.rollback()
    before = SQLiteStore(tmp_path / "state.db")
    assert_as_before(store, before)
    assert store.count_windows("many").get(("v50",)) is untouched
    assert not store.connection.in_transaction
    before.close()
    store.close()


def test_a_sweep_finds_what_expired_in_memory_and_a_rollback_reads_back_only_that(
    tmp_path: Path,
) -> None:
    store = filled(tmp_path / "state.db")  # v<n> expires at T0 + n + 300 and T0 + n + 600
    untouched = store.suppressions("crit").get(("v50",))
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    store.begin()
    with pytest.raises(KeyError), store.transaction():
        assert store.sweep(T0 + 309) == 10  # v0-v9's suppression entries
        assert store.suppressions("crit").get(("v0",)) is None
        raise KeyError("the sweep's slice fails")
    store.commit()
    before = SQLiteStore(tmp_path / "state.db")
    assert_as_before(store, before)  # v0-v9 back
    assert store.suppressions("crit").get(("v50",)) is untouched  # not read again
    assert not [s for s in statements if "FROM suppression" in s and "WHERE" not in s]
    assert store.sweep(T0 + 309, limit=4) == 4
    assert store.sweep(T0 + 700) == 96 + 100
    assert store.size().suppressions == store.size().count_windows == 0
    before.close()
    store.close()


def test_begin_waits_for_another_writer_then_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StateStoreError, match=r"state\.db: database is locked"):
        store.begin()
    assert not store.connection.in_transaction
    store.rollback()  # nothing to roll back: nothing happens
    other.execute("ROLLBACK")
    store.begin()
    store.suppressions("crit")[("v1",)] = (T0, T0 + 300, 0)
    store.commit()
    assert other.execute("SELECT count(*) FROM suppression").fetchone() == (1,)
    other.close()
    store.close()


def test_no_index_on_expiry_is_written_and_the_sweep_finds_windows_read_at_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)  # a database an alertd before wrote, with its expiry index
    old.execute(
        "CREATE TABLE suppression (rule_id TEXT NOT NULL, key TEXT NOT NULL, fired_at REAL"
        " NOT NULL, until REAL NOT NULL, suppressed INTEGER NOT NULL, expires_at REAL NOT NULL,"
        " PRIMARY KEY (rule_id, key)) WITHOUT ROWID"
    )
    old.execute("CREATE INDEX suppression_expiry ON suppression (expires_at)")
    old.execute(
        """INSERT INTO suppression VALUES ('crit', '["v0"]', ?, ?, 0, ?)""",
        (T0, T0 + 300, T0 + 300),
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    indexes = "SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE '%expiry'"
    assert store.connection.execute(indexes).fetchall() == []
    engine = make_engine(*RULES, store=store)
    # v1 fires, then one match is suppressed: its count changes in place, its expiry moves on.
    assert replay(engine, [event(n, vehicle_id="v1") for n in (10, 20)]) == ["fired", "suppressed"]
    with store.transaction():
        assert store.sweep(T0 + 300) == 1  # v0's, read at open; v1's expires at T0 + 610
        assert store.sweep(T0 + 609) == 0
    store.close()
    store = SQLiteStore(path)
    with store.transaction():
        assert store.sweep(T0 + 610) == 1
    assert store.size().suppressions == 0
    store.close()


FLOOD_RULES = """
rule seen { when type == "ping" suppress 5m by vehicle_id }
rule repeats { when type == "ping" count 3 within 10m by vehicle_id }
rule silent { when type == "ping" absent 5m by vehicle_id }
"""


def test_windows_are_left_out_of_the_collector(tmp_path: Path) -> None:
    """A flood of keys leaves hundreds of thousands of live windows: once collected, each
    kind of window (and its key) is an object the collector no longer tracks, so its full
    collections do not grow with the keys (issue 17)."""
    store = SQLiteStore(tmp_path / "state.db")
    engine = Engine(RuleSet(compile_text(FLOOD_RULES)), store)
    pings = [{"type": "ping", "vehicle_id": f"v{n}", "timestamp": T0 + n} for n in range(3)]
    engine.process_batch(pings, T0 + 3)
    gc.collect()  # untracks a tuple whose items are untracked: its events' tuple first, then
    gc.collect()  # the window holding it, if it was the older of the two
    tables = (store.suppressions("seen"), store.count_windows("repeats"), store.absences("silent"))
    for table in tables:
        assert len(table) == 3
        assert not [entry for entry in table.entries.values() if gc.is_tracked(entry)]
        assert not [key for key in table.entries if gc.is_tracked(key)]
        # nor is what notes when a window expires (alertd.engine.expiry): a tracked tuple
        # per window, each walked by every full collection
        for key in table.entries:
            assert not [held for held in gc.get_referrers(key) if isinstance(held, tuple)]
    store.close()
