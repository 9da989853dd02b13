"""The SQLite state store: the daemon's embedded default, durable across restarts and kill -9.

One database file holds the windows, the alerts with their timelines, the timers and (owned by
alertd.notify) the outbox, so that a batch's window changes, alerts and notifications commit in
one transaction. Every table is brought up to date by alertd.migrations when the store opens
(suppression and counting windows are keyed by key first, then rule: a batch writes the
windows of its events' keys, and a key's windows of every rule share a page). Nothing
commits behind the caller's back: `transaction()` (or `begin()` ... `commit()`, which the
daemon runs in a worker thread) groups writes, and callers that share `connection` group
their own writes the same way. The connection's settings (WAL, synchronous, busy timeout)
are those of alertd.sqlitedb.

The live windows, and the open alert of each key of a rule with `resolve`, are also held in
memory, read when the store opens: the database is their durable copy, not where the engine
looks them up. Changes (windows set or popped, alerts
added) are written together when the transaction block they were made in ends -- one
statement per table for a whole batch. Each block remembers which keys it wrote, so that when
it rolls back, only those windows are read back from the database: a failed batch costs what
it touched, not what the store holds. Every write of windows also counts up a version number
in the database, which each block compares with the version in memory when it begins: if they
differ, another connection wrote windows (or rolled back a transaction it opened on ours),
and every window is read again.

Keys, events and labels are stored as JSON (values JSON cannot hold become strings). A counting
window's times are spread over its row and chunk rows (alertd.engine.count_layout), so that a
batch writes the times it added, not every time a large window holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from alertd import jsonutil
from alertd.dialect import register, translate
from alertd.engine.absence import Absence
from alertd.engine.count_layout import Chunked, assemble, plan
from alertd.engine.errors import StateStoreError
from alertd.engine.expiry import Expiry
from alertd.engine.ids import alert_id_floor
from alertd.engine.key_state_log import SCHEMA as KEY_STATE_LOG
from alertd.engine.key_state_log import Group, KeyStateLog, Pairs
from alertd.engine.sequence import (
    KeyState,
    StateKey,
    full_key,
    hold_kept,
    kept_values,
    state_key,
)
from alertd.engine.state import (
    AlertPage,
    AlertQuery,
    AlertRecord,
    Escalation,
    EscalationStep,
    StoreSize,
    TimelineEntry,
    Timer,
    page_of,
)
from alertd.engine.windows import (
    CountWindow,
    Entries,
    Suppression,
    suppression_expires_at,
    window_expires_at,
)
from alertd.migrations import migrate
from alertd.model import Alert, CountEvents, Key, NotifyTarget
from alertd.sqlitedb import (
    DEFAULT_BUSY_TIMEOUT,
    Synchronous,
    cannot_open,
    connect,
    fail,
    io_reason,
    unavailable_reason,
)

if TYPE_CHECKING:
    from alertd.dialect import Connection

_ALERT_COLUMNS = (
    "id, rule_id, rule_name, priority, key, event, fired_at, received_at, suppressed_count, "
    "labels, count_events, description, notify, template, status, acked_at, acked_by, acked_via, "
    "resolved_at, resolved_by, resolved_via, notifications, escalation, match_count, "
    "last_matched_at, silenced_by, last_event"
)
_INSERT_ALERT = f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES ({', '.join('?' * 27)})"
_SAVE_ALERT = (
    "UPDATE alerts SET status = ?, acked_at = ?, acked_by = ?, acked_via = ?, resolved_at = ?,"
    " resolved_by = ?, resolved_via = ?, notifications = ?, escalation = ?, match_count = ?,"
    " last_matched_at = ?, silenced_by = ?, last_event = ? WHERE id = ?"
)
_FOLD_MATCH = (
    "UPDATE alerts SET match_count = match_count + 1, last_matched_at = ?, last_event = ?"
    " WHERE id = ?"
)
_DUE_TIMERS = "SELECT kind, ref, due, payload FROM timers WHERE due <= ? ORDER BY due LIMIT ?"
# Several daemons (PostgreSQL): the due timers a transaction takes are locked until it commits,
# having run them (and removed or moved them); another daemon's sweep passes them by. A daemon
# that dies mid-sweep loses its transaction, and its locks with it: the timers are due again.
# So a timer runs once, with no lease: its work is done inside the transaction that took it.
register(_DUE_TIMERS, translate(_DUE_TIMERS) + " FOR UPDATE SKIP LOCKED")
_SUPPRESSION_COLUMNS = "key, fired_at, until, suppressed"
_COUNT_WINDOW_COLUMNS = "key, within, times, events, first, tail_from"
_KEY_STATE_COLUMNS = "key, newest, start, kept"
_ABSENCE_COLUMNS = "key, last, alert_id, event"
_WINDOW_TABLES = ("suppression", "count_window", "key_state", "absence")
_OPEN_ALERT_COLUMNS = "key, alert_id"

V = TypeVar("V")


class _Table(Generic[V]):
    """One rule's entries of one kind (`kind` is the SQL table), all in memory; remembers
    which keys changed since they were last written, and what each held then (the row in
    the database), so that a change of one column can be written as one. Keyed by the rule's
    key; a table of key states by its StateKey (alertd.engine.sequence: converted where keys
    are read from or written to the database, `_key_text`, `_entry_key`, `_logged_key`)."""

    __slots__ = ("changed", "entries", "kind", "rule_id")

    def __init__(self, kind: str, rule_id: str) -> None:
        self.kind = kind
        self.rule_id = rule_id
        self.entries: dict[Hashable, V] = Entries()
        # key -> its entry when last written (None: it had none; an entry changed in place,
        # as a counting window is, is its own).
        self.changed: dict[Hashable, V | None] = {}

    def get(self, key: Hashable, /) -> V | None:
        return self.entries.get(key)

    def __setitem__(self, key: Hashable, value: V, /) -> None:
        entries, changed = self.entries, self.changed
        if key not in changed:
            changed[key] = entries.get(key)
        entries[key] = value

    def direct(self) -> tuple[dict[Hashable, V], dict[Hashable, V | None]] | None:
        """The entries and the changes, for a caller that writes as item setting does (a
        key's entry when last written into `changed` before its first change) without a call
        per write (alertd.engine.sequence); None for a kind of table that does more."""
        return (self.entries, self.changed) if self.__class__ is _Table else None

    def pop(self, key: Hashable, default: None, /) -> V | None:
        value = self.entries.pop(key, None)
        if value is not None and key not in self.changed:
            self.changed[key] = value
        return value

    def __len__(self) -> int:
        return len(self.entries)

    def take_changes(self) -> tuple[list[tuple[Hashable, V, V | None]], list[Hashable]]:
        """What to write since the last call: (key, entry, its entry when last written) to
        store, keys to delete."""
        stored, deleted = [], []
        entries = self.entries
        for key, written in self.changed.items():
            value = entries.get(key)
            if value is None:
                deleted.append(key)
            else:
                stored.append((key, value, written))
        self.changed.clear()
        return stored, deleted

    def forget(self) -> None:
        """Drop every entry and change: the table is about to be read again."""
        self.entries.clear()
        self.changed.clear()


class _CountWindows(_Table[CountWindow]):
    """One rule's counting windows, and where the times of the large ones are on disk."""

    __slots__ = ("chunked", "orphaned")

    def __init__(self, rule_id: str) -> None:
        super().__init__("count_window", rule_id)
        self.chunked: dict[Hashable, Chunked] = {}  # windows with times in chunk rows
        self.orphaned: set[Hashable] = set()  # keys whose chunk rows belong to a window now gone

    def pop(self, key: Hashable, default: None, /) -> CountWindow | None:
        value = self.entries.pop(key, None)
        if value is not None:
            if key not in self.changed:
                self.changed[key] = value
            if self.chunked.pop(key, None) is not None:
                self.orphaned.add(key)
        return value

    def forget(self) -> None:
        super().forget()
        self.chunked.clear()
        self.orphaned.clear()


@dataclass(slots=True)
class _Block:
    """An open transaction block (the transaction, or a savepoint in it): what a rollback of
    it must bring back in memory."""

    savepoint: str | None  # None: the transaction itself
    version: int  # of the windows when it began
    written: dict[_Table[Any], set[Hashable]] = field(default_factory=dict)  # keys it wrote
    everything: bool = False  # it dropped rules: read every window back

    def wrote(self, table: _Table[Any]) -> None:
        self.written.setdefault(table, set()).update(table.changed)

    def absorb(self, inner: _Block) -> None:
        """A savepoint in this block was released: its writes are now this block's."""
        for table, keys in inner.written.items():
            self.written.setdefault(table, set()).update(keys)
        self.everything |= inner.everything


class SQLiteStore:
    """Windows and alerts in one SQLite file. Not thread-safe: one caller at a time, though
    not always the same thread (the daemon runs `begin` and `commit` in a worker thread)."""

    shared = False
    """Whether other daemons write the same windows (then the caller holds a batch's keys
    first: `hold_keys`)."""

    sweeps_in_memory = True
    """Whether the sweep finds what expired among the windows in memory (alertd.engine.expiry):
    they are all of them when no other daemon writes the same windows."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        """Open (creating if needed) the database; see alertd.sqlitedb for the settings."""
        self.path = Path(path)
        self.where = str(path)  # what messages call the database
        connection = connect(path, synchronous=synchronous, busy_timeout=busy_timeout)
        try:
            connection.executescript(KEY_STATE_LOG)  # the log's own (key_state_log)
            migrate(connection, path)
        except sqlite3.Error as exc:
            connection.close()
            raise cannot_open(path, exc) from exc
        except StateStoreError:
            connection.close()
            raise
        self._start(connection)

    def _start(self, connection: Connection) -> None:
        """Begin on a database brought up to date: read the windows."""
        self.connection: Connection = connection
        self._blocks: list[_Block] = []  # the open transaction and its savepoints, outermost first
        # Why SQLite ended the open transaction itself (a full disk, an I/O error in a
        # savepoint): every later block fails with it until the transaction is committed
        # (which raises it) or rolled back, so that nothing commits on its own meanwhile.
        self._lost: StateStoreError | None = None
        self._suppressions: dict[str, _Table[Suppression]] = {}
        self._windows: dict[str, _CountWindows] = {}
        self._key_states: dict[str, _Table[KeyState]] = {}
        self._absences: dict[str, _Table[Absence]] = {}
        self._open: dict[str, _Table[str]] = {}
        # Written with the windows; a new alert as it is, until something happens to it (an
        # AlertRecord costs ten times the Alert).
        self._new_alerts: dict[str, AlertRecord | Alert] = {}
        self._version = -1  # of the windows in memory: none yet
        # When each window expires, for the sweep (None: the sweep asks the database).
        self._expiry: Expiry[_Table[Any]] | None = None
        if self.sweeps_in_memory:
            # A key state's and an absence's expiry move on every event of the key: noted once.
            self._expiry = Expiry(_EXPIRES, moved=_MOVED)
        # Key states as a log (alertd.engine.key_state_log) where no other daemon reads them.
        self._log: KeyStateLog | None = None if self.shared else KeyStateLog()
        self._load_windows()

    # --- transactions ------------------------------------------------------------------------

    def begin(self) -> None:
        """Open a write transaction: every block and write until `commit` or `rollback` is part
        of it. Waits up to the busy timeout for another connection's write to end.

        Blocking (the daemon runs it in a worker thread). Raises StateStoreError, and then
        nothing is open.
        """
        self._write_changes()  # anything made outside a transaction is written on its own
        self._execute("BEGIN IMMEDIATE")
        try:
            self._catch_up()
        except BaseException:
            self.rollback()
            raise
        self._blocks.append(_Block(None, self._version))

    def commit(self) -> None:
        """Write what the transaction changed and commit it: the disk sync.

        Blocking (the daemon runs it in a worker thread). When it fails, the transaction is
        rolled back and StateStoreError raised.
        """
        if self._lost is not None:
            lost = self._lost
            self.rollback()
            raise StateStoreError(f"{self.where}: cannot commit: {lost}", lost.reason) from lost
        try:
            self._write_changes()
            self.connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self.rollback()
            fail(exc, f"{self.path}: cannot commit", self.path)
        self._blocks.clear()

    def rollback(self) -> None:
        """Undo the open transaction, if there is one.

        The windows in memory return to what the database holds: those the transaction
        changed are read back, the others are not touched, so a rollback costs what the
        transaction did, not what the store holds.
        """
        self._lost = None
        if not self._blocks and not self.connection.in_transaction:
            return
        blocks, self._blocks = self._blocks, []
        outer = blocks[0] if blocks else None  # none: a transaction opened behind our back
        for inner in blocks[1:]:
            outer.absorb(inner)  # type: ignore[union-attr]
        self.connection.rollback()
        self._restore(outer)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together, or roll back if the block raises.

        Inside an open transaction (ours or the caller's) this is a savepoint: an inner block
        that raises undoes only its own writes, and the outer transaction decides the commit.
        SQLite's errors come out as StateStoreError when they say the database cannot be used
        now (alertd.sqlitedb.fail), as they are when they are bugs.
        """
        if self._blocks or self.connection.in_transaction:
            with self._savepoint():
                yield
            return
        self.begin()
        try:
            yield
        except sqlite3.Error as exc:
            self.rollback()
            fail(exc, str(self.path), self.path)
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        if self._lost is not None:
            raise StateStoreError(f"{self.where}: {self._lost}", self._lost.reason)
        self._write_changes()  # whatever came before belongs to the enclosing block
        name = f"alertd_{len(self._blocks)}"
        self._execute(f"SAVEPOINT {name}")
        block = _Block(name, self._version)
        self._blocks.append(block)
        try:
            self._catch_up()
            block.version = self._version
            yield
            self._write_changes()
        except BaseException as error:
            self._blocks.pop()
            if self.connection.in_transaction:
                self._execute(f"ROLLBACK TO {name}")
                self._execute(f"RELEASE {name}")
                self._restore(block)
            elif self._blocks:  # SQLite rolled our whole transaction back: see `_lost`
                self._blocks[-1].absorb(block)  # read back when the transaction ends
                self._lost = self._lost_by(error)
            else:  # the caller's transaction, rolled back: the caller hears of it from SQLite
                self._restore(block)
            if isinstance(error, sqlite3.Error):
                fail(error, str(self.path), self.path)
            raise
        self._blocks.pop()
        self._execute(f"RELEASE {name}")
        if self._blocks:
            self._blocks[-1].absorb(block)

    # --- windows -----------------------------------------------------------------------------

    def suppressions(self, rule_id: str) -> _Table[Suppression]:
        table = self._suppressions.get(rule_id)
        if table is None:
            table = self._suppressions[rule_id] = self._new_table("suppression", rule_id)
        return table

    def count_windows(self, rule_id: str) -> _CountWindows:
        table = self._windows.get(rule_id)
        if table is None:
            table = self._windows[rule_id] = self._new_count_windows(rule_id)
        return table

    def key_states(self, rule_id: str) -> _Table[KeyState]:
        table = self._key_states.get(rule_id)
        if table is None:
            table = self._key_states[rule_id] = self._new_table("key_state", rule_id)
        return table

    def absences(self, rule_id: str) -> _Table[Absence]:
        table = self._absences.get(rule_id)
        if table is None:
            table = self._absences[rule_id] = self._new_table("absence", rule_id)
        return table

    def open_alerts(self, rule_id: str) -> _Table[str]:
        table = self._open.get(rule_id)
        if table is None:
            table = self._open[rule_id] = self._new_table("open_alert", rule_id)
        return table

    def _new_table(self, kind: str, rule_id: str) -> _Table[Any]:
        return _Table(kind, rule_id)

    def _new_count_windows(self, rule_id: str) -> _CountWindows:
        return _CountWindows(rule_id)

    def hold_keys(self, keys: Collection[tuple[str, Key]]) -> None:
        """Make sure the windows of these (rule id, key) are the database's for the rest of
        the transaction. Nothing to do here: one daemon per file, so the windows in memory are
        the database's (alertd.engine.pg_store does more)."""

    def sweep(self, horizon: float, limit: int | None = None) -> int:
        """Found among the windows in memory by when they expire (alertd.engine.expiry), or
        where those are not all of them (PostgreSQL), through the tables' index on expiry: a
        sweep costs what it evicts, not what is live, and a rollback reads back only what it
        evicted."""
        self._write_changes()  # every window in memory is on disk, with its expiry
        block = self._blocks[-1] if self._blocks else None
        evicted = 0
        every: tuple[Mapping[str, _Table[Any]], ...] = self._window_tables()
        due = self._due(horizon, limit)
        for kind, tables in zip(_WINDOW_TABLES, every, strict=True):
            room = -1 if limit is None else limit - evicted  # -1: no limit, to SQLite
            if room == 0:
                break
            if due is not None:
                rows = due[kind]
            else:
                rows = self.connection.execute(
                    f"SELECT rule_id, key FROM {kind} WHERE expires_at <= ? ORDER BY expires_at"
                    " LIMIT ?",
                    (horizon, room),
                ).fetchall()
            if not rows:
                continue
            gone = self._evict(kind, rows, horizon)
            for rule_id, text in gone:
                table = tables.get(rule_id)
                if table is not None:
                    key = _entry_key(kind, text)
                    table.entries.pop(key, None)
                    if isinstance(table, _CountWindows):
                        table.chunked.pop(key, None)
                    if block is not None:  # a rollback reads it back
                        block.written.setdefault(table, set()).add(key)
            evicted += len(gone)
        if evicted:
            self._bump_version()
        return evicted

    def _due(self, horizon: float, limit: int | None) -> dict[str, list[Any]] | None:
        """The windows in memory that expire at or before `horizon`, oldest first, at most
        `limit`: `(rule id, key as JSON)` by kind; None when the sweep asks the database."""
        if self._expiry is None:
            return None
        every: tuple[Mapping[str, _Table[Any]], ...] = self._window_tables()
        by_kind = dict(zip(_WINDOW_TABLES, every, strict=True))

        def current(table: _Table[Any]) -> bool:
            return by_kind[table.kind].get(table.rule_id) is table

        due: dict[str, list[Any]] = {kind: [] for kind in _WINDOW_TABLES}
        for table, key in self._expiry.take(horizon, limit, current):
            due[table.kind].append((table.rule_id, _key_text(key)))
        return due

    def _evict(self, kind: str, rows: list[Any], horizon: float) -> list[Any]:
        """Delete these expired windows of a kind, `(rule id, key as JSON)`; return those
        deleted (here all: one daemon per file)."""
        if kind == "key_state" and self._log is not None:
            groups: dict[str, Pairs] = {}
            for rule_id, key in rows:
                groups.setdefault(rule_id, []).append((_loads(key), None))
            self._log.forget(self.connection, list(groups.items()), len(rows))
            return rows
        self.connection.executemany(f"DELETE FROM {kind} WHERE rule_id = ? AND key = ?", rows)
        if kind == "count_window":  # and the chunk rows of the large ones' times
            self.connection.executemany(
                "DELETE FROM count_window_chunk WHERE rule_id = ? AND key = ?", rows
            )
        return rows

    def _bump_version(self) -> None:
        """Windows were written: say so to every other connection (see `_catch_up`)."""
        self.connection.execute("UPDATE window_version SET version = version + 1")
        self._version += 1

    def retain_rules(self, rule_ids: Collection[str]) -> None:
        self._write_changes()
        keep = _json(sorted(rule_ids))
        for table in (*_WINDOW_TABLES, "count_window_chunk", "open_alert"):
            self.connection.execute(
                f"DELETE FROM {table} WHERE rule_id NOT IN (SELECT value FROM json_each(?))",
                (keep,),
            )
        if self._blocks:
            self._blocks[-1].everything = True
        if self._log is not None:  # a snapshot without the rules dropped, at the next write
            self._log.compact_next = True
        for tables in self._all_tables():
            for rule_id in [rule_id for rule_id in tables if rule_id not in rule_ids]:
                del tables[rule_id]

    # --- alerts ------------------------------------------------------------------------------

    def add_alert(self, alert: Alert) -> None:
        self._new_alerts[alert.id] = alert

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        self._write_changes()
        row = self.connection.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?",
            (alert_id,),
        ).fetchone()
        return None if row is None else _alert_record(row)

    def list_alerts(self, query: AlertQuery) -> AlertPage:
        self._write_changes()
        where: list[str] = []
        params: list[Any] = []
        if query.cursor is not None:
            where.append("id < ?")
            params.append(query.cursor)
        if query.since is not None:
            where.append("id >= ?")
            params.append(alert_id_floor(query.since))
        if query.rule is not None:
            where.append("rule_id = ?")
            params.append(query.rule)
        if query.priority is not None:
            where.append("priority = ?")
            params.append(query.priority)
        if query.status is not None:
            where.append("status = ?")
            params.append(query.status)
        for path, value in query.fields:
            where.append(_FIELD_TEXT + " = ?")
            json_path = _json_path(path)
            params.extend((json_path, json_path, value))
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(query.limit + 1)
        rows = self.connection.execute(sql, params).fetchall()
        return page_of([_alert_record(row) for row in rows], query.limit)

    def save_alert(self, record: AlertRecord) -> None:
        alert_id = record.alert.id
        if alert_id in self._new_alerts:  # not written yet: it will be, as it is now
            self._new_alerts[alert_id] = record
            return
        self.connection.execute(_SAVE_ALERT, (*_alert_changes(record), alert_id))

    def fold_match(self, alert_id: str, event: Mapping[str, Any], at: float) -> bool:
        new = self._new_alerts.get(alert_id)
        if new is not None:  # not written yet: it will be, as it is now
            new = new if isinstance(new, AlertRecord) else AlertRecord(new)
            self._new_alerts[alert_id] = replace(
                new, match_count=new.match_count + 1, last_matched_at=at, last_event=event
            )
            return True
        cursor = self.connection.execute(_FOLD_MATCH, (at, _json(event), alert_id))
        return cursor.rowcount > 0

    def add_timeline(self, alert_id: str, entry: TimelineEntry) -> None:
        self.connection.execute(
            "INSERT INTO timeline (alert_id, at, action, by, via, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (alert_id, entry.at, entry.action, entry.by, entry.via, _json(entry.detail)),
        )

    def timeline(self, alert_id: str) -> list[TimelineEntry]:
        rows = self.connection.execute(
            "SELECT at, action, by, via, detail FROM timeline WHERE alert_id = ? ORDER BY seq",
            (alert_id,),
        )
        return [
            TimelineEntry(at, action, by, via, jsonutil.loads(detail))
            for at, action, by, via, detail in rows
        ]

    def prune_alerts(self, received_before: float, limit: int | None = None) -> int:
        self._write_changes()
        before, bound = "<", alert_id_floor(received_before)
        if limit is not None and limit <= 0:
            return 0
        if limit is not None:  # ids are in time order: up to the limit-th oldest, if that many
            row = self.connection.execute(
                "SELECT id FROM alerts WHERE id < ? ORDER BY id LIMIT 1 OFFSET ?",
                (bound, max(0, limit - 1)),
            ).fetchone()
            if row is not None:
                before, bound = "<=", row[0]
        self.connection.execute(f"DELETE FROM timeline WHERE alert_id {before} ?", (bound,))
        return self.connection.execute(f"DELETE FROM alerts WHERE id {before} ?", (bound,)).rowcount

    # --- timers ------------------------------------------------------------------------------

    def set_timer(self, timer: Timer) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO timers (kind, ref, due, payload) VALUES (?, ?, ?, ?)",
            (timer.kind, timer.ref, timer.due, _json(timer.payload)),
        )

    def cancel_timer(self, kind: str, ref: str) -> None:
        self.connection.execute("DELETE FROM timers WHERE kind = ? AND ref = ?", (kind, ref))

    def get_timer(self, kind: str, ref: str) -> Timer | None:
        row = self.connection.execute(
            "SELECT kind, ref, due, payload FROM timers WHERE kind = ? AND ref = ?", (kind, ref)
        ).fetchone()
        return None if row is None else _timer(row)

    def due_timers(self, now: float, limit: int) -> list[Timer]:
        rows = self.connection.execute(_DUE_TIMERS, (now, limit))
        return [_timer(row) for row in rows]

    def next_timer_due(self) -> float | None:
        (due,) = self.connection.execute("SELECT min(due) FROM timers").fetchone()
        return None if due is None else float(due)

    def steady_ahead(self) -> float:
        row = self.connection.execute("SELECT ahead FROM steady_clock").fetchone()
        return 0.0 if row is None else float(row[0])

    def set_steady_ahead(self, ahead: float) -> None:
        self.connection.execute("INSERT OR REPLACE INTO steady_clock VALUES (0, ?)", (ahead,))

    def size(self) -> StoreSize:
        self._write_changes()

        def rows(table: str) -> int:
            sql = f"SELECT count(*) FROM {table}"
            count: int = self.connection.execute(sql).fetchone()[0]
            return count

        key_states = rows("key_state")
        if self._log is not None:  # every one is in memory, as the log holds it
            key_states = sum(len(states) for states in self._key_states.values())
        return StoreSize(
            rows("suppression"),
            rows("count_window"),
            rows("alerts"),
            key_states,
            rows("absence"),
        )

    def close(self) -> None:
        self._write_changes()
        self.connection.close()

    # --- memory and disk ---------------------------------------------------------------------

    def _write_changes(self) -> None:
        """Write the windows set or popped and the alerts added since the last call."""
        if any(table.changed for tables in self._all_tables() for table in tables.values()):
            self._bump_version()
        for suppressions in self._suppressions.values():
            self._write_table(suppressions, _suppression_row, _suppressed_only)
        for windows in self._windows.values():
            if windows.changed:
                if self._blocks:
                    self._blocks[-1].wrote(windows)
                self._write_count_windows(windows)
        for opens in self._open.values():
            self._write_table(opens, _open_alert_row)
        if self._log is None:
            for states in self._key_states.values():
                self._write_table(states, _key_state_row)
        else:
            self._log_key_states()
        for absences in self._absences.values():
            self._write_table(absences, _absence_row)
        if self._new_alerts:
            records, self._new_alerts = self._new_alerts, {}
            self.connection.executemany(
                _INSERT_ALERT, [_alert_row(record) for record in records.values()]
            )

    def _write_table(
        self,
        table: _Table[V],
        row: Callable[[V], tuple[object, ...]],
        in_place: _InPlace[V] | None = None,
    ) -> None:
        """Write what changed in one rule's table of one kind: a row for each entry set (its
        rule id, its key, then `row(entry)`: the SQL table's columns in order), a delete for
        each key popped; with `in_place`, an entry that differs from its row by that one
        column as an UPDATE of it (a row replaced is deleted and inserted again: on
        PostgreSQL, in its expiry index too). A row written whole has its expiry noted for
        the sweep (alertd.engine.expiry). The open block remembers the keys, to read them
        back if it rolls back."""
        if not table.changed:
            return
        if self._blocks:
            self._blocks[-1].wrote(table)
        stored, deleted = table.take_changes()
        rule_id, kind = table.rule_id, table.kind
        rows, updated, updates = [], [], []
        expiry, expires = self._expiry, _EXPIRES.get(kind)
        note = None if expiry is None or expires is None else expiry.note
        moved = kind in _MOVED  # noted once, when made: the entry's first note follows it
        for key, entry, written in stored:
            value = None if in_place is None or written is None else in_place.value(written, entry)
            if value is None:
                rows.append((rule_id, _key_text(key), *row(entry)))
                if note is not None and (written is None or not moved):
                    note(table, key, expires(entry))  # type: ignore[misc]  # it may have moved
            else:
                key_text = _key_text(key)
                updates.append((value, rule_id, key_text))
                updated.append((rule_id, key_text, *row(entry)))
        execute_many = self.connection.executemany
        if updates:
            assert in_place is not None
            done = execute_many(
                f"UPDATE {kind} SET {in_place.column} = ? WHERE rule_id = ? AND key = ?", updates
            ).rowcount
            if done != len(updates):  # a row was not there after all: write them whole
                rows += updated
        if rows:
            execute_many(
                f"INSERT OR REPLACE INTO {kind} VALUES ({', '.join('?' * len(rows[0]))})", rows
            )
        _delete(self.connection, kind, rule_id, deleted)

    def _log_key_states(self) -> None:
        """Write the key states changed since the last call as one row of the log (or a
        snapshot: alertd.engine.key_state_log); note the expiry of new ones for the sweep (a
        key state's note follows it: `Expiry`'s `moved`)."""
        log = self._log
        assert log is not None
        groups: list[Group] = []
        note = None if self._expiry is None else self._expiry.note
        for table in self._key_states.values():
            changed = table.changed
            if not changed:
                continue
            if self._blocks:
                self._blocks[-1].wrote(table)
            get = table.entries.get
            pairs = [  # `_logged`'s test inline: most states need no call (one per event)
                (key, state if state is None or state[2].__class__ is not list else _logged(state))
                for key in changed
                for state in (get(key),)
            ]
            if note is not None:  # a new entry (none when last written); others are noted
                for (key, state), written in zip(pairs, changed.values(), strict=True):
                    if written is None and state is not None:
                        note(table, key, state[3])
            changed.clear()
            groups.append((table.rule_id, pairs))
        if groups or log.compact_next:
            count = sum(len(states) for states in self._key_states.values())
            log.append(self.connection, groups, self._key_state_groups, count)

    def _key_state_groups(self) -> Iterator[Group]:
        """Every key state in memory, by rule, as the log has them."""
        for rule_id, table in self._key_states.items():
            yield rule_id, [(key, _logged(state)) for key, state in table.entries.items()]

    def _replay(
        self,
        groups: Iterable[tuple[str, list[list[Any]]]],
        only: Mapping[str, Collection[Hashable]] | None,
    ) -> int:
        """Apply groups of the log, oldest first, to the key states in memory (with `only`, to
        these keys of these rules alone); return how many entries there were."""
        read = 0
        for rule_id, pairs in groups:
            read += len(pairs)
            wanted = None if only is None else only.get(rule_id)
            if only is not None and not wanted:
                continue
            entries = self.key_states(rule_id).entries
            for logged, state in pairs:
                key = _logged_key(logged)
                if wanted is not None and key not in wanted:
                    continue
                if state is None:  # forgotten
                    entries.pop(key, None)
                else:
                    newest, start, kept, expires_at = state
                    if kept.__class__ is list:  # the kept values (see `_logged`)
                        kept = hold_kept(tuple(kept))
                    entries[key] = (newest, start, kept, expires_at)
        return read

    def _write_count_windows(self, windows: _CountWindows) -> None:
        """Write a rule's changed counting windows: each one's row, and of its times in chunk
        rows (count_layout) only those that changed."""
        rule_id, chunked = windows.rule_id, windows.chunked
        orphaned = [(rule_id, _json(key)) for key in windows.orphaned]
        windows.orphaned.clear()
        kept, gone = windows.take_changes()
        rows, chunks, cuts = [], [], []
        note = None if self._expiry is None else self._expiry.note
        entries = windows.entries
        for key, window, _ in kept:
            key_text = _json(key)
            layout, where, entries[key] = plan(window, chunked.get(key))
            if note is not None:
                note(windows, key, window_expires_at(window))
            if where is None:
                chunked.pop(key, None)
            else:
                chunked[key] = where
            if layout.clear:
                orphaned.append((rule_id, key_text))
            elif layout.cut is not None:
                cuts.append((rule_id, key_text, layout.cut))
            chunks += [(rule_id, key_text, first, _json(times)) for first, times in layout.chunks]
            rows.append(
                (
                    rule_id,
                    key_text,
                    window[0],  # within
                    _json(layout.tail),
                    f"[{','.join(window[5])}]",  # its events' JSON texts
                    window_expires_at(window),
                    window[3],  # dropped: the number of its oldest match
                    layout.tail_from,
                )
            )
        execute_many = self.connection.executemany
        execute_many("DELETE FROM count_window_chunk WHERE rule_id = ? AND key = ?", orphaned)
        execute_many(
            "DELETE FROM count_window_chunk WHERE rule_id = ? AND key = ? AND first <= ?", cuts
        )
        execute_many("INSERT OR REPLACE INTO count_window_chunk VALUES (?, ?, ?, ?)", chunks)
        execute_many(
            "INSERT OR REPLACE INTO count_window"
            " (rule_id, key, within, times, events, expires_at, first, tail_from)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        _delete(self.connection, "count_window", rule_id, gone)

    def _load_windows(self) -> None:
        """Read every window from the database into the tables, dropping unwritten changes:
        when the store opens, and when another connection wrote windows."""
        self._new_alerts.clear()
        for tables in self._all_tables():
            for table in tables.values():  # the engine holds these: refill, never replace
                table.forget()
        connection = self.connection
        reading = not connection.in_transaction  # then read all three in one snapshot
        try:
            if reading:
                connection.execute("BEGIN")
            self._version = self._stored_version()
            suppressions = connection.execute(
                f"SELECT rule_id, {_SUPPRESSION_COLUMNS} FROM suppression"
            ).fetchall()
            windows = connection.execute(
                f"SELECT rule_id, {_COUNT_WINDOW_COLUMNS} FROM count_window"
            ).fetchall()
            states = connection.execute(
                f"SELECT rule_id, {_KEY_STATE_COLUMNS}, expires_at FROM key_state"
            ).fetchall()
            absences = connection.execute(
                f"SELECT rule_id, {_ABSENCE_COLUMNS}, expires_at FROM absence"
            ).fetchall()
            logged = [] if self._log is None else list(self._log.read(connection))
            chunks = _chunks_by_key(
                connection.execute(
                    "SELECT rule_id, key, first, times FROM count_window_chunk"
                    " ORDER BY rule_id, key, first"
                )
            )
            opens = connection.execute(
                f"SELECT rule_id, {_OPEN_ALERT_COLUMNS} FROM open_alert"
            ).fetchall()
            if reading:
                connection.execute("COMMIT")
        except sqlite3.Error as exc:
            fail(exc, f"{self.path}: cannot read the windows", self.path)
        for rule_id, *row in suppressions:
            key, entry = _suppression_of(row)
            self.suppressions(rule_id).entries[key] = entry
        for rule_id, *row in windows:
            _place(self.count_windows(rule_id), row, chunks.get((rule_id, row[0]), []))
        for rule_id, *row in states:
            entry_key, state = _key_state_of(row)
            self.key_states(rule_id).entries[entry_key] = state
        if self._log is not None:
            self._log.size = self._replay(logged, None)
        for rule_id, *row in absences:
            key, absence = _absence_of(row)
            self.absences(rule_id).entries[key] = absence
        for rule_id, *row in opens:
            key, alert_id = _open_alert_of(row)
            self.open_alerts(rule_id).entries[key] = alert_id
        if self._expiry is not None:
            self._expiry.note_all(t for tables in self._window_tables() for t in tables.values())

    def _restore(self, block: _Block | None) -> None:
        """After a rollback of `block`: forget what was not written yet, and read back from
        the database the windows the block changed (all of them if it is not known which)."""
        self._new_alerts.clear()
        if block is None or block.everything:
            self._load_windows()
            return
        self._version = block.version
        touched = block.written
        tables: list[_Table[Any]] = [t for tables in self._all_tables() for t in tables.values()]
        for table in tables:
            if table.changed:
                block.wrote(table)
                table.changed.clear()
        try:
            for table, keys in touched.items():
                self._read_back(table, keys)
            if self._log is not None:  # the key states read back are as the log has them
                logged = {t.rule_id: k for t, k in touched.items() if t.kind == "key_state"}
                if logged:
                    self._read_back_logged(logged)
        except sqlite3.Error as exc:
            fail(exc, f"{self.path}: cannot read the windows", self.path)

    def _read_back(self, table: _Table[Any], keys: Collection[Hashable]) -> None:
        """Set these keys of `table` to what the database holds for them (or remove them)."""
        which = (table.rule_id, _json([_key_text(key) for key in keys]))
        in_keys = "rule_id = ? AND key IN (SELECT value FROM json_each(?))"
        if isinstance(table, _CountWindows):
            self._read_back_count_windows(table, keys, which, in_keys)
            return
        columns, of = _READERS[table.kind]
        rows = self.connection.execute(
            f"SELECT {columns} FROM {table.kind} WHERE {in_keys}", which
        ).fetchall()
        entries = table.entries
        for key in keys:
            entries.pop(key, None)
        expires = _EXPIRES.get(table.kind)
        for row in rows:
            key, value = of(row)
            entries[key] = value
            if self._expiry is not None and expires is not None:
                self._expiry.note(table, key, expires(value))

    def _read_back_logged(self, keys: Mapping[str, Collection[Hashable]]) -> None:
        """After `_read_back` of these key states (by rule id) from their rows: the log's
        entries of them on top, and their expiry noted again."""
        assert self._log is not None
        self._log.size = self._replay(self._log.read(self.connection), keys)
        if self._expiry is not None:
            for rule_id, rule_keys in keys.items():
                table = self.key_states(rule_id)
                for key in rule_keys:
                    state = table.entries.get(key)
                    if state is not None:
                        self._expiry.note(table, key, state[3])

    def _read_back_count_windows(
        self, table: _CountWindows, keys: Collection[Hashable], which: tuple[str, str], in_keys: str
    ) -> None:
        rows = self.connection.execute(
            f"SELECT {_COUNT_WINDOW_COLUMNS} FROM count_window WHERE {in_keys}", which
        ).fetchall()
        chunks = _chunks_by_key(
            self.connection.execute(
                "SELECT rule_id, key, first, times FROM count_window_chunk"
                f" WHERE {in_keys} ORDER BY key, first",
                which,
            )
        )
        for key in keys:
            table.entries.pop(key, None)
            table.chunked.pop(key, None)
            table.orphaned.discard(key)
        for row in rows:
            key = _place(table, row, chunks.get((table.rule_id, row[0]), []))
            if self._expiry is not None:
                self._expiry.note(table, key, window_expires_at(table.entries[key]))

    def _all_tables(
        self,
    ) -> tuple[
        dict[str, _Table[Suppression]],
        dict[str, _CountWindows],
        dict[str, _Table[KeyState]],
        dict[str, _Table[Absence]],
        dict[str, _Table[str]],
    ]:
        """Every kind of table held in memory (the windows, and the open alerts), each by rule
        id."""
        return (*self._window_tables(), self._open)

    def _window_tables(
        self,
    ) -> tuple[
        dict[str, _Table[Suppression]],
        dict[str, _CountWindows],
        dict[str, _Table[KeyState]],
        dict[str, _Table[Absence]],
    ]:
        """Every kind of window table (those that expire: _WINDOW_TABLES), each by rule id."""
        return (self._suppressions, self._windows, self._key_states, self._absences)

    def _catch_up(self) -> None:
        """At the start of a block: reread the windows if the file no longer holds the ones in
        memory (another connection wrote windows, or rolled back a transaction it opened on
        this store's connection without telling the store)."""
        if self._stored_version() != self._version:
            self._load_windows()

    def _stored_version(self) -> int:
        version: int = self.connection.execute("SELECT version FROM window_version").fetchone()[0]
        return version

    def _lost_by(self, error: BaseException) -> StateStoreError:
        """Why a transaction the database rolled back by itself is lost: SQLite does so only
        for a condition such as a full disk or an I/O error, the error's reason."""
        reason = unavailable_reason(error) if isinstance(error, sqlite3.Error) else None
        if reason is None or reason == "io_error":
            reason = io_reason(self.path.parent)
        return StateStoreError(f"the transaction was rolled back: {error}", reason)

    def _execute(self, sql: str) -> None:
        try:
            self.connection.execute(sql)
        except sqlite3.Error as exc:
            fail(exc, str(self.path), self.path)


# An event field as text, as alertd.engine.state.field_text reads it (objects and lists: NULL).
_FIELD_TEXT = (
    "CASE json_type(event, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
    " WHEN 'null' THEN 'null' WHEN 'object' THEN NULL WHEN 'array' THEN NULL"
    " ELSE CAST(json_extract(event, ?) AS TEXT) END"
)


def _json_path(path: str) -> str:
    """`location.city` -> `$."location"."city"` (each name quoted, so any name but one holding
    a double quote is taken as written)."""
    return "$" + "".join(f'."{name}"' for name in path.split("."))


def _suppression_of(row: Sequence[Any]) -> tuple[Key, Suppression]:
    key, fired_at, until, suppressed = row
    return _key(key), (fired_at, until, suppressed)


def _chunks_by_key(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, str], list[Any]]:
    """Chunk rows (rule_id, key, first, times), in order, as (first, times) by (rule, key)."""
    chunks: dict[tuple[str, str], list[Any]] = {}
    for rule_id, key, first, times in rows:
        chunks.setdefault((rule_id, key), []).append((first, jsonutil.loads(times)))
    return chunks


