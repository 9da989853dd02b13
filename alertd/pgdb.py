"""Every PostgreSQL connection alertd opens (psycopg 3), speaking as its SQLite connections do.

The state's modules (the store, the outbox, the feed, reply codes, silences, holds) are written
once, against SQLite's dialect and its connection's few methods. `PgConnection` offers those
methods over psycopg, each statement turned into PostgreSQL's dialect by alertd.dialect.

The connection is in autocommit mode with BEGIN and COMMIT its owner's, as with SQLite. In a
transaction, its inserts and its BEGIN, SAVEPOINT, RELEASE and ROLLBACK TO wait for its next
statement that needs an answer, and go with it in one round trip (alertd.pgwrites). Errors
are sorted as alertd.sqlitedb sorts SQLite's: one that says the database cannot be used now (the
server unreachable or shutting down, its disk full, a read-only standby, a lock or statement
timeout, a deadlock) becomes StateStoreError with its reason; any other is a bug in alertd and
is raised as it is. A connection the server dropped is opened again by the next statement that
starts outside a transaction, so a node carries on by itself once the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, Literal

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from alertd.dialect import translate
from alertd.engine.errors import StateReason, StateStoreError
from alertd.pgwrites import Control, Held, Later, Rows, Told, as_json, insert_of, selected

log = logging.getLogger("alertd.state")

CHANNEL = "alertd"
"""The one LISTEN/NOTIFY channel of alertd's daemons; a notification's payload says what
happened (`outbox`: rows became free to claim; `timers`: a timer was set)."""
LISTEN_POLL = 0.5  # seconds the listening thread waits for a notification before it looks up
LISTEN_RETRY = 1.0  # seconds before a lost listening session is opened again

CONNECT_TIMEOUT = 5  # seconds: an unreachable server is a 503, not a hung request
LOCK_TIMEOUT = 5.0  # seconds, the default: as SQLite's busy timeout


def connect(
    url: str, *, lock_timeout: float = LOCK_TIMEOUT, node: str | None = None
) -> PgConnection:
    """Open a connection to the database at `url`, for the daemon `node` if given (its
    claims, alertd.notify.outbox). Raises StateStoreError naming the database (with no
    password) when it cannot be opened."""
    return PgConnection(url, lock_timeout=lock_timeout, node=node)


def redacted(url: str) -> str:
    """`url` fit for a message: its password, if any, masked."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


