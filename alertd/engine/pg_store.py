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
import time
from collections.abc import Callable, Collection, Hashable, Mapping
from typing import Any, TypeVar

from alertd.engine.errors import StateStoreError
from alertd.engine.sequence import full_key, state_key
from alertd.engine.sqlite_store import (
    _READERS,
    SQLiteStore,
    _Block,
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


_FRESH = ("suppression", "key_state", "absence", "open_alert", "count_window", "count_window_chunk")
"""The tables of a key's windows, read fresh when the key is held."""
_FRESH_COLUMNS = {
    "count_window": "key, within, times, events, first, tail_from",
    "count_window_chunk": "key, first, times",
}


_READ_HELD = (
    "SELECT rule_id, {columns} FROM jsonb_array_elements(?::jsonb) AS t,"
    " LATERAL (SELECT * FROM {kind} WHERE rule_id = t ->> 0 AND key = t ->> 1 OFFSET 0)"
    " AS w{order}"
)
"""A kind's windows of these keys (a JSON array of [rule id, key]), each looked up in its
primary key: `OFFSET 0` keeps the planner from joining the keys to the table whole, which it
did by a scan of every row once the table held a few thousand (5.8 ms a group at 20,000
windows, growing with them; 1.1 ms so)."""

_LOCK = (
    "SELECT count(pg_advisory_xact_lock(id::bigint)) FROM jsonb_array_elements_text(?::jsonb) AS id"
)
"""Take the advisory locks of these ids (a JSON array), in its order: a function scan yields
them so, the same on every node, and one row comes back, not one per lock."""

OUTCOME_WAIT = 5.0
"""Seconds a daemon whose COMMIT was cut off waits for the server to tell whether it committed
(a restart takes about one); past them the batches are refused (503)."""
OUTCOME_RETRY = 0.2  # seconds between tries meanwhile


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
        self._xid: int | None = None  # the open transaction's id, once known (see `commit`)
        try:
            migrate_postgres(connection)
        except BaseException:
            connection.close()
            raise
        self._start(connection)

    # --- holding keys ------------------------------------------------------------------------

    def hold_keys(self, keys: Collection[tuple[str, Key]]) -> None:
        """Lock these (rule id, key) for the rest of the transaction, in the order of their
        lock ids, and read their windows fresh, in one round trip to the server. Outside a
        transaction nothing can be locked: the windows are read fresh only. Keys with changes
        not written yet keep them."""
        fresh = [pair for pair in keys if pair not in self._held]
        if not fresh:
            return
        texts = [(rule_id, _json(key)) for rule_id, key in fresh]
        statements: list[tuple[str, tuple[Any, ...]]] = []
        locking = self.connection.in_transaction
        if locking:
            # A function scan yields the array in its order: the locks are taken in the order
            # of their ids, the same on every node. The transaction's id comes along (see
            # `commit`): it is about to write.
            ids = _json(sorted({lock_id(rule_id, text) for rule_id, text in texts}))
            statements.append((_LOCK, (ids,)))
            statements.append(("SELECT pg_current_xact_id()::text::bigint", ()))
        pairs = (_json(texts),)  # one JSON text, for every kind: no array bound item by item
        for kind in _FRESH:
            columns = _READERS[kind][0] if kind in _READERS else _FRESH_COLUMNS[kind]
            order = " ORDER BY rule_id, key, first" if kind == "count_window_chunk" else ""
            statements.append((_READ_HELD.format(columns=columns, kind=kind, order=order), pairs))
        found = self.connection.execute_together(statements)
        if locking:
            self._held.update(fresh)
            self._xid = found[1][0][0]
            found = found[2:]
        self._place_fresh(fresh, dict(zip(_FRESH, found, strict=True)))

    def _place_fresh(self, pairs: list[tuple[str, Key]], found: dict[str, list[Any]]) -> None:
        """Set the windows of these keys, of every kind, to the rows read for them."""
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
            of = _READERS[kind][1]
            for rule_id, key in pairs:
                table = by_rule.get(rule_id)
                entry_key = state_key(key) if kind == "key_state" else key
                if table is not None and entry_key not in table.changed:
                    table.entries.pop(entry_key, None)
            for rule_id, *row in found[kind]:
                entry_key, value = of(row)
                table = make(rule_id)
                if entry_key not in table.changed:
                    table.entries[entry_key] = value
        chunks = _chunks_by_key(found["count_window_chunk"])
        for rule_id, key in pairs:
            windows = self._windows.get(rule_id)
            if windows is not None and key not in windows.changed:
                windows.entries.pop(key, None)
                windows.chunked.pop(key, None)
                windows.orphaned.discard(key)
        for rule_id, *row in found["count_window"]:
            windows = self.count_windows(rule_id)
            if _key(row[0]) not in windows.changed:
                _place(windows, row, chunks.get((rule_id, row[0]), []))

    def _new_table(self, kind: str, rule_id: str) -> _Table[Any]:
        return _HeldTable(kind, rule_id, self)

    def _new_count_windows(self, rule_id: str) -> _CountWindows:
        return _HeldCountWindows(rule_id, self)

    # --- transactions ------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit; when the server went away during COMMIT (a restart, a cut), find out
        whether it committed before raising StateStoreError: the session can end after the
        commit is durable and before its answer is sent, and then the transaction's writes
        (alerts, windows, notifications claimed by this daemon) are there, and must not be
        refused (a sender would retry into a window that now suppresses it, and the
        notifications would wait, claimed, for no one)."""
        try:
            if self._lost is None:  # else the transaction is lost: super() says so
                self._write_changes()
            xid = self._xid
            if xid is None and self.connection.in_transaction:
                xid = self.connection.execute(
                    "SELECT pg_current_xact_id_if_assigned()::text::bigint"
                ).fetchone()[0]
            try:
                super().commit()
            except StateStoreError:
                if xid is None or not self._committed(xid):
                    raise
                self.rollback()  # nothing open any more: only the bookkeeping
        finally:
            self._forget()  # the locks ended with the transaction
            self._told_timers = False

    def _committed(self, xid: int) -> bool:
        """Whether the transaction `xid` committed, asked on a new session for up to
        OUTCOME_WAIT seconds while the server is away or the transaction still in progress;
        False when it cannot be told."""
        self.connection.rollback()  # the session is gone: so is the transaction, for it
        deadline = time.monotonic() + OUTCOME_WAIT
        while True:
            try:
                (status,) = self.connection.execute(
                    "SELECT pg_xact_status(?::text::xid8)", (str(xid),)
                ).fetchone()
            except StateStoreError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(OUTCOME_RETRY)
                continue
            if status == "in progress" and time.monotonic() < deadline:
                # The server has not ended it yet: the session that lost its client goes on
                # with what it received, a COMMIT included, until it writes an answer.
                time.sleep(OUTCOME_RETRY)
                continue
            return bool(status == "committed")

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._forget()
            self._told_timers = False

    def _load_windows(self) -> None:
        """Nothing to load: a window is read when its key is held (`hold_keys`)."""
        self._forget()

    def _restore(self, block: _Block | None) -> None:
        """After a rollback (of the transaction or of a savepoint in it): forget the windows,
        to be read again when their keys are held. (A lock taken in a savepoint rolled back
        is released with it: the keys are held again, too.)"""
        self._forget()

    def _forget(self) -> None:
        """Drop every window in memory, and every change not written: no window is kept past
        the transaction that held its key, so memory holds what one transaction touches, and
        a window another node swept or changed meanwhile is never seen stale."""
        self._held.clear()
        self._xid = None
        self._new_alerts.clear()
        for tables in self._all_tables():
            for table in tables.values():
                table.forget()

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

    def _evict(self, kind: str, rows: list[Any], horizon: float) -> list[Any]:
        """Of these expired windows, delete those no other transaction holds (those go in a
        later sweep), each checked again under its lock: another node may have just renewed
        it. They stay held until the transaction ends."""
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
        self._held.update((rule_id, _key(text)) for rule_id, text in gone)
        return gone


class _HeldTable(_Table[V]):
    """A rule's windows of one kind whose keys are held before they are used."""

    __slots__ = ("store",)

    def __init__(self, kind: str, rule_id: str, store: PostgresStore) -> None:
        super().__init__(kind, rule_id)
        self.store = store

    def get(self, key: Hashable, /) -> V | None:
        _hold(self.store, self.rule_id, key)
        return self.entries.get(key)

    def __setitem__(self, key: Hashable, value: V, /) -> None:
        _hold(self.store, self.rule_id, key)
        super().__setitem__(key, value)

    def pop(self, key: Hashable, default: None, /) -> V | None:
        _hold(self.store, self.rule_id, key)
        return super().pop(key, default)


class _HeldCountWindows(_CountWindows):
    """A rule's counting windows whose keys are held before they are used."""

    __slots__ = ("store",)

    def __init__(self, rule_id: str, store: PostgresStore) -> None:
        super().__init__(rule_id)
        self.store = store

    def get(self, key: Hashable, /) -> Any:
        _hold(self.store, self.rule_id, key)
        return self.entries.get(key)

    def __setitem__(self, key: Hashable, value: Any, /) -> None:
        _hold(self.store, self.rule_id, key)
        super().__setitem__(key, value)

    def pop(self, key: Hashable, default: None, /) -> Any:
        _hold(self.store, self.rule_id, key)
        return super().pop(key, default)


def _hold(store: PostgresStore, rule_id: str, key: Hashable) -> None:
    """Hold the rule's key of a table's entry (a key state's may be bare: `full_key`)."""
    held = (rule_id, full_key(key))
    if held not in store._held:
        store.hold_keys((held,))
