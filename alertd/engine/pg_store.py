"""The PostgreSQL state store: the SQLite store's logic on a PostgreSQL connection.

`[state] url = "postgresql://..."` selects it. Everything the SQLite store does -- windows held
in memory and written per batch, savepoints per batch, a rollback reading back only what it
touched, alerts, timelines, timers -- is the SQLite store's own code (alertd.engine.sqlite_store);
its statements go to PostgreSQL through alertd.pgdb, which speaks SQLite's dialect. What is
PostgreSQL's own is here: opening and migrating the database (alertd.migrations, under an
advisory lock), and keeping the windows in memory true when several daemons write them.

Several daemons: windows in memory are not trusted. A transaction *holds* a key before it
reads or writes the key's windows: it takes a transaction-scoped advisory lock on the hash of
(rule id, key) and reads the key's windows of every kind fresh from the database. The daemon
holds a group of batches' keys at once before evaluating it (alertd.engine.touched finds them:
matching is pure), in the order of their lock ids, so two nodes never wait for each other in a
cycle; any other key a transaction comes to (a timer's, an ack's) is held when first touched.
Locks end with the transaction, after its commit: the next holder reads what it wrote. So a key
pages once whichever node took its events, a counting window counts every node's matches, and
the 202 still means the batch is durably recorded. Advisory locks work for rows that do not
exist yet, where row locks could not. The sweep takes expired keys that no one holds
(`pg_try_advisory_xact_lock`), checking their expiry again under the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from alertd.engine.errors import StateStoreError
from alertd.engine.sqlite_store import (
    _READERS,
    _WINDOW_TABLES,
    SQLiteStore,
    _chunks_by_key,
    _CountWindows,
    _json,
    _key,
    _place,
    _Table,
)
from alertd.engine.state import Timer
from alertd.migrations import migrate_postgres
from alertd.model import Key
from alertd.pgdb import LOCK_TIMEOUT, PgConnection, connect, notify

V = TypeVar("V")


def lock_id(rule_id: str, key_text: str) -> int:
    """The advisory lock of a rule's key: 64 bits of a hash of both, signed as PostgreSQL's
    bigint is (the same on every node)."""
    digest = hashlib.blake2b(f"{rule_id}\x00{key_text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore(SQLiteStore):
    """Windows and alerts in one PostgreSQL database shared by any number of daemons. Not
    thread-safe: one caller at a time, though not always the same thread (as the SQLite
    store)."""

    connection: PgConnection
    shared = True
    sweeps_in_memory = False  # the windows in memory are only those held: ask the database

    def __init__(
        self, url: str, *, lock_timeout: float = LOCK_TIMEOUT, node: str | None = None
    ) -> None:
        """Connect and bring the database up to date, for the daemon `node` (the notifications
        it enqueues are its claims: alertd.notify.outbox). Raises StateStoreError."""
        connection = connect(url, lock_timeout=lock_timeout, node=node)
        self.url = url
        self.where = connection.name
        self._held: set[tuple[str, Key]] = set()  # keys locked by the open transaction
        self._told_timers = False  # the open transaction notified that it set a timer
        try:
            migrate_postgres(connection)
        except BaseException:
            connection.close()
            raise
        self._start(connection)

    # --- holding keys ------------------------------------------------------------------------

    def hold_keys(self, keys: Collection[tuple[str, Key]]) -> None:
        """Lock these (rule id, key) for the rest of the transaction, in the order of their
        lock ids, and read their windows fresh. Outside a transaction nothing can be locked:
        the windows are read fresh only. Keys with changes not written yet keep them."""
        fresh = [pair for pair in keys if pair not in self._held]
        if not fresh:
            return
        texts = [(rule_id, _json(key)) for rule_id, key in fresh]
        if self.connection.in_transaction:
            ids = sorted({lock_id(rule_id, text) for rule_id, text in texts})
            self.connection.executemany("SELECT pg_advisory_xact_lock(?)", [(i,) for i in ids])
            self._held.update(fresh)
        self._read_fresh(fresh, texts)

    def _read_fresh(self, pairs: list[tuple[str, Key]], texts: list[tuple[str, str]]) -> None:
        """Set the windows of these keys, of every kind, to what the database holds."""
        rules = [rule_id for rule_id, _ in texts]
        keys = [text for _, text in texts]
        which = "(rule_id, key) IN (SELECT r, k FROM unnest(?::text[], ?::text[]) AS t(r, k))"
        tables: list[Mapping[str, _Table[Any]]] = [
            self._suppressions,
            self._key_states,
            self._absences,
            self._open,
        ]
        makers: list[Callable[[str], _Table[Any]]] = [
            self.suppressions,
            self.key_states,
            self.absences,
            self.open_alerts,
        ]
        for kind, by_rule, make in zip(
            ("suppression", "key_state", "absence", "open_alert"), tables, makers, strict=True
        ):
            columns, of = _READERS[kind]
            rows = self.connection.execute(
                f"SELECT rule_id, {columns} FROM {kind} WHERE {which}", (rules, keys)
            ).fetchall()
            for rule_id, key in pairs:
                table = by_rule.get(rule_id)
                if table is not None and key not in table.changed:
                    table.entries.pop(key, None)
            for rule_id, *row in rows:
                key, value = of(row)
                table = make(rule_id)
                if key not in table.changed:
                    table.entries[key] = value
        rows = self.connection.execute(
            "SELECT rule_id, key, within, times, events, first, tail_from FROM count_window"
            f" WHERE {which}",
            (rules, keys),
        ).fetchall()
        chunks = _chunks_by_key(
            self.connection.execute(
                f"SELECT rule_id, key, first, times FROM count_window_chunk WHERE {which}"
                " ORDER BY rule_id, key, first",
                (rules, keys),
            )
        )
        for rule_id, key in pairs:
            windows = self._windows.get(rule_id)
            if windows is not None and key not in windows.changed:
                windows.entries.pop(key, None)
                windows.chunked.pop(key, None)
                windows.orphaned.discard(key)
        for rule_id, *row in rows:
            windows = self.count_windows(rule_id)
            if _key(row[0]) not in windows.changed:
                _place(windows, row, chunks.get((rule_id, row[0]), []))

    def _new_table(self, kind: str, rule_id: str) -> _Table[Any]:
        return _HeldTable(kind, rule_id, self)

    def _new_count_windows(self, rule_id: str) -> _CountWindows:
        return _HeldCountWindows(rule_id, self)

    # --- transactions ------------------------------------------------------------------------

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._held.clear()  # the locks ended with the transaction
            self._told_timers = False

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._held.clear()
            self._told_timers = False

    # --- timers ------------------------------------------------------------------------------

    def set_timer(self, timer: Timer) -> None:
        """Set it, and tell the other daemons once per transaction, when it commits: their
        timer loops, asleep until the timers they knew of, look again."""
        super().set_timer(timer)
        if not self._told_timers:
            notify(self.connection, "timers")
            self._told_timers = self.connection.in_transaction

    def _catch_up(self) -> None:
        """Nothing to catch up with: no window is trusted before its key is held."""

    def _bump_version(self) -> None:
        """No version of the windows: every node would wait for that one row."""

    def _lost_by(self, error: BaseException) -> StateStoreError:
        """The server ended the transaction (the connection dropped): it is lost, and the
        reason is the error's when it gave one."""
        if isinstance(error, StateStoreError):
            return StateStoreError(f"the transaction was lost: {error}", error.reason)
        return StateStoreError(f"the transaction was lost: {error}", "unreachable")

    # --- the sweep ---------------------------------------------------------------------------

    def sweep(self, horizon: float, limit: int | None = None) -> int:
        """Evict expired windows that no other transaction holds (those go in a later sweep),
        each checked again under its lock: another node may have just renewed it."""
        self._write_changes()
        block = self._blocks[-1] if self._blocks else None
        evicted = 0
        every: tuple[Mapping[str, _Table[Any]], ...] = self._window_tables()
        for kind, tables in zip(_WINDOW_TABLES, every, strict=True):
            room = -1 if limit is None else limit - evicted
            if room == 0:
                break
            rows = self.connection.execute(
                f"SELECT rule_id, key FROM {kind} WHERE expires_at <= ? ORDER BY expires_at"
                " LIMIT ?",
                (horizon, room),
            ).fetchall()
            if not rows:
                continue
            free = self.connection.execute(
                "SELECT r, k FROM unnest(?::text[], ?::text[], ?::bigint[]) AS t(r, k, id)"
                " WHERE pg_try_advisory_xact_lock(id)",
                (
                    [rule_id for rule_id, _ in rows],
                    [text for _, text in rows],
                    [lock_id(rule_id, text) for rule_id, text in rows],
                ),
            ).fetchall()
            gone = self.connection.execute(
                f"DELETE FROM {kind} AS w USING unnest(?::text[], ?::text[]) AS t(r, k)"
                " WHERE w.rule_id = t.r AND w.key = t.k AND w.expires_at <= ?"
                " RETURNING w.rule_id, w.key",
                ([rule_id for rule_id, _ in free], [text for _, text in free], horizon),
            ).fetchall()
            if kind == "count_window":  # and the chunk rows of the large ones' times
                self.connection.execute(
                    "DELETE FROM count_window_chunk AS c USING unnest(?::text[], ?::text[])"
                    " AS t(r, k) WHERE c.rule_id = t.r AND c.key = t.k",
                    ([rule_id for rule_id, _ in gone], [text for _, text in gone]),
                )
            for rule_id, text in gone:
                key = _key(text)
                self._held.add((rule_id, key))
                table = tables.get(rule_id)
                if table is not None:
                    table.entries.pop(key, None)
                    if isinstance(table, _CountWindows):
                        table.chunked.pop(key, None)
                    if block is not None:  # a rollback reads it back
                        block.written.setdefault(table, set()).add(key)
            evicted += len(gone)
        return evicted


class _HeldTable(_Table[V]):
    """A rule's windows of one kind whose keys are held before they are used."""

    __slots__ = ("store",)

    def __init__(self, kind: str, rule_id: str, store: PostgresStore) -> None:
        super().__init__(kind, rule_id)
        self.store = store

    def get(self, key: Key, /) -> V | None:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        return self.entries.get(key)

    def __setitem__(self, key: Key, value: V, /) -> None:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        super().__setitem__(key, value)

    def pop(self, key: Key, default: None, /) -> V | None:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        return super().pop(key, default)


class _HeldCountWindows(_CountWindows):
    """A rule's counting windows whose keys are held before they are used."""

    __slots__ = ("store",)

    def __init__(self, rule_id: str, store: PostgresStore) -> None:
        super().__init__(rule_id)
        self.store = store

    def get(self, key: Key, /) -> Any:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        return self.entries.get(key)

    def __setitem__(self, key: Key, value: Any, /) -> None:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        super().__setitem__(key, value)

    def pop(self, key: Key, default: None, /) -> Any:
        if (self.rule_id, key) not in self.store._held:
            self.store.hold_keys(((self.rule_id, key),))
        return super().pop(key, default)