class PgConnection:
    """One PostgreSQL session with sqlite3.Connection's methods as alertd uses them. Not
    thread-safe: one caller at a time, from any thread."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(
        self, url: str, *, lock_timeout: float = LOCK_TIMEOUT, node: str | None = None
    ) -> None:
        self.url = url
        self.name = redacted(url)
        self.lock_timeout = lock_timeout
        # The daemon this session works for: what its claims on outbox rows are made in the
        # name of; statements read it as current_setting('alertd.node').
        self.node = node
        self.total_changes = 0  # rows inserted, updated or deleted, as sqlite3 counts them
        # A transaction was open after the last statement that succeeded. A session the server
        # dropped says nothing of its transaction any more (its status is unknown), so this is
        # what tells that one was lost with it.
        self._open = False
        self._later = Later()  # statements not sent yet (alertd.pgwrites)
        self._types: dict[str, dict[str, str]] = {}  # of the tables held rows went to
        self._connection = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # A lock waited for longer than the timeout fails the statement: the daemon
            # answers 503, as it does when SQLite's busy timeout passes.
            given = conninfo_to_dict(self.url).get("options") or ""
            options = f"{given} -c lock_timeout={round(self.lock_timeout * 1000)}".strip()
            connection = psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, options=options
            )
            if self.node is not None:
                connection.execute("SELECT set_config('alertd.node', %s, false)", (self.node,))
        except psycopg.Error as exc:
            raise StateStoreError(
                f"{self.name}: cannot connect to the state database: {_first_line(exc)}",
                reason_of(exc) or "unreachable",
            ) from exc
        return connection

    @property
    def in_transaction(self) -> bool:
        """A transaction is open (its BEGIN maybe held, alertd.pgwrites); or was, in a session
        the server dropped (it is lost, and only COMMIT or ROLLBACK, which say so, may
        follow)."""
        if self._later.begun:
            return True
        status = self._connection.info.transaction_status
        return status in (TransactionStatus.INTRANS, TransactionStatus.INERROR) or (
            self._open and self.broken
        )

    def _note_transaction(self) -> None:
        """After a statement that succeeded: whether it left a transaction open."""
        status = self._connection.info.transaction_status
        self._open = status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        """Run one statement (SQLite's dialect) and return its cursor; in a transaction, with
        what is held (alertd.pgwrites) in the same round trip. BEGIN, SAVEPOINT, RELEASE and
        ROLLBACK TO are held themselves; a COMMIT with nothing sent before it is not sent."""
        self._reopen_if_lost()
        text = translate(sql)
        if not parameters:  # no placeholders: psycopg takes the text as it is, `%` and all
            text = text.replace("%%", "%")
            if self._hold(text):
                return Cursor(self._connection.cursor())
            if self._later.items and (";" in text or text.strip().upper() == "COMMIT"):
                # A script: one statement per round trip. A COMMIT: what is held goes first,
                # in a round trip of its own. Sent with the COMMIT, a session cut before the
                # answers came would leave the COMMIT in doubt with its inserts' RETURNING
                # unread (the notifications' numbers: PostgresStore.commit may find it
                # committed, and the dispatcher would have nothing to send); a cut while the
                # writes run now plainly loses the transaction.
                self._send()
        (cursor,) = self._send(lambda cursor: cursor.execute(text, tuple(parameters) or None))
        status = cursor.statusmessage or ""
        if cursor.rowcount > 0 and status.startswith(("INSERT", "UPDATE", "DELETE")):
            self.total_changes += cursor.rowcount
        return Cursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        """Run one statement once per row. An INSERT of placeholders is one statement over
        column arrays, held in a transaction (alertd.pgwrites; the cursor then has no
        rowcount); any other is pipelined, one round trip for the lot."""
        rows = [tuple(row) for row in rows]
        self._reopen_if_lost()  # first: a cursor of a closed connection is a driver's error
        if not rows:
            return Cursor(self._connection.cursor())
        insert = insert_of(sql)
        if insert is not None:
            self._later.add(insert, rows)
            if self.in_transaction:
                return Cursor(self._connection.cursor())
            return Cursor(self._send()[-1])
        (cursor,) = self._send(lambda cursor: cursor.executemany(translate(sql), rows))
        if cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return Cursor(cursor)

    def execute_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """Run statements one after the other in one round trip to the server (psycopg's
        pipeline mode), after what is held, and return the rows of each, in order."""
        self._reopen_if_lost()
        cursors = self._send(
            *(
                partial(_run, translate(sql), tuple(parameters) or None)
                for sql, parameters in statements
            )
        )
        return [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]

    def insert_returning(
        self, sql: str, rows: Sequence[Sequence[Any]], column: str, then: Told
    ) -> None:
        """Run an INSERT of placeholders (an `INSERT OR IGNORE` that may skip rows) over these
        rows and hand `then` the `column` of each row inserted, None for a row skipped, in the
        order of `rows`; rows are told apart by their first column. In a transaction the
        insert is held (alertd.pgwrites), and `then` called once it is sent."""
        insert = insert_of(sql)
        if insert is None:
            raise ValueError(f"not an INSERT of placeholders: {sql}")
        self._reopen_if_lost()
        if not rows:
            then([])
            return
        self._later.add(insert, rows, column, then)
        if not self.in_transaction:
            self._send()

    def _hold(self, text: str) -> bool:
        """Hold a statement of transaction control (alertd.pgwrites), or drop a COMMIT or
        ROLLBACK of a transaction nothing was sent of; False when `text` is to be sent."""
        later = self._later
        word = text.strip().upper()
        if (
            word in ("COMMIT", "ROLLBACK")
            and later.begun
            and (word == "ROLLBACK" or not later.writes)
        ):
            later.clear()
            return True
        return later.control(text, in_transaction=self.in_transaction)

    def _send(self, *steps: Callable[[psycopg.Cursor[Any]], object]) -> list[psycopg.Cursor[Any]]:
        """Send what is held, then each step (a statement on a cursor of its own), in one round
        trip; return the steps' cursors (with none, the held statements').

        When a held statement fails, the transaction it belongs to cannot go on as its owner
        thinks (a savepoint it would roll back to may never have been made): it is rolled back
        whole, and the error raised; the owner's savepoint finds no transaction open, and
        takes the transaction as lost (alertd.engine.sqlite_store)."""
        held = self._later.take()
        done: list[psycopg.Cursor[Any]] = []  # of the held statements
        cursors = [self._connection.cursor() for _ in steps]
        try:
            work = [self._step(item) for item in held]  # may read the catalog, first
            together = len(work) + len(steps) > 1
            with self._connection.pipeline() if together else contextlib.nullcontext():
                for step in work:
                    done.append(self._connection.cursor())
                    step(done[-1])
                for step, cursor in zip(steps, cursors, strict=True):
                    step(cursor)
        except psycopg.Error as exc:
            if len(done) < len(held) or any(cursor.pgresult is None for cursor in done):
                self._lose()
            raise _sorted(exc, self.name) from exc
        self._note_transaction()
        for item, cursor in zip(held, done, strict=True):
            if isinstance(item, Rows):
                self.total_changes += max(cursor.rowcount, 0)
                if item.returning is not None:
                    item.tell(dict(cursor.fetchall()))
        return cursors or done

    def _step(self, item: Held) -> Callable[[psycopg.Cursor[Any]], object]:
        """A held statement, ready to run on a cursor."""
        if isinstance(item, Control):
            return partial(_run, item.sql, None)
        insert = item.insert
        types = self._column_types(insert.table)
        names = insert.columns or tuple(types)[: insert.width]
        kinds = [types[name.strip('"').lower()] for name in names]
        how = f" OR {insert.how}" if insert.how else ""
        columns = "" if insert.columns is None else f" ({', '.join(insert.columns)})"
        text = translate(
            f"INSERT{how} INTO {insert.table}{columns} SELECT {selected(kinds)}"
            " FROM jsonb_array_elements(?::jsonb) AS e"
        )
        if item.returning is not None:
            text += f" RETURNING {names[0]}, {item.returning}"
        return partial(_run, text, (as_json(item.kept(), kinds),))

    def _column_types(self, table: str) -> dict[str, str]:
        """The columns of `table` and their types, in order (read once per session)."""
        types = self._types.get(table)
        if types is None:
            rows = self._connection.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
                " ORDER BY attnum",
                (table,),
            ).fetchall()
            types = self._types[table] = dict(rows)
        return types

    def _lose(self) -> None:
        """End the open transaction, keeping nothing of it. (One lost with its session stays
        open as far as its owner knows: the next statement says it was lost.)"""
        self._later.clear()
        if self.broken:
            return
        self._open = False
        if self._connection.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                self._connection.execute("ROLLBACK")

    def executescript(self, script: str) -> Cursor:
        """Run a script of statements (SQLite's dialect, `_WHOLE` gives PostgreSQL's)."""
        return self.execute(script)

    def rollback(self) -> None:
        """End the open transaction, keeping nothing of it (nothing to do when none is open,
        or when the server dropped the session, and the transaction with it)."""
        begun = self._later.begun  # and not sent: nothing to roll back on the server
        self._later.clear()
        if self.broken:
            self._open = False
            return
        if begun or not self.in_transaction:
            return
        try:
            self._connection.execute("ROLLBACK")
        except psycopg.Error as exc:
            raise _sorted(exc, self.name) from exc
        self._open = False

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()

    @property
    def backend_pid(self) -> int:
        """The server process of this session (pg_stat_activity, pg_locks)."""
        return int(self._connection.info.backend_pid)

    @property
    def broken(self) -> bool:
        return self._connection.broken or self._connection.closed

    def _reopen_if_lost(self) -> None:
        """The server dropped the session: open another, unless a transaction was open in it.
        That one is lost, and its owner must hear so from the statement that fails (above
        all COMMIT, which on a new session would succeed, having nothing to commit) until it
        rolls back."""
        if not self.broken:
            return
        if self._open:
            raise StateStoreError(
                f"{self.name}: the transaction was lost: the connection to the database dropped",
                "unreachable",
            )
        self._connection = self._connect()


class Cursor:
    """The rows of one statement, read as sqlite3's cursor reads them."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.pgresult is not None else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        if self._cursor.description is None:
            return iter(())
        return iter(self._cursor)


