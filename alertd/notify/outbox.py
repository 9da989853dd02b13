"""The durable outbox: one SQLite row per notification, from enqueue to sent, failed or dead.

The outbox shares the state database with the engine. `enqueue()` and `purge()` write through
the caller's connection without committing, so the daemon records an alert and its
notifications in one transaction: after the commit, nothing can be lost; before it, nothing
was promised. The dispatcher's own bookkeeping (attempts, errors, sent time) goes through the
`Outbox` object's own connections (opened by alertd.sqlitedb, with the store's settings), in
short transactions of its own.

Row life: `pending` (with `next_attempt_at`) -> `sent` | `failed` (the provider refused it,
retrying cannot help) | `dead` (retryable errors until attempts or age ran out). The last error,
the attempt count, the sent time and the provider's receipt are kept on the row.

On SQLite, one dispatcher per database: rows are not locked against a second process. On
PostgreSQL, several daemons share the outbox, and each pending row is *claimed* by one of them
(`claimed_by`, until `claim_expires_at`): the daemon that enqueues a row claims it in the same
insert (it hands the row to its own dispatcher in memory), and a dispatcher takes rows whose
claim has expired -- their daemon died or stalled -- with `FOR UPDATE SKIP LOCKED`
(`Outbox.claim`), so two dispatchers never take the same row. A daemon renews its claims on the
rows its dispatcher holds while it lives (`renew_claims`), gives them up when it stops
(`release_claims`), and records an outcome only on a row it still holds: once another daemon
took a row over, the row's fate is that daemon's. A daemon's name (`node`) is its host and
state folder: a restarted daemon is the same node, so its outcome journal and its claims still
match. The `Outbox` methods raise StateStoreError when the database cannot be used now
(alertd.sqlitedb.fail).
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alertd import jsonutil
from alertd.dialect import register
from alertd.migrations import migrate
from alertd.notify.notification import BundleState, DeliveryState, Notification, Paged
from alertd.notify.retry import NotificationState
from alertd.sqlitedb import DEFAULT_BUSY_TIMEOUT, Synchronous, connect, fail

if TYPE_CHECKING:
    from alertd.dialect import Connection

_INSERT = (
    "INSERT OR IGNORE INTO outbox (id, alert_id, rule_id, channel, kind, recipient, priority,"
    " content, attempts, created_at, next_attempt_at, updated_at, notice, state, hold, alerts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_RECORD = """
    UPDATE outbox SET state = o.state, attempts = o.attempts, last_error = o.error,
        receipt = o.receipt, next_attempt_at = COALESCE(o.next_attempt_at, outbox.next_attempt_at),
        sent_at = o.sent_at, updated_at = o.at
    FROM (
        SELECT value ->> 0 AS seq, value ->> 1 AS state, value ->> 2 AS attempts,
            value ->> 3 AS error, value ->> 4 AS receipt, value ->> 5 AS next_attempt_at,
            value ->> 6 AS sent_at, value ->> 7 AS at
        FROM json_each(?)
    ) AS o
    WHERE outbox.seq = o.seq
"""
"""Delivery outcomes, a JSON array of `[seq, state, attempts, error, receipt, next_attempt_at,
sent_at, at]`, written in one statement (see `Outbox.record`)."""

register(
    _RECORD,
    """
    UPDATE outbox SET state = o.state, attempts = o.attempts, last_error = o.error,
        receipt = o.receipt, next_attempt_at = COALESCE(o.next_attempt_at, outbox.next_attempt_at),
        sent_at = o.sent_at, updated_at = o.at
    FROM (
        SELECT (v ->> 0)::bigint AS seq, v ->> 1 AS state, (v ->> 2)::bigint AS attempts,
            v ->> 3 AS error, v ->> 4 AS receipt, (v ->> 5)::float8 AS next_attempt_at,
            (v ->> 6)::float8 AS sent_at, (v ->> 7)::float8 AS at
        FROM json_array_elements(%s::json) AS v
    ) AS o
    WHERE outbox.seq = o.seq
        AND outbox.claimed_by IS NOT DISTINCT FROM current_setting('alertd.node', true)
    """,
)

_INSERT_CLAIMED = (
    "INSERT OR IGNORE INTO outbox (id, alert_id, rule_id, channel, kind, recipient, priority,"
    " content, attempts, created_at, next_attempt_at, updated_at, notice, state, hold, alerts,"
    " claimed_by, claim_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""On PostgreSQL: the insert, the row claimed by the inserting daemon (see the docstring)."""

