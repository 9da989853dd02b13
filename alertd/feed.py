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

Several daemons on PostgreSQL: transactions commit out of sequence order (a row numbered 7 may
commit after one numbered 8 was read), so there the feed's order is not the cursor's but that of
(the writing transaction's id, the cursor): each row keeps the id (`xid`) of the transaction
that wrote it, and a reader reads only rows whose transaction is older than the oldest one
still in progress (`pg_snapshot_xmin`): those are final, no row can join them any more, so a
reader that has read up to a row and goes on past it in that order misses nothing and sees
nothing twice. A cursor is still a row's number: its place in the order is its row's. While a
reader waits, the daemon reads the newest final change again every tenth of a second
(`refresh`, alertd.pipeline.FEED_POLL): other daemons' changes, and its own once final.

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
from alertd.engine.errors import StateStoreError
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

_LATEST = "SELECT 0, seq, 0 FROM sqlite_sequence WHERE name = 'alert_changes'"
"""The newest final change (its transaction's id, its cursor) and whether changes are committed
past it that are not final yet. SQLite: the newest cursor ever given out (kept in
sqlite_sequence even when its row was pruned, so the feed's cursor never goes back)."""
register(
    _LATEST,
    "SELECT COALESCE(f.xid, 0), COALESCE(f.seq, 0),"
    " EXISTS (SELECT 1 FROM alert_changes WHERE xid >= x.xmin)"
    " FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) AS x"
    " LEFT JOIN LATERAL (SELECT xid, seq FROM alert_changes WHERE xid < x.xmin"
    " ORDER BY xid DESC, seq DESC LIMIT 1) AS f ON true",
)
_AFTER = (
    "SELECT seq, alert_id, change, at FROM alert_changes"
    " WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
)
register(
    _AFTER,
    "SELECT a.seq, a.alert_id, a.change, a.at FROM alert_changes AS a,"
    " (SELECT %s::bigint AS cur, %s::bigint AS lat) AS c"
    " WHERE (a.xid, a.seq)"
    " > (COALESCE((SELECT xid FROM alert_changes WHERE seq = c.cur), 0), c.cur)"
    " AND (a.xid, a.seq)"
    " <= (COALESCE((SELECT xid FROM alert_changes WHERE seq = c.lat), 0), c.lat)"
    " ORDER BY a.xid, a.seq LIMIT %s",
)
_PLACE = "SELECT 0 FROM alert_changes WHERE seq = ?"
"""The place in the feed's order of the change with this cursor (SQLite: the cursor's own)."""
register(_PLACE, "SELECT xid FROM alert_changes WHERE seq = %s")
_PLACES_KEPT = 1024  # places of cursors remembered for `wait_past`


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
        self.latest = 0  # the newest committed (final) cursor (0: none yet)
        self._latest_place = 0  # its place: its transaction's id (PostgreSQL; else 0)
        self.pending = False  # changes are committed past `latest` that are not final yet
        self._places: dict[int, int] = {}  # cursor: place, of cursors readers asked from
        self.recorded = False  # since the last commit or rollback
        self._woken = asyncio.Event()
        self.refresh()

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
        self.recorded = True

    def committed(self) -> None:
        """The caller's transaction committed: wake the waiters if it recorded a change.

        The newest cursor is read back rather than remembered from `record`, because a
        savepoint rolled back inside the transaction may have taken back some rows."""
        if not self.recorded:
            return
        try:
            self.refresh()
        except StateStoreError:
            # The connection dropped after the COMMIT (a database restart): the changes are
            # recorded all the same, and the batch must be answered so (a 503 would have its
            # sender retry into the windows it wrote). `recorded` stays set: the next commit,
            # or the stream's next poll, reads them.
            return
        self.recorded = False

    def rolled_back(self) -> None:
        self.recorded = False

    def refresh(self) -> bool:
        """Read the newest final change again, waking the waiters if it is newer than the one
        known; return whether changes are committed that are not final yet (then call again
        soon: see the module's docstring)."""
        place, latest, pending = self._execute(_LATEST).fetchone() or (0, 0, 0)
        self.pending = bool(pending)
        if (place, latest) > (self._latest_place, self.latest):
            self.latest, self._latest_place = int(latest), int(place)
            self._woken.set()
            self._woken = asyncio.Event()
        return self.pending

    async def wait_past(self, cursor: int) -> None:
        """Return once a change past `cursor` is committed (at once if one already is)."""
        while (self._latest_place, self.latest) <= (self._places.get(cursor, 0), cursor):
            await self._woken.wait()

    def position(self, cursor: int | None) -> Position:
        """Where a reader asking from `cursor` stands; None is "from now". A cursor past the
        latest (from another database, or one that was reset) starts from now too."""
        if cursor is None:
            return Position(self.latest, complete=True)
        row = self._execute(_PLACE, (cursor,)).fetchone()
        if row is not None:  # the change is kept: its place is known
            if len(self._places) >= _PLACES_KEPT:
                del self._places[next(iter(self._places))]
            self._places[cursor] = int(row[0])
            return Position(cursor, complete=True)
        if cursor > self.latest:
            return Position(self.latest, complete=False)
        oldest = self._execute("SELECT min(seq) FROM alert_changes").fetchone()[0]
        first_kept = self.latest + 1 if oldest is None else int(oldest)
        return Position(cursor, complete=cursor >= first_kept - 1)

    def after(self, cursor: int, limit: int) -> list[Change]:
        """The committed changes past `cursor`, oldest first, at most `limit`."""
        rows = self._execute(_AFTER, (cursor, self.latest, limit)).fetchall()
        return [Change(*row) for row in rows]

    def prune(self, before: float, limit: int = -1) -> int:
        """Delete the changes made before this time, the oldest `limit` of them (-1: all), in
        the caller's transaction."""
        return self._execute(
            "DELETE FROM alert_changes WHERE seq IN"
            " (SELECT seq FROM alert_changes WHERE at < ? ORDER BY at LIMIT ?)",
            (before, limit),
        ).rowcount

    def _execute(
        self, sql: str, parameters: tuple[object, ...] = (), *, script: bool = False
    ) -> Cursor:
        try:
            if script:
                return self._connection.executescript(sql)
            return self._connection.execute(sql, parameters)
        except sqlite3.Error as exc:
            fail(exc, "the alert change feed")