def _place(table: _CountWindows, row: Sequence[Any], chunks: list[Any]) -> Key:
    """Put the window of a count_window row (and its chunk rows) into its table; return its
    key."""
    key_text, within, times, events, first, tail_from = row
    key = _key(key_text)
    window, where = assemble(
        within,
        jsonutil.loads(events),
        first=first,
        tail_from=tail_from,
        tail=jsonutil.loads(times),
        chunks=chunks,
    )
    table.entries[key] = window
    if where is not None:
        table.chunked[key] = where
    return key


def _key_state_of(row: Sequence[Any]) -> tuple[StateKey, KeyState]:
    key, newest, start, kept, expires_at = row
    return state_key(_key(key)), (newest, start, hold_kept(tuple(jsonutil.loads(kept))), expires_at)


def _absence_of(row: Sequence[Any]) -> tuple[Key, Absence]:
    key, last, alert_id, event, expires_at = row
    return _key(key), (last, alert_id, event, expires_at)


def _open_alert_of(row: Sequence[Any]) -> tuple[Key, str]:
    key, alert_id = row
    return _key(key), alert_id


_MOVED = ("key_state", "absence")
"""Kinds whose entry's expiry moves on with every event of its key (`forget` after the newest):
noted for the sweep once, when made, the note following the entry (alertd.engine.expiry); a
note per write, each kept for `forget` (two days in rules/telemetry.rules), piled up a note per
event of every watched vehicle."""

