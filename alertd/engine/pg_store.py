"""The PostgreSQL state store: the SQLite store's logic on a PostgreSQL connection.

`[state] url = "postgresql://..."` selects it. Everything the SQLite store does -- windows held
in memory and written per batch, savepoints per batch, a rollback reading back only what it
touched, alerts, timelines, timers -- is the SQLite store's own code (alertd.engine.sqlite_store);
its statements go to PostgreSQL through alertd.pgdb, which speaks SQLite's dialect. What is
PostgreSQL's own is here: opening and migrating the database (alertd.migrations, under an
advisory lock), and how a transaction makes sure the windows in memory are the database's when
several daemons write them.

Several daemons: each transaction that writes starts by taking the row of `window_version` FOR
UPDATE, so transactions that change windows run one at a time across every node; a node whose
windows in memory are older than that row reads them again before it decides anything. A key
thus pages once whichever node took its events, and a counting window counts every node's.
"""

from __future__ import annotations

from alertd.engine.errors import StateStoreError
from alertd.engine.sqlite_store import SQLiteStore
from alertd.migrations import migrate_postgres
from alertd.pgdb import LOCK_TIMEOUT, PgConnection, connect


class PostgresStore(SQLiteStore):
    """Windows and alerts in one PostgreSQL database. Not thread-safe: one caller at a time,
    though not always the same thread (as the SQLite store)."""

    connection: PgConnection

    def __init__(self, url: str, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        """Connect and bring the database up to date. Raises StateStoreError."""
        connection = connect(url, lock_timeout=lock_timeout)
        self.url = url
        self.where = connection.name
        try:
            migrate_postgres(connection)
        except BaseException:
            connection.close()
            raise
        self._start(connection)

    def _catch_up(self) -> None:
        """At the start of a block: lock the windows' version row (the transaction's writes to
        windows wait for every other node's to commit, and theirs for this one's), then read
        the windows again if another node changed them meanwhile."""
        if len(self._blocks) > 0:  # a savepoint: the transaction holds the lock already
            return
        row = self.connection.execute(
            'SELECT version FROM window_version WHERE "only" = 0 FOR UPDATE'
        ).fetchone()
        if int(row[0]) != self._version:
            self._load_windows()

    def _lost_by(self, error: BaseException) -> StateStoreError:
        """The server ended the transaction (the connection dropped): it is lost, and the
        reason is the error's when it gave one."""
        if isinstance(error, StateStoreError):
            return StateStoreError(f"the transaction was lost: {error}", error.reason)
        return StateStoreError(f"the transaction was lost: {error}", "unreachable")