# --- errors ----------------------------------------------------------------------------------

_REASONS: tuple[tuple[type[psycopg.Error], StateReason], ...] = (
    (pg_errors.DiskFull, "full"),
    (pg_errors.OutOfMemory, "io_error"),
    (pg_errors.InsufficientResources, "io_error"),
    (pg_errors.ReadOnlySqlTransaction, "read_only"),
    (pg_errors.LockNotAvailable, "busy"),
    (pg_errors.QueryCanceled, "busy"),  # lock_timeout, statement_timeout
    (pg_errors.DeadlockDetected, "busy"),
    (pg_errors.SerializationFailure, "busy"),
    (pg_errors.TooManyConnections, "busy"),
    (pg_errors.AdminShutdown, "unreachable"),
    (pg_errors.CannotConnectNow, "unreachable"),
    (pg_errors.DataCorrupted, "corrupt"),
    (pg_errors.IndexCorrupted, "corrupt"),
    (pg_errors.IoError, "io_error"),
    (psycopg.OperationalError, "unreachable"),  # the connection is gone, or never came
    (psycopg.InterfaceError, "unreachable"),  # ... and used after it went
)


def reason_of(error: psycopg.Error) -> StateReason | None:
    """Why `error` says the database cannot be used now, or None when it says alertd used it
    wrongly (a bug, which retrying cannot mend)."""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return None