CLAIM_LEASE = 30.0
"""Seconds a claim lasts unless renewed: how long another daemon waits to send what a dead one
had claimed."""
CLAIM_RENEW = CLAIM_LEASE / 3
"""Seconds between a daemon's renewals of its claims."""
CLAIM_POLL = 5.0
"""Seconds between a dispatcher's looks for rows whose claim expired (no daemon can say it
died: the lease says it for it)."""

_CLAIM = """
    UPDATE outbox SET claimed_by = ?, claim_expires_at = ?
    WHERE seq IN (
        SELECT seq FROM outbox
        WHERE state = 'pending' AND (claimed_by IS NULL OR claim_expires_at < ? OR claimed_by = ?)
        ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED
    )
    RETURNING {columns}
"""

_RENEW = (
    "UPDATE outbox SET claim_expires_at = ? WHERE claimed_by = ? AND state = 'pending'"
    " AND seq IN (SELECT value FROM json_each(?))"
)
register(
    _RENEW,
    "UPDATE outbox SET claim_expires_at = %s WHERE claimed_by = %s AND state = 'pending'"
    " AND seq IN (SELECT v::bigint FROM json_array_elements_text(%s::json) AS v)",
)

_MAX_BUNDLES = len(("group", "digest", "quiet", "cap"))  # one per hold, at most

_COLUMNS = (
    "seq, id, alert_id, rule_id, channel, kind, recipient, priority, content, created_at,"
    " attempts, next_attempt_at"
)


def create_schema(connection: Connection) -> None:
    """Bring the state database, the outbox table with it, up to date (alertd.migrations).
    Idempotent; raises StateStoreError."""
    migrate(connection)


def enqueue(connection: Connection, notifications: Sequence[Notification]) -> None:
    """Insert notifications as pending rows through `connection`, without committing (a held
    one, alertd.storms, as a held row).

    The caller commits (with the alert that produced them) and then hands them to the
    dispatcher (`Dispatcher.submit`). A notification whose id is already in the outbox is
    skipped, so enqueueing the same alert twice sends it once. Each inserted notification gets
    its row's `seq`; when any was skipped, none gets one (their `seq` stays 0) and the
    dispatcher reads the rows back instead. On PostgreSQL the rows, and so their `seq`, are
    written with the transaction's next statement at the latest its COMMIT (alertd.pgwrites):
    one statement for the rows of every batch of a group.
    """
    rows = [
        (
            n.id,
            n.alert_id,
            n.rule_id,
            n.channel,
            n.kind,
            n.recipient,
            n.priority,
            jsonutil.dumps(n.content),
            n.attempts,
            n.created_at,
            n.next_attempt_at,
            n.created_at,
            n.notice,
            "held" if n.hold else "pending",
            n.hold or None,
            jsonutil.dumps(n.alerts).decode() if n.alerts else None,
        )
        for n in notifications
    ]
    if not isinstance(connection, sqlite3.Connection):
        # Several daemons insert at once: the sequence's numbers interleave, so each row
        # says its own. Each row is claimed by this daemon, whose dispatcher is handed it.
        claimed = [
            (*row, connection.node, n.created_at + CLAIM_LEASE)
            for row, n in zip(rows, notifications, strict=True)
        ]
        connection.insert_returning(
            _INSERT_CLAIMED, claimed, "seq", partial(_number, notifications)
        )
        return
    before = connection.total_changes
    connection.executemany(_INSERT, rows)
    written = connection.total_changes - before
    if written == len(rows) and rows:
        # One statement inside the caller's write transaction: AUTOINCREMENT numbered the
        # rows consecutively, ending at the last rowid.
        (last,) = connection.execute("SELECT last_insert_rowid()").fetchone()
        _number(notifications, list(range(last - written + 1, last + 1)))


