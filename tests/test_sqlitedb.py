"""Every connection alertd opens on its state file has the same settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alertd.engine.errors import StateStoreError
from alertd.engine.sqlite_store import SQLiteStore
from alertd.notify.outbox import Outbox
from alertd.sqlitedb import connect

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