def _sorted(error: psycopg.Error, name: str) -> Exception:
    reason = reason_of(error)
    if reason is None:
        return error
    return StateStoreError(f"{name}: {_first_line(error)}", reason)


def _run(text: str, parameters: Sequence[Any] | None, cursor: psycopg.Cursor[Any]) -> None:
    cursor.execute(text, parameters)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def notify(connection: PgConnection, payload: str) -> None:
    """Tell every listening daemon `payload` (on CHANNEL); inside a transaction, once it
    commits (PostgreSQL delivers notifications at commit, and none of a rollback)."""
    connection.execute("SELECT pg_notify(?, ?)", (CHANNEL, payload))


class Listener:
    """LISTEN on CHANNEL in a session of its own, so that an idle daemon is woken when another
    one made work for it, instead of polling for it fast.

    `run(on_notify)` hands each payload to `on_notify` on the event loop until cancelled; it
    also calls `on_notify("")` each time the session is (re)opened, since notifications sent
    while it was not listening are lost (the caller then looks for itself). The session waits
    in a thread of its own: psycopg's blocking `notifies()`, woken every LISTEN_POLL seconds to
    see whether it should stop.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = redacted(url)

    async def run(self, on_notify: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def hand(payload: str) -> None:
            if not stop.is_set():
                loop.call_soon_threadsafe(on_notify, payload)

        def listen() -> None:
            while not stop.is_set():
                try:
                    with psycopg.connect(
                        self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                    ) as connection:
                        connection.execute(f"LISTEN {CHANNEL}")
                        hand("")
                        while not stop.is_set():
                            for notification in connection.notifies(timeout=LISTEN_POLL):
                                hand(notification.payload)
                except psycopg.Error as error:
                    log.warning(
                        "cannot listen for other daemons' notifications; trying again",
                        extra={"database": self.name, "error": _first_line(error)},
                    )
                    stop.wait(LISTEN_RETRY)

        try:
            await asyncio.to_thread(listen)
        finally:
            stop.set()
