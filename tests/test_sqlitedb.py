"""Every connection alertd opens on its state file has the same settings; SQLite's errors are
sorted into the state's conditions (a StateStoreError with its reason) and bugs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alertd.engine.errors import StateStoreError
from alertd.engine.sqlite_store import SQLiteStore
from alertd.notify.outbox import Outbox
from alertd.sqlitedb import connect, fail, io_reason, unavailable_reason
from tests.filesystems import fill, small_tmpfs

PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "wal_autocheckpoint", "cache_size")


def settings_of(connection: sqlite3.Connection) -> dict[str, object]:
    return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}


def test_the_store_and_the_outbox_connections_share_one_set_of_settings(tmp_path: Path) -> None:
    path = tmp_path / "var" / "alertd.db"
    store = SQLiteStore(path, busy_timeout=2.5)
    outbox = Outbox(path, busy_timeout=2.5)
    expected = {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "busy_timeout": 2500,
        "wal_autocheckpoint": 10_000,
        "cache_size": -32768,
    }
    assert settings_of(store.connection) == expected
    assert settings_of(outbox.connection) == expected
    # The dispatcher's writes: not synced, each outcome is in the journal before it gets here.
    assert settings_of(outbox._recorder) == {**expected, "synchronous": 1}  # NORMAL
    outbox.close()
    store.close()


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "alertd.db"
    path.write_bytes(b"not a database, but long enough to look like a header\n" * 100)
    with pytest.raises(StateStoreError, match=r"alertd\.db: cannot open the state database"):
        connect(path)


# --- which errors mean "the state cannot be used now", and which are bugs ----------------------


def error_of(connection: sqlite3.Connection, sql: str, *parameters: object) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as raised:
        connection.execute(sql, parameters)
    return raised.value


@pytest.fixture
def database(tmp_path: Path) -> sqlite3.Connection:
    connection = connect(tmp_path / "alertd.db", busy_timeout=0.05)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)")
    return connection


def test_a_database_at_its_size_limit_is_full(database: sqlite3.Connection) -> None:
    (pages,) = database.execute("PRAGMA page_count").fetchone()
    database.execute(f"PRAGMA max_page_count = {pages}")  # as a full disk would refuse
    full = error_of(database, "INSERT INTO t (data) VALUES (?)", b"x" * 100_000)
    assert unavailable_reason(full) == "full"


def test_a_database_opened_read_only_or_made_so_is_read_only(
    database: sqlite3.Connection, tmp_path: Path
) -> None:
    reader = sqlite3.connect(f"file:{tmp_path / 'alertd.db'}?mode=ro", uri=True)
    assert unavailable_reason(error_of(reader, "INSERT INTO t (data) VALUES (1)")) == "read_only"
    database.execute("PRAGMA query_only = 1")
    assert unavailable_reason(error_of(database, "INSERT INTO t VALUES (1, 1)")) == "read_only"


def test_a_lock_held_past_the_busy_timeout_is_busy(
    database: sqlite3.Connection, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "alertd.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    assert unavailable_reason(error_of(database, "BEGIN IMMEDIATE")) == "busy"
    other.execute("ROLLBACK")


def test_a_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "alertd.db"
    path.write_bytes(b"not a database, but long enough to look like a header\n" * 100)
    with pytest.raises(StateStoreError) as raised:
        connect(path)
    assert raised.value.reason == "corrupt"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (sqlite3.SQLITE_FULL, "full"),
        (sqlite3.SQLITE_IOERR_WRITE, "io_error"),  # a write failed (EIO, or EROFS)
        (sqlite3.SQLITE_IOERR_FSYNC, "io_error"),
        (sqlite3.SQLITE_IOERR_SHORT_READ, "io_error"),
        (sqlite3.SQLITE_CANTOPEN, "io_error"),  # the WAL or its shared memory, say
        (sqlite3.SQLITE_NOMEM, "io_error"),
        (sqlite3.SQLITE_READONLY_DBMOVED, "read_only"),
        (sqlite3.SQLITE_PERM, "read_only"),
        (sqlite3.SQLITE_BUSY_SNAPSHOT, "busy"),
        (sqlite3.SQLITE_LOCKED, "busy"),
        (sqlite3.SQLITE_PROTOCOL, "busy"),
        (sqlite3.SQLITE_CORRUPT_INDEX, "corrupt"),
        (sqlite3.SQLITE_NOTADB, "corrupt"),
    ],
)
def test_each_condition_of_the_file_has_its_reason(code: int, reason: str) -> None:
    """Codes SQLite raises for conditions a test cannot bring about without root (a failing
    disk), by the code SQLite gives them; extended codes count as their primary one."""
    error = sqlite3.OperationalError("as SQLite raised it")
    error.sqlite_errorcode = code
    assert unavailable_reason(error) == reason


def test_errors_that_say_alertd_used_the_database_wrongly_are_bugs(
    database: sqlite3.Connection,
) -> None:
    """Retrying cannot mend these: no reason, and `fail` raises each as it is (a 500, with its
    traceback in the log), never as a StateStoreError (a 503 that asks for a retry)."""
    database.execute("INSERT INTO t VALUES (1, 1)")
    bugs = [
        error_of(database, "SELECT * FROM missing"),  # SQLITE_ERROR
        error_of(database, "SELEKT 1"),
        error_of(database, "INSERT INTO t VALUES (1, 2)"),  # SQLITE_CONSTRAINT
        error_of(database, "SELECT ?"),  # a parameter missing: Python's own error, no code
        error_of(database, "COMMIT"),  # no transaction is open
    ]
    database.close()
    bugs.append(error_of(database, "SELECT 1"))  # a closed connection
    for bug in bugs:
        assert unavailable_reason(bug) is None, bug
        with pytest.raises(type(bug)) as raised:
            try:
                raise bug
            except sqlite3.Error as error:
                fail(error, "writing")
        assert raised.value is bug


def test_fail_names_what_failed_and_keeps_the_cause(database: sqlite3.Connection) -> None:
    database.execute("PRAGMA query_only = 1")
    refused = error_of(database, "INSERT INTO t VALUES (1, 1)")
    with pytest.raises(StateStoreError) as raised:
        try:
            raise refused
        except sqlite3.Error as error:
            fail(error, "var/alertd.db: cannot commit")
    assert str(raised.value) == (
        "var/alertd.db: cannot commit: attempt to write a readonly database"
    )
    assert raised.value.reason == "read_only"
    assert raised.value.__cause__ is refused


def test_an_io_error_in_a_folder_that_takes_writes_stays_an_io_error(tmp_path: Path) -> None:
    """SQLite reports a file system turned read-only, or a sync that found the disk full, as
    an I/O error; a write beside the database tells those apart (tests/e2e/test_full_disk.py
    shows both), and leaves nothing behind."""
    assert io_reason(tmp_path) == "io_error"
    assert list(tmp_path.iterdir()) == []
    assert io_reason(tmp_path / "gone") == "io_error"  # ENOENT: neither full nor read-only


def test_a_database_that_cannot_be_opened_on_a_full_disk_says_the_disk_is_full(
    tmp_path: Path,
) -> None:
    """SQLite reports the shared memory file it cannot grow on a full disk as an I/O error: a
    daemon restarted then must say the disk is full (its reason, and in words), not leave the
    operator to guess from 'disk I/O error'."""
    with small_tmpfs(tmp_path / "var") as var:
        SQLiteStore(var / "alertd.db").close()  # a state from before
        fill(var)
        with pytest.raises(StateStoreError) as raised:
            SQLiteStore(var / "alertd.db")
        assert raised.value.reason == "full"
        assert str(raised.value).endswith(": its disk is full")
