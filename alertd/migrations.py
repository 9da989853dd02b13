"""The state database's durable tables, as a numbered list of migrations.

Alerts, their timelines, the outbox and the timers are history an operator keeps across
upgrades, so their tables change only by migration: each entry of `MIGRATIONS` is applied once,
in order, and the database's `PRAGMA user_version` says how many have been. A database made by
an older alertd is brought up to date when it is opened, in one transaction (all of the pending
migrations, or none); a fresh one goes through the very same steps, so every test run exercises
the upgrade path too. A database whose version is newer than this alertd knows is refused: an
older alertd would misread it. The windows' tables (alertd.engine.sqlite_store) came under
migration with the 9th; until then the store made them itself, so the 9th takes them over in
whatever shape an older store left them. A migration is SQL, or a function where what it does
depends on what the database holds.

To change a table, append a migration; never edit one that has shipped. The PostgreSQL store
keeps the same tables (and the windows' too) with its own list, `POSTGRES_MIGRATIONS`, its
version in the table `schema_version`; several daemons may start on one database at once, so
it is migrated under an advisory lock (`migrate_postgres`). A change to a table is a migration
in both lists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from alertd.engine.errors import StateStoreError

if TYPE_CHECKING:
    from alertd.pgdb import PgConnection

Migration: TypeAlias = str | Callable[[sqlite3.Connection], None]
"""A script, or a function run inside the migrating transaction."""

_WINDOW_TABLES_8 = """
    CREATE TABLE IF NOT EXISTS suppression (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fired_at REAL NOT NULL,
        until REAL NOT NULL,
        suppressed INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (rule_id, key)
    ) WITHOUT ROWID;

    -- A window's times are numbered by match (alertd.engine.count_layout): its row holds the
    -- events it keeps and the times from match tail_from on; older times are in chunk rows.
    CREATE TABLE IF NOT EXISTS count_window (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        within REAL NOT NULL,
        times TEXT NOT NULL,
        events TEXT NOT NULL,
        expires_at REAL NOT NULL,
        first INTEGER NOT NULL DEFAULT 0,  -- the number of its oldest match
        tail_from INTEGER NOT NULL DEFAULT 0,  -- the number of the match `times` starts at
        PRIMARY KEY (rule_id, key)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS count_window_chunk (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        first INTEGER NOT NULL,  -- the number of the match its times start at
        times TEXT NOT NULL,
        PRIMARY KEY (rule_id, key, first)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS key_state (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        newest REAL NOT NULL,
        start REAL,
        kept TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (rule_id, key)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS absence (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        last REAL NOT NULL,
        alert_id TEXT,
        event TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (rule_id, key)
    ) WITHOUT ROWID;

    -- Counted up by every write of windows (alertd.engine.sqlite_store).
    CREATE TABLE IF NOT EXISTS window_version (
        only INTEGER PRIMARY KEY CHECK (only = 0),
        version INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO window_version VALUES (0, 0);

    -- The sweep finds what expired in memory (alertd.engine.expiry): no index on expires_at.
    DROP INDEX IF EXISTS suppression_expiry;
    DROP INDEX IF EXISTS count_window_expiry;
    DROP INDEX IF EXISTS key_state_expiry;
    DROP INDEX IF EXISTS absence_expiry;
"""

_NUMBERED_TIMES = {
    "first": "ALTER TABLE count_window ADD COLUMN first INTEGER NOT NULL DEFAULT 0",
    "tail_from": "ALTER TABLE count_window ADD COLUMN tail_from INTEGER NOT NULL DEFAULT 0",
}


def _take_over_windows(connection: sqlite3.Connection) -> None:
    """9: the windows' tables as the store made them up to now. Those an older store left are
    kept; a count_window table from before its times were numbered (issue 9) gains the two
    columns, whose defaults say what it holds (every time in the row, from match 0 on)."""
    _apply(connection, _WINDOW_TABLES_8)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(count_window)")}
    for column, statement in _NUMBERED_TIMES.items():
        if column not in columns:
            connection.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    # 1: the alerts and the outbox, as alertd 0.1 made them (a database from then already has
    # them; IF NOT EXISTS leaves those alone).
    """
    CREATE TABLE IF NOT EXISTS alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        rule_name TEXT NOT NULL,
        priority TEXT NOT NULL,
        key TEXT NOT NULL,
        event TEXT NOT NULL,
        fired_at REAL NOT NULL,
        received_at REAL NOT NULL,
        suppressed_count INTEGER NOT NULL,
        labels TEXT NOT NULL,
        count_events TEXT NOT NULL,
        description TEXT NOT NULL,
        notify TEXT NOT NULL,
        template TEXT,
        acked_at REAL,
        acked_by TEXT
    );
    CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule_id, id);

    CREATE TABLE IF NOT EXISTS outbox (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, never reused
        id              TEXT NOT NULL,                      -- <alert id>.<n>
        alert_id        TEXT NOT NULL,
        rule_id         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        kind            TEXT NOT NULL,
        recipient       TEXT NOT NULL,
        priority        TEXT NOT NULL,
        content         BLOB NOT NULL,                      -- the rendered message, JSON
        state           TEXT NOT NULL DEFAULT 'pending',
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        receipt         TEXT,
        created_at      REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        sent_at         REAL,
        updated_at      REAL NOT NULL
    );
    -- Also serves "the notifications of alert X": ids are "<alert id>.<n>".
    CREATE UNIQUE INDEX IF NOT EXISTS outbox_id ON outbox (id);
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE state = 'pending';
    """,
    # 2: incidents. An alert's status and who changed it through what; how many notifications
    # it has made (ids <alert id>.<n> count on over its life); the escalation it follows (a
    # snapshot of the policy, and how many steps ran); matches folded into it. Each
    # notification's notice (fired, escalated, resolved). The timeline of changes, and timers.
    """
    ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'firing';
    ALTER TABLE alerts ADD COLUMN acked_via TEXT;
    ALTER TABLE alerts ADD COLUMN resolved_at REAL;
    ALTER TABLE alerts ADD COLUMN resolved_by TEXT;
    ALTER TABLE alerts ADD COLUMN resolved_via TEXT;
    ALTER TABLE alerts ADD COLUMN notifications INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN escalation TEXT;
    ALTER TABLE alerts ADD COLUMN match_count INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE alerts ADD COLUMN last_matched_at REAL;
    ALTER TABLE alerts ADD COLUMN last_event TEXT;
    UPDATE alerts SET status = 'acked', acked_via = 'api' WHERE acked_at IS NOT NULL;
    UPDATE alerts SET notifications = (
        SELECT count(*) FROM outbox
        WHERE outbox.id > alerts.id || '.' AND outbox.id < alerts.id || '/'
    );
    CREATE INDEX alerts_by_status ON alerts (status, id);

    ALTER TABLE outbox ADD COLUMN notice TEXT NOT NULL DEFAULT 'fired';

    CREATE TABLE timeline (
        seq INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        at REAL NOT NULL,
        action TEXT NOT NULL,
        by TEXT,
        via TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX timeline_by_alert ON timeline (alert_id, seq);
    INSERT INTO timeline (alert_id, at, action, by, via)
        SELECT id, acked_at, 'acked', acked_by, 'api' FROM alerts WHERE acked_at IS NOT NULL;

    -- Due is wall time, computed on the daemon's steady clock (alertd.clock.SteadyClock).
    CREATE TABLE timers (
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        due REAL NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (kind, ref)
    ) WITHOUT ROWID;
    CREATE INDEX timers_by_due ON timers (due);
    """,
    # 3: answering a page by SMS. The reply code each phone number was given for an alert
    # (`Reply 12a to ack`): per number, the lowest free one. Resolving the alert frees its
    # codes (`freed_at`); a freed row stays, so that a late reply to it can be told the alert
    # is resolved, until the number's next alert takes the code.
    """
    CREATE TABLE reply_codes (
        number TEXT NOT NULL,
        code INTEGER NOT NULL,
        alert_id TEXT NOT NULL,
        given_at REAL NOT NULL,
        freed_at REAL,
        PRIMARY KEY (number, code)
    ) WITHOUT ROWID;
    CREATE INDEX reply_codes_by_alert ON reply_codes (alert_id);
    """,
    # 4: silences (alertd.silences). A silence's matchers are JSON ([{name, value, regex,
    # equal}]); its times are wall time; expiring one sets its end to the moment it was
    # expired. `created_via` is api, cli or web. An alert a silence or maintenance window
    # covered names it in `silenced_by` (a silence id, or `maintenance:NAME`).
    """
    CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        created_via TEXT NOT NULL,
        comment TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX silences_by_end ON silences (ends_at);

    ALTER TABLE alerts ADD COLUMN silenced_by TEXT;
    """,
    # 5: how far the daemon's steady clock, on which timers are due, is ahead of the wall
    # clock (alertd.clock.SteadyClock): no row until the wall clock is stepped while it runs.
    """
    CREATE TABLE steady_clock (only INTEGER PRIMARY KEY CHECK (only = 0), ahead REAL NOT NULL);
    """,
    # 6: storms (alertd.storms). A notification held back (a group's wait, a per-recipient
    # cap, quiet hours, a digest) is an outbox row in state `held`, `hold` naming what holds
    # it (`<timer kind>:<timer ref>`), its release time in `next_attempt_at`. Released with
    # others, it becomes `bundled` into the message that lists them (`bundle`, that row's id),
    # whose `alerts` lists the alert ids it tells of. `sends` is what each recipient of a
    # capped channel was sent, for its cap.
    """
    ALTER TABLE outbox ADD COLUMN hold TEXT;
    ALTER TABLE outbox ADD COLUMN bundle TEXT;
    ALTER TABLE outbox ADD COLUMN alerts TEXT;
    CREATE INDEX outbox_held ON outbox (hold, seq) WHERE state = 'held';
    CREATE INDEX outbox_bundle ON outbox (bundle) WHERE bundle IS NOT NULL;

    CREATE TABLE sends (
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX sends_by_recipient ON sends (channel, recipient, at);
    """,
    # 7: the open alert of each key of a rule with a `resolve` clause: later matches of the key
    # fold into it until it resolves (alertd.incidents.resolving). Read into memory when the
    # store opens, like the windows (alertd.engine.sqlite_store).
    """
    CREATE TABLE open_alert (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        PRIMARY KEY (rule_id, key)
    ) WITHOUT ROWID;
    """,
    # 8: finished notifications found by when they finished, so that the sweep's purge of
    # those past retention costs what it deletes, not a scan of the whole outbox (90 ms for
    # 60,000 rows sent in a flood: bench/README.md, "A flood of keys").
    """
    CREATE INDEX outbox_finished ON outbox (updated_at) WHERE state NOT IN ('pending', 'held');
    """,
    # 9: the windows' tables, made by the store until now (see `_take_over_windows`).
    _take_over_windows,
    # 10: suppression and counting windows keyed by key first. A batch writes the windows of
    # the keys its events carry; keyed by rule first, each (rule, key) it wrote was a leaf page
    # of its own, keyed by key first a key's windows of every rule share one (a steady batch:
    # 1,370 pages -> 999 for suppression alone, 68.2 -> 61.7 us of CPU an event with both:
    # bench/README.md, "A leaner daemon path"). The rows' columns stay in their order; a
    # counting window's chunk rows, seldom written, stay keyed by rule.
    """
    CREATE TABLE suppression_by_key (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fired_at REAL NOT NULL,
        until REAL NOT NULL,
        suppressed INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (key, rule_id)
    ) WITHOUT ROWID;
    INSERT INTO suppression_by_key (rule_id, key, fired_at, until, suppressed, expires_at)
        SELECT rule_id, key, fired_at, until, suppressed, expires_at FROM suppression;
    DROP TABLE suppression;
    ALTER TABLE suppression_by_key RENAME TO suppression;

    CREATE TABLE count_window_by_key (
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        within REAL NOT NULL,
        times TEXT NOT NULL,
        events TEXT NOT NULL,
        expires_at REAL NOT NULL,
        first INTEGER NOT NULL DEFAULT 0,
        tail_from INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key, rule_id)
    ) WITHOUT ROWID;
    INSERT INTO count_window_by_key
        (rule_id, key, within, times, events, expires_at, first, tail_from)
        SELECT rule_id, key, within, times, events, expires_at, first, tail_from
        FROM count_window;
    DROP TABLE count_window;
    ALTER TABLE count_window_by_key RENAME TO count_window;
    """,
)
"""Migration n (1-based) brings a database from user_version n-1 to n."""

VERSION = len(MIGRATIONS)


def migrate(
    connection: sqlite3.Connection | PgConnection, path: object = "the state database"
) -> int:
    """Apply the migrations `connection`'s database lacks, in one transaction; return the
    version it had before. Raises StateStoreError (changing nothing) when the database is
    newer than this alertd or a migration fails."""
    if not isinstance(connection, sqlite3.Connection):
        return migrate_postgres(connection)
    try:
        connection.execute("BEGIN IMMEDIATE")  # two openers at once: one migrates, one waits
        try:
            (before,) = connection.execute("PRAGMA user_version").fetchone()
            if before > VERSION:
                raise StateStoreError(
                    f"{path}: made by a newer alertd (schema version {before}; this one knows up "
                    f"to {VERSION}); run that alertd, or restore a backup"
                )
            for number in range(before + 1, VERSION + 1):
                _apply(connection, MIGRATIONS[number - 1])
            if before != VERSION:
                connection.execute(f"PRAGMA user_version = {VERSION:d}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StateStoreError(f"{path}: cannot bring the state database up to date: {exc}") from exc
    return int(before)


def _apply(connection: sqlite3.Connection, migration: Migration) -> None:
    """Run a migration inside the open transaction (executescript would commit it first)."""
    if callable(migration):
        migration(connection)
        return
    for statement in _statements(migration):
        connection.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of a script: split where sqlite3.complete_statement says one ends."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not _only_comments(current):
        raise StateStoreError(f"an incomplete statement in a migration: {current.strip()!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


POSTGRES_MIGRATIONS: tuple[str, ...] = (
    # 1: every table of SQLite's migrations 1 to 7, as they are now, and the windows' tables
    # (alertd.engine.sqlite_store). Text that is compared or sorted (ids, keys) sorts by its
    # bytes, as in SQLite ("C"): `<alert id>.` < `<alert id>.<n>` < `<alert id>/`. An outbox
    # row has a claim (`claimed_by`, `claim_expires_at`): the daemon that sends it, when
    # several share the database (alertd.notify.outbox).
    """
    CREATE TABLE alerts (
        id TEXT COLLATE "C" PRIMARY KEY,
        rule_id TEXT COLLATE "C" NOT NULL,
        rule_name TEXT NOT NULL,
        priority TEXT NOT NULL,
        key TEXT NOT NULL,
        event TEXT NOT NULL,
        fired_at DOUBLE PRECISION NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        suppressed_count BIGINT NOT NULL,
        labels TEXT NOT NULL,
        count_events TEXT NOT NULL,
        description TEXT NOT NULL,
        notify TEXT NOT NULL,
        template TEXT,
        acked_at DOUBLE PRECISION,
        acked_by TEXT,
        status TEXT NOT NULL DEFAULT 'firing',
        acked_via TEXT,
        resolved_at DOUBLE PRECISION,
        resolved_by TEXT,
        resolved_via TEXT,
        notifications BIGINT NOT NULL DEFAULT 0,
        escalation TEXT,
        match_count BIGINT NOT NULL DEFAULT 1,
        last_matched_at DOUBLE PRECISION,
        last_event TEXT,
        silenced_by TEXT
    );
    CREATE INDEX alerts_by_rule ON alerts (rule_id, id);
    CREATE INDEX alerts_by_status ON alerts (status, id);

    CREATE TABLE outbox (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL,
        alert_id TEXT COLLATE "C" NOT NULL,
        rule_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        priority TEXT NOT NULL,
        content BYTEA NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        receipt TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        sent_at DOUBLE PRECISION,
        updated_at DOUBLE PRECISION NOT NULL,
        notice TEXT NOT NULL DEFAULT 'fired',
        hold TEXT,
        bundle TEXT,
        alerts TEXT,
        claimed_by TEXT,
        claim_expires_at DOUBLE PRECISION
    );
    CREATE UNIQUE INDEX outbox_id ON outbox (id);
    CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';
    CREATE INDEX outbox_held ON outbox (hold, seq) WHERE state = 'held';
    CREATE INDEX outbox_bundle ON outbox (bundle) WHERE bundle IS NOT NULL;

    CREATE TABLE timeline (
        seq BIGSERIAL PRIMARY KEY,
        alert_id TEXT COLLATE "C" NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        action TEXT NOT NULL,
        by TEXT,
        via TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX timeline_by_alert ON timeline (alert_id, seq);

    CREATE TABLE timers (
        kind TEXT COLLATE "C" NOT NULL,
        ref TEXT COLLATE "C" NOT NULL,
        due DOUBLE PRECISION NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (kind, ref)
    );
    CREATE INDEX timers_by_due ON timers (due);

    CREATE TABLE reply_codes (
        number TEXT COLLATE "C" NOT NULL,
        code BIGINT NOT NULL,
        alert_id TEXT COLLATE "C" NOT NULL,
        given_at DOUBLE PRECISION NOT NULL,
        freed_at DOUBLE PRECISION,
        PRIMARY KEY (number, code)
    );
    CREATE INDEX reply_codes_by_alert ON reply_codes (alert_id);

    CREATE TABLE silences (
        id TEXT COLLATE "C" PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at DOUBLE PRECISION NOT NULL,
        ends_at DOUBLE PRECISION NOT NULL,
        created_by TEXT NOT NULL,
        created_via TEXT NOT NULL,
        comment TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX silences_by_end ON silences (ends_at);

    CREATE TABLE steady_clock (
        "only" INTEGER PRIMARY KEY CHECK ("only" = 0),
        ahead DOUBLE PRECISION NOT NULL
    );

    CREATE TABLE sends (
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX sends_by_recipient ON sends (channel, recipient, at);

    CREATE TABLE open_alert (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        alert_id TEXT NOT NULL,
        PRIMARY KEY (rule_id, key)
    );

    CREATE TABLE alert_changes (
        seq BIGSERIAL PRIMARY KEY,
        alert_id TEXT COLLATE "C" NOT NULL,
        change TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX alert_changes_by_time ON alert_changes (at);

    CREATE TABLE state_probe ("only" INTEGER PRIMARY KEY, at DOUBLE PRECISION NOT NULL);

    CREATE TABLE suppression (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        fired_at DOUBLE PRECISION NOT NULL,
        until DOUBLE PRECISION NOT NULL,
        suppressed BIGINT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (rule_id, key)
    );
    CREATE INDEX suppression_expiry ON suppression (expires_at);

    CREATE TABLE count_window (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        within DOUBLE PRECISION NOT NULL,
        times TEXT NOT NULL,
        events TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        first BIGINT NOT NULL DEFAULT 0,
        tail_from BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (rule_id, key)
    );
    CREATE INDEX count_window_expiry ON count_window (expires_at);

    CREATE TABLE count_window_chunk (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        first BIGINT NOT NULL,
        times TEXT NOT NULL,
        PRIMARY KEY (rule_id, key, first)
    );

    CREATE TABLE key_state (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        newest DOUBLE PRECISION NOT NULL,
        start DOUBLE PRECISION,
        kept TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (rule_id, key)
    );
    CREATE INDEX key_state_expiry ON key_state (expires_at);

    CREATE TABLE absence (
        rule_id TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        last DOUBLE PRECISION NOT NULL,
        alert_id TEXT,
        event TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (rule_id, key)
    );
    CREATE INDEX absence_expiry ON absence (expires_at);

    CREATE TABLE window_version (
        "only" INTEGER PRIMARY KEY CHECK ("only" = 0),
        version BIGINT NOT NULL
    );
    INSERT INTO window_version VALUES (0, 0);
    """,
    # 2: SQLite's 8: finished notifications found by when they finished, for the sweep's purge.
    """
    CREATE INDEX outbox_finished ON outbox (updated_at) WHERE state NOT IN ('pending', 'held');
    """,
    # 3: the alert change feed across daemons (alertd.feed): each change keeps the id of the
    # transaction that wrote it, the feed's order is (that id, seq).
    """
    ALTER TABLE alert_changes
        ADD COLUMN xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
    CREATE INDEX alert_changes_in_order ON alert_changes (xid, seq);
    """,
)
"""PostgreSQL's migration n (1-based) brings a database from schema_version n-1 to n."""

POSTGRES_VERSION = len(POSTGRES_MIGRATIONS)

MIGRATION_LOCK = 0x616C657274640001
"""The advisory lock key every alertd takes to migrate a PostgreSQL database ("alertd", 1)."""


def migrate_postgres(connection: PgConnection) -> int:
    """Apply the migrations the connection's database lacks, in one transaction, under an
    advisory lock: several nodes starting together migrate once, the others wait and find it
    done. Return the version it had before. Raises StateStoreError (changing nothing) when the
    database is newer than this alertd or a migration fails."""
    connection.execute("BEGIN")
    try:
        connection.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            ' ("only" INTEGER PRIMARY KEY CHECK ("only" = 0), version INTEGER NOT NULL)'
        )
        row = connection.execute("SELECT version FROM schema_version").fetchone()
        before = 0 if row is None else int(row[0])
        if before > POSTGRES_VERSION:
            raise StateStoreError(
                f"{connection.name}: made by a newer alertd (schema version {before}; this one"
                f" knows up to {POSTGRES_VERSION}); run that alertd, or restore a backup"
            )
        for number in range(before + 1, POSTGRES_VERSION + 1):
            connection.execute(POSTGRES_MIGRATIONS[number - 1])
        if before != POSTGRES_VERSION:
            connection.execute(
                "INSERT OR REPLACE INTO schema_version VALUES (0, ?)", (POSTGRES_VERSION,)
            )
        connection.execute("COMMIT")
    except BaseException:
        connection.rollback()
        raise
    return before