_EXPIRES: dict[str, Callable[[Any], float]] = {
    "suppression": suppression_expires_at,
    "count_window": window_expires_at,
    "key_state": itemgetter(3),
    "absence": itemgetter(3),
}
"""Per window table: when an entry expires (the row's `expires_at`)."""

_READERS: dict[str, tuple[str, Callable[[Sequence[Any]], tuple[Hashable, Any]]]] = {
    "suppression": (_SUPPRESSION_COLUMNS, _suppression_of),
    "key_state": (f"{_KEY_STATE_COLUMNS}, expires_at", _key_state_of),
    "absence": (f"{_ABSENCE_COLUMNS}, expires_at", _absence_of),
    "open_alert": (_OPEN_ALERT_COLUMNS, _open_alert_of),
}
"""Per window table: the columns to read back, and how an entry is made of them (counting
windows, spread over chunk rows, are read by `_read_back_count_windows`)."""


def _json(value: object) -> str:
    return jsonutil.dumps(value, default=str).decode()


def _key(text: str) -> Key:
    """A key read back from JSON: lists become tuples again, as the engine keyed them."""
    return _key_of(jsonutil.loads(text))


def _key_text(key: Hashable) -> str:
    """The key of an entry of a table as the rows of every table hold it: the rule's key as a
    JSON list (a key state's key is held bare for a one-part key: alertd.engine.sequence)."""
    return _json(full_key(key))