def _number(notifications: Sequence[Notification], seqs: Sequence[int | None]) -> None:
    """Give each notification its row's `seq`, if every one was inserted."""
    if all(seq is not None for seq in seqs):
        for seq, notification in zip(seqs, notifications, strict=True):
            notification.seq = seq  # type: ignore[assignment]


def paged(connection: Connection, alert_id: str) -> list[Paged]:
    """Every address the alert's fired and escalated notices went to, once each, in the order
    they were first paged (whatever became of the sends: they were meant to reach them), with
    the last status update each was told. One still held back (alertd.storms), alone or in the
    message it was bundled into, paged nobody yet."""
    ids = (f"{alert_id}.", f"{alert_id}/")
    cursor = connection.execute(
        "SELECT channel, recipient FROM outbox WHERE id > ? AND id < ?"
        " AND notice IN ('fired', 'escalated') AND state != 'held'"
        " AND (bundle IS NULL OR bundle NOT IN (SELECT id FROM outbox WHERE state = 'held'))"
        " GROUP BY channel, recipient ORDER BY min(seq)",
        ids,
    )
    found = [Paged(channel, recipient) for channel, recipient in cursor]
    told: dict[tuple[str, str], tuple[Any, float]] = {}
    for channel, recipient, notice, at in connection.execute(
        "SELECT channel, recipient, notice, created_at FROM outbox WHERE id > ? AND id < ?"
        " AND notice IN ('acked', 'resolved') ORDER BY seq",
        ids,
    ):
        told[channel, recipient] = (notice, at)
    return [
        replace(one, told=told[key][0], told_at=told[key][1])
        if (key := (one.channel, one.recipient)) in told
        else one
        for one in found
    ]


def receipts(connection: Connection, alert_id: str, channel: str, recipient: str) -> list[str]:
    """The providers' receipts of the alert's pages sent to this recipient on this channel,
    oldest first (a status update that edits them in place needs their message ids)."""
    cursor = connection.execute(
        "SELECT receipt FROM outbox WHERE id > ? AND id < ? AND channel = ? AND recipient = ?"
        " AND notice IN ('fired', 'escalated') AND state = 'sent' AND receipt IS NOT NULL"
        " ORDER BY seq",
        (f"{alert_id}.", f"{alert_id}/", channel, recipient),
    )
    return [receipt for (receipt,) in cursor]


def purge(connection: Connection, finished_before: float, limit: int = -1) -> int:
    """Delete sent, failed and dead rows last touched before this time, the oldest `limit` of
    them (-1: all), through `connection` without committing (the daemon does it in its
    sweep's transaction). Returns how many. Found through the index of finished rows by
    `updated_at` (migration 8): the cost follows what is deleted, not the outbox's size."""
    cursor = connection.execute(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
        " WHERE state NOT IN ('pending', 'held') AND updated_at < ? ORDER BY updated_at"
        " LIMIT ?)",
        (finished_before, limit),
    )
    return cursor.rowcount


class OutboxLog:
    """The outbox as the incident manager records into it (alertd.incidents): through the state
    store's connection, inside its transaction, never committing."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        enqueue(self.connection, notifications)

    def paged(self, alert_id: str) -> list[Paged]:
        return paged(self.connection, alert_id)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The result of one delivery attempt, as the dispatcher records it."""

    seq: int
    state: NotificationState
    attempts: int
    at: float  # when the attempt ended
    error: str | None = None
    next_attempt_at: float | None = None  # for "pending"
    receipt: str | None = None  # for "sent": what the provider answered


