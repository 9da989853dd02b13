"""The key states of rules over time (alertd.engine.sequence) on SQLite, as a log.

A rule with prev() or `for` changes its key's state on every event of its scope, matching or
not (the time of the key's newest event moves, on which late events and `forget` depend), so a
batch changes a state for most of its events, each of a different key. Written as rows of a
table, that is a B-tree row replaced per key per batch, ~3 us of SQLite's CPU each (bench/
README.md, "Rules over time"): more than the rest of the event costs. Here a batch's changed
states are one row instead, a JSON list appended to `key_state_log`, and the log is replayed
in order when the store reads its windows. So that it does not grow without end, once it holds
more than `COMPACT` times as many entries as there are live states (and at least
`COMPACT_MIN`), the next batch writes every live state instead (a snapshot, in rows of
`SNAPSHOT_ROWS`) and deletes what came before: a restart reads at most about five entries per
live state, and a snapshot costs about one entry per four logged. Only a store whose file no
other daemon writes keeps its states so (PostgreSQL's are rows, read per key).

A row is a JSON list of `[rule_id, [[key, state], ...]]`, a state `[newest, start, kept,
expires_at]` (alertd.engine.sequence.KeyState; the kept values as a JSON list), or null for a
key forgotten (swept). A key is as the table of key states holds it (alertd.engine.sequence.
state_key): a one-part key's bare value, any other key as a JSON list; a log written before
held every key as a list, which reads as the same key. Rows of `key_state` written before the
log are read first, and deleted by the first snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from alertd import jsonutil

if TYPE_CHECKING:
    from alertd.dialect import Connection

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS key_state_log (seq INTEGER PRIMARY KEY, entries TEXT NOT NULL);"
)

COMPACT = 4
"""The log is compacted when it holds this many entries per live state."""

COMPACT_MIN = 20_000
"""The log is never compacted while it holds fewer entries than this."""

SNAPSHOT_ROWS = 2_000
"""Entries per row of a snapshot: no row of the log is much larger than a batch's."""

Pairs = list[tuple[Any, Any]]
"""`(key, state)` of one rule, the state None for a key forgotten: see above."""

Group = tuple[str, Pairs]
"""A rule id and its pairs."""


class KeyStateLog:
    """The log of one SQLite file's key states: appends, snapshots, reads. Holds no state but
    how many entries the log has, to know when to compact it."""

    def __init__(self) -> None:
        self.size = 0  # entries in the log, as last read or written
        self.compact_next = False  # snapshot at the next write (rules were dropped)

    def append(
        self,
        connection: Connection,
        groups: list[Group],
        live: Callable[[], Iterable[Group]],
        count: int,
    ) -> None:
        """Log a batch's changed states; or, when the log has grown past `COMPACT` times the
        `count` live states (or rules were dropped), write a snapshot of `live()` instead."""
        size = sum(len(pairs) for _, pairs in groups)
        if self.compact_next or self.size + size > max(COMPACT_MIN, COMPACT * count):
            self.snapshot(connection, live())
        elif size:
            self.forget(connection, groups, size)

    def forget(self, connection: Connection, groups: list[Group], size: int) -> None:
        """Log these `size` changes as they are (keys swept, never a snapshot: the states in
        memory still hold them)."""
        connection.execute("INSERT INTO key_state_log (entries) VALUES (?)", (_json(groups),))
        self.size += size

    def snapshot(self, connection: Connection, live: Iterable[Group]) -> None:
        """Every live state, in place of the log and of the rows before it."""
        (last,) = connection.execute("SELECT coalesce(max(seq), 0) FROM key_state_log").fetchone()
        rows, size = [], 0
        for rule_id, pairs in live:
            for first in range(0, len(pairs), SNAPSHOT_ROWS):
                rows.append((_json([(rule_id, pairs[first : first + SNAPSHOT_ROWS])]),))
            size += len(pairs)
        connection.executemany("INSERT INTO key_state_log (entries) VALUES (?)", rows)
        connection.execute("DELETE FROM key_state_log WHERE seq <= ?", (last,))
        connection.execute("DELETE FROM key_state")
        self.size = size
        self.compact_next = False

    def read(self, connection: Connection) -> Iterator[tuple[str, list[list[Any]]]]:
        """Every group of entries, oldest first: (rule id, [[key, state or None], ...]) as
        JSON has them."""
        for (text,) in connection.execute("SELECT entries FROM key_state_log ORDER BY seq"):
            yield from jsonutil.loads(text)


def _json(groups: list[Group]) -> str:
    return jsonutil.dumps(groups, default=str).decode()