def _entry_key(kind: str, text: str) -> Hashable:
    """The key of the entry in a table of `kind` (_WINDOW_TABLES) whose row's key reads `text`."""
    key = _key(text)
    return state_key(key) if kind == "key_state" else key


def _logged(state: KeyState | None) -> KeyState | None:
    """A key state as the log holds it: in the log, a JSON list is the kept values (a tuple
    of them, or a log written before one value was held bare), anything else one value held
    bare (alertd.engine.sequence.hold_kept); so a value held bare that is a list goes as the
    list of it."""
    if state is None or state[2].__class__ is not list:
        return state
    newest, start, kept, expires_at = state
    return newest, start, (kept,), expires_at


def _logged_key(logged: Any) -> Hashable:
    """The key of a key state as the log holds it (the table's key as JSON: a one-part key
    bare; before, every key as its JSON list, as the rows have it)."""
    return state_key(_key_of(logged)) if logged.__class__ is list else logged


def _key_of(values: list[Any]) -> Key:
    """A key from its JSON list: lists in it become tuples again."""
    return tuple(_frozen(value) for value in values)


def _loads(text: str) -> Any:
    return jsonutil.loads(text)


def _frozen(value: object) -> object:
    return tuple(_frozen(item) for item in value) if isinstance(value, list) else value