class Outbox:
    """The dispatcher's handle on the outbox: its own connections to the state database.

    `record` writes through a connection of its own, so the dispatcher can run it in a worker
    thread (one call at a time) while the event loop reads through `connection`. Its commits
    are not synced (`synchronous = NORMAL`): they survive a crash of the process, and the
    outcome journal has each outcome before it gets here anyway; a power cut may cost the last
    ones, which are then sent again.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        url: str | None = None,
    ) -> None:
        """Raises StateStoreError when the database cannot be opened. With `url`, the database
        is that PostgreSQL one; `path` then names the outcome journal's files only."""
        self.path = Path(path)
        self.connection: Connection
        self._recorder: Connection
        self.claims = url is not None  # rows are claimed: several daemons share them
        self.node = node_name(self.path)
        if url is not None:
            from alertd.pgdb import connect as connect_postgres  # noqa: PLC0415 (psycopg: ~0.1 s)

            self.connection = connect_postgres(url, lock_timeout=busy_timeout, node=self.node)
            create_schema(self.connection)
            self._recorder = connect_postgres(url, lock_timeout=busy_timeout, node=self.node)
            return
        self.connection = connect(self.path, synchronous=synchronous, busy_timeout=busy_timeout)
        create_schema(self.connection)
        # Outcomes are journaled before they are recorded (alertd.notify.journal), so a commit
        # here need not wait for the disk: it holds the write lock for less than a millisecond
        # instead of a sync's worth, which a group commit would wait for.
        self._recorder = connect(self.path, synchronous="NORMAL", busy_timeout=busy_timeout)

    def close(self) -> None:
        self._recorder.close()
        self.connection.close()

    def add(self, notifications: Sequence[Notification]) -> int:
        """Enqueue and commit at once (for tools and tests; the daemon uses `enqueue`)."""
        before = self.connection.total_changes
        with self._translated("cannot add notifications"), _Transaction(self.connection):
            enqueue(self.connection, notifications)
        return self.connection.total_changes - before

    def pending_after(self, seq: int, limit: int = 1000) -> list[Notification]:
        """Pending rows inserted after `seq`, oldest first, at most `limit` of them."""
        with self._translated("cannot read the outbox"):
            rows = self.connection.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [_notification(row) for row in rows]

    def claim(self, now: float, limit: int, *, own: bool = False) -> list[Notification]:
        """Claim pending rows no daemon holds (never claimed, or the claim expired), oldest
        first, at most `limit` (-1: all), for CLAIM_LEASE from `now`; with `own`, this daemon's
        own claims too (at start: a previous run of it claimed them). PostgreSQL only."""
        with self._translated("cannot claim notifications"):
            rows = self.connection.execute(
                _CLAIM.format(columns=_COLUMNS),
                (self.node, now + CLAIM_LEASE, now, self.node if own else None, limit),
            ).fetchall()
        return sorted((_notification(row) for row in rows), key=lambda n: n.seq)

    def renew_claims(self, now: float, seqs: Sequence[int]) -> int:
        """Extend this daemon's claims on the pending rows `seqs` (those its dispatcher holds)
        by CLAIM_LEASE from `now`; those another daemon took over stay that daemon's. A row
        this daemon claimed but holds nothing of (its transaction's COMMIT was cut off and
        found committed only later: alertd.engine.pg_store) runs out of its lease and is
        taken, by a look for expired claims, here or on another node. Returns how many."""
        if not seqs:
            return 0
        with self._translated("cannot renew claims"):
            return self.connection.execute(
                _RENEW, (now + CLAIM_LEASE, self.node, jsonutil.dumps(list(seqs)).decode())
            ).rowcount

    def release_claims(self) -> int:
        """Give up this daemon's claims (it stops): another daemon may send those rows now,
        and is told so (LISTEN/NOTIFY, alertd.pgdb.Listener)."""
        from alertd.pgdb import notify  # noqa: PLC0415 (psycopg: ~0.1 s)

        with self._translated("cannot release claims"):
            released = self.connection.execute(
                "UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL"
                " WHERE claimed_by = ? AND state = 'pending'",
                (self.node,),
            ).rowcount
            if released and not isinstance(self.connection, sqlite3.Connection):
                notify(self.connection, "outbox")
        return released

    def record(self, outcomes: Sequence[AttemptResult]) -> None:
        """Write delivery outcomes in one transaction (from any one thread at a time).

        One UPDATE statement over the batch as a JSON array, not `executemany`: the sqlite3
        module takes the GIL back for every row of an `executemany`, so while the event loop
        is busy (a batch of events being evaluated) each row waited for it, and the write lock
        was held for up to 150 ms, stalling the next batch's BEGIN. One statement runs in C
        from start to end, the lock held for a millisecond or so.
        """
        if not outcomes:
            return
        # A row's outcomes in one batch (an attempt that failed, then its retry; or a journal
        # replayed after a kill): only its last one is what it is now. Both SQLite and
        # PostgreSQL apply an arbitrary one of several FROM rows matching the same target row,
        # and a retry recorded as still pending was sent again after every restart.
        latest = {o.seq: o for o in outcomes}
        rows = [
            (
                o.seq,
                o.state,
                o.attempts,
                o.error,
                o.receipt,
                o.next_attempt_at,
                o.at if o.state == "sent" else None,
                o.at,
            )
            for o in latest.values()
        ]
        with self._translated("cannot record delivery outcomes"), _Transaction(self._recorder):
            self._recorder.execute(_RECORD, (jsonutil.dumps(rows).decode(),))

    def states(self, alert_id: str) -> list[DeliveryState]:
        """Every notification of one alert with its delivery state, in creation order; one
        sent in a message with others (alertd.storms) names that message, and the message
        that one went out in, if any, and so on."""
        with self._translated("cannot read the outbox"):
            rows = self.connection.execute(
                "SELECT id, channel, recipient, state, attempts, last_error, created_at,"
                " next_attempt_at, sent_at, receipt, kind, notice, hold, bundle FROM outbox"
                " WHERE id > ? AND id < ? ORDER BY seq",
                (f"{alert_id}.", f"{alert_id}/"),  # "/" sorts right after "."
            ).fetchall()
            return [
                DeliveryState(
                    id=row[0],
                    channel=row[1],
                    kind=row[10],
                    recipient=row[2],
                    state=row[3],
                    attempts=row[4],
                    last_error=row[5],
                    created_at=row[6],
                    next_attempt_at=row[7] if row[3] in ("pending", "held") else None,
                    sent_at=row[8],
                    receipt=row[9],
                    notice=row[11],
                    hold=row[12],
                    bundles=self._bundles(row[13]),
                )
                for row in rows
            ]

    def _bundles(self, into: str | None) -> tuple[BundleState, ...]:
        """The message `into` and those it went out in in turn (a group held by a cap ...)."""
        found: list[BundleState] = []
        while into is not None and len(found) < _MAX_BUNDLES:
            row = self.connection.execute(
                "SELECT state, sent_at, alerts, bundle FROM outbox WHERE id = ?", (into,)
            ).fetchone()
            if row is None:  # purged
                break
            count = len(jsonutil.loads(row[2])) if row[2] else 1
            found.append(BundleState(into, into.partition("-")[0], count, row[0], row[1]))
            into = row[3]
        return tuple(found)

    def receipts(self, alert_id: str, channel: str, recipient: str) -> list[str]:
        """`receipts` through the dispatcher's reading connection."""
        with self._translated("cannot read the outbox"):
            return receipts(self.connection, alert_id, channel, recipient)

    def pending_count(self) -> int:
        """Rows waiting to be delivered (the outbox depth)."""
        with self._translated("cannot read the outbox"):
            (count,) = self.connection.execute(
                "SELECT count(*) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return int(count)

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            fail(exc, f"{self.path}: {what}", self.path)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection.

    A failed statement or COMMIT may have ended the transaction already (SQLite rolls back by
    itself on a full disk or an I/O error), or left it open (a busy COMMIT): either way none is
    left open, and the error that mattered is the one raised.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            try:
                self.connection.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise
        else:
            self._roll_back()

    def _roll_back(self) -> None:
        if self.connection.in_transaction:
            self.connection.rollback()


def node_name(path: Path) -> str:
    """A daemon's name in its claims: its host and state folder (where its outcome journal
    is), the same across its restarts."""
    return f"{socket.gethostname()}:{path.resolve()}"


def _notification(row: Any) -> Notification:
    return Notification(
        seq=row[0],
        id=row[1],
        alert_id=row[2],
        rule_id=row[3],
        channel=row[4],
        kind=row[5],
        recipient=row[6],
        priority=row[7],
        content=jsonutil.loads(row[8]),
        created_at=row[9],
        attempts=row[10],
        next_attempt_at=row[11],
    )
