"""The alert change feed: every change of an alert (fired, acked, ...), in order, durably, read
from a cursor. `GET /v1/alerts/stream` and the console's live pages follow it.

    record(alert_id, change, at)    inside the transaction that makes the change
    committed()                     after that transaction commits: wakes whoever waits
    after(cursor, limit)            the changes past a cursor, oldest first

A change is a row of `alert_changes` with an AUTOINCREMENT `seq`: the cursor. It is written in
the very transaction that changes the alert, so a change is in the feed if and only if it
happened, and a kill -9 loses neither. Cursors only grow and are never used twice (AUTOINCREMENT
never reuses the number of a deleted row), and SQLite has one writer at a time, so rows commit
in the order of their cursors: a reader that has seen cursor N and reads `> N` misses nothing.
(Several daemons on PostgreSQL will need more: there, transactions commit out of sequence
order, and a reader must not pass a number still held by an open transaction.)

Readers are woken in-process, never by polling: `committed()` after a commit that recorded a
change sets the feed's `latest` and wakes every `wait_past` waiting for it. Rows older than the
alerts' retention are pruned with them (`prune`).

The feed is used on one connection (the state store's), by one caller at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alertd.dialect import register
from alertd.sqlitedb import fail

if TYPE_CHECKING:
    from alertd.dialect import Connection, Cursor

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    change TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_changes_by_time ON alert_changes (at);
"""


register(SCHEMA, "SELECT 1")  # PostgreSQL's migrations make the table (alertd.migrations)


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one alert: `change` names it (`fired`, `acked`, and later `resolved`...)."""

    cursor: int
    alert_id: str
    change: str
    at: float  # wall time, epoch seconds


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader stands: `cursor` as given (or the latest, for none) and whether every
    change past it is still kept (False when retention pruned some the reader never saw)."""

    cursor: int
    complete: bool


class ChangeFeed:
    """The feed on the state store's connection."""

    def __init__(self, connection: Connection) -> None:
        """Create the table if needed. Raises as alertd.sqlitedb.fail does, as every method."""
        self._connection = connection
        self._execute(SCHEMA, script=True)
        self.latest = self._stored_latest()  # the newest committed cursor (0: none yet)
        self._recorded = False  # since the last commit or rollback
        self._woken = asyncio.Event()

    def record(self, alert_id: str, change: str, at: float) -> None:
        """Add a change, in the caller's open transaction (it commits or rolls back with it)."""
        self.record_all(((alert_id, change, at),))

    def record_all(self, changes: Sequence[tuple[str, str, float]]) -> None:
        """Add changes `(alert id, change, at)` in order, as `record` does, in one statement
        (on PostgreSQL one round trip for them all, not one each)."""
        if not changes:
            return
        try:
            self._connection.executemany(
                "INSERT INTO alert_changes (alert_id, change, at) VALUES (?, ?, ?)", changes
            )
        except sqlite3.Error as exc:
            fail(exc, "the alert change feed")
        self._recorded = True

    def committed(self) -> None:
        """The caller's transaction committed: wake the waiters if it recorded a change.

        The newest cursor is read back rather than remembered from `record`, because a
        savepoint rolled back inside the transaction may have taken back some rows."""
        if not self._recorded:
            return
        self._recorded = False
        latest = self._stored_latest()
        if latest > self.latest:
            self.latest = latest
            self._woken.set()
            self._woken = asyncio.Event()

    def rolled_back(self) -> None:
        self._recorded = False

    async def wait_past(self, cursor: int) -> None:
        """Return once a change past `cursor` is committed (at once if one already is)."""
        while self.latest <= cursor:
            await self._woken.wait()

    def position(self, cursor: int | None) -> Position:
        """Where a reader asking from `cursor` stands; None is "from now". A cursor past the
        latest (from another database, or one that was reset) starts from now too."""
        if cursor is None or cursor > self.latest:
            return Position(self.latest, complete=cursor is None)
        oldest = self._execute("SELECT min(seq) FROM alert_changes").fetchone()[0]
        first_kept = self.latest + 1 if oldest is None else int(oldest)
        return Position(cursor, complete=cursor >= first_kept - 1)

    def after(self, cursor: int, limit: int) -> list[Change]:
        """The committed changes past `cursor`, oldest first, at most `limit`."""
        rows = self._execute(
            "SELECT seq, alert_id, change, at FROM alert_changes"
            " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (cursor, self.latest, limit),
        ).fetchall()
        return [Change(*row) for row in rows]

    def prune(self, before: float, limit: int = -1) -> int:
        """Delete the changes made before this time, the oldest `limit` of them (-1: all), in
        the caller's transaction."""
        return self._execute(
            "DELETE FROM alert_changes WHERE seq IN"
            " (SELECT seq FROM alert_changes WHERE at < ? ORDER BY at LIMIT ?)",
            (before, limit),
        ).rowcount

    def _stored_latest(self) -> int:
        """The newest cursor ever given out: kept in sqlite_sequence even when its row was
        pruned, so the feed's cursor never goes back."""
        row = self._execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'alert_changes'"
        ).fetchone()
        return 0 if row is None else int(row[0])

    def _execute(
        self, sql: str, parameters: tuple[object, ...] = (), *, script: bool = False
    ) -> Cursor:
        try:
            if script:
                return self._connection.executescript(sql)
            return self._connection.execute(sql, parameters)
        except sqlite3.Error as exc:
            fail(exc, "the alert change feed")