def _suppression_row(entry: Suppression) -> tuple[object, ...]:
    return (*entry, suppression_expires_at(entry))


@dataclass(frozen=True, slots=True)
class _InPlace(Generic[V]):
    """An entry change that is a change of one column of its row: `value(written, entry)` is
    the column's new value when the rest of the row (expiry included) is as written, else
    None."""

    column: str
    value: Callable[[V, V], object | None]


def _suppressed_count(written: Suppression, entry: Suppression) -> int | None:
    """A match suppressed: only the count moved (from the second on, the expiry stays)."""
    same = written[:2] == entry[:2]
    if same and suppression_expires_at(written) == suppression_expires_at(entry):
        return entry[2]
    return None


_suppressed_only: _InPlace[Suppression] = _InPlace("suppressed", _suppressed_count)


def _open_alert_row(alert_id: str) -> tuple[object, ...]:
    return (alert_id,)


def _key_state_row(state: KeyState) -> tuple[object, ...]:
    newest, start, kept, expires_at = state
    return newest, start, _json(kept_values(kept)), expires_at


def _absence_row(absence: Absence) -> tuple[object, ...]:
    return absence  # its event is JSON text already


def _delete(connection: Connection, table: str, rule_id: str, keys: list[Hashable]) -> None:
    if keys:
        connection.executemany(
            f"DELETE FROM {table} WHERE rule_id = ? AND key = ?",
            [(rule_id, _key_text(key)) for key in keys],
        )


def _alert_row(kept: AlertRecord | Alert) -> tuple[object, ...]:
    """An alerts row: of a record, or of an alert nothing has happened to yet."""
    if isinstance(kept, AlertRecord):
        alert, changes = kept.alert, _alert_changes(kept)
    else:
        alert, changes = kept, _NEW_ALERT_CHANGES
    return (
        alert.id,
        alert.rule_id,
        alert.rule_name,
        alert.priority,
        _json(alert.key),
        _json(alert.event),
        alert.fired_at,
        alert.received_at,
        alert.suppressed_count,
        _json(alert.labels),
        alert.count_events.json(),
        alert.description,
        _json([[target.channel, target.groups] for target in alert.notify]),
        alert.template,
        *changes,
    )


def _alert_changes(record: AlertRecord) -> tuple[object, ...]:
    """What changes after an alert fired, in _SAVE_ALERT's order."""
    return (
        record.status,
        record.acked_at,
        record.acked_by,
        record.acked_via,
        record.resolved_at,
        record.resolved_by,
        record.resolved_via,
        record.notifications,
        None if record.escalation is None else _json(_escalation_json(record.escalation)),
        record.match_count,
        record.last_matched_at,
        record.silenced_by,
        None if record.last_event is None else _json(record.last_event),
    )


_NEW_ALERT_CHANGES = _alert_changes(AlertRecord(Alert("", "", "", "low", (), {}, 0.0, 0.0)))
"""Those of an alert nothing has happened to yet: AlertRecord's defaults."""


def _alert_record(row: tuple[Any, ...]) -> AlertRecord:
    alert = Alert(
        id=row[0],
        rule_id=row[1],
        rule_name=row[2],
        priority=row[3],
        key=tuple(jsonutil.loads(row[4])),
        event=jsonutil.loads(row[5]),
        fired_at=row[6],
        received_at=row[7],
        suppressed_count=row[8],
        labels=jsonutil.loads(row[9]),
        count_events=CountEvents.of(jsonutil.loads(row[10])),
        description=row[11],
        notify=_targets(jsonutil.loads(row[12])),
        template=row[13],
    )
    return AlertRecord(
        alert,
        status=row[14],
        acked_at=row[15],
        acked_by=row[16],
        acked_via=row[17],
        resolved_at=row[18],
        resolved_by=row[19],
        resolved_via=row[20],
        notifications=row[21],
        escalation=None if row[22] is None else _escalation_of(jsonutil.loads(row[22])),
        match_count=row[23],
        last_matched_at=row[24],
        silenced_by=row[25],
        last_event=None if row[26] is None else jsonutil.loads(row[26]),
    )


def _targets(pairs: list[list[Any]]) -> tuple[NotifyTarget, ...]:
    return tuple(NotifyTarget(channel, tuple(groups)) for channel, groups in pairs)


def _escalation_json(escalation: Escalation) -> dict[str, Any]:
    return {
        "policy": escalation.policy,
        "steps": [
            {"after": step.after, "notify": [[t.channel, t.groups] for t in step.notify]}
            for step in escalation.steps
        ],
        "repeat": escalation.repeat,
        "ran": escalation.ran,
    }


def _escalation_of(data: dict[str, Any]) -> Escalation:
    steps = tuple(EscalationStep(step["after"], _targets(step["notify"])) for step in data["steps"])
    return Escalation(data["policy"], steps, data["repeat"], data["ran"])


def _timer(row: tuple[Any, ...]) -> Timer:
    kind, ref, due, payload = row
    return Timer(kind, ref, due, jsonutil.loads(payload))
