"""The state database across upgrades: a database made by alertd 0.1 (schema version 0, no
migrations) opens with its alerts, acks, notifications and windows, and carries on; opening
again changes nothing; a database from a newer alertd is refused, untouched."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.clock import FakeClock
from alertd.config import ConfigError, load_settings
from alertd.engine.errors import StateStoreError
from alertd.engine.pg_store import PostgresStore
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import AlertQuery
from alertd.engine.windows import window_events, window_times
from alertd.migrations import MIGRATIONS, POSTGRES_VERSION, VERSION, migrate
from alertd.pgdb import connect
from alertd.pipeline import Pipeline
from tests.test_pipeline import settings_in

VERSION_0 = """
CREATE TABLE suppression (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, fired_at REAL NOT NULL, until REAL NOT NULL,
    suppressed INTEGER NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE INDEX suppression_expiry ON suppression (expires_at);
CREATE TABLE count_window (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, within REAL NOT NULL, times TEXT NOT NULL,
    events TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE INDEX count_window_expiry ON count_window (expires_at);
CREATE TABLE window_version (only INTEGER PRIMARY KEY CHECK (only = 0), version INTEGER NOT NULL);
INSERT INTO window_version VALUES (0, 0);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, rule_name TEXT NOT NULL, priority TEXT NOT NULL,
    key TEXT NOT NULL, event TEXT NOT NULL, fired_at REAL NOT NULL, received_at REAL NOT NULL,
    suppressed_count INTEGER NOT NULL, labels TEXT NOT NULL, count_events TEXT NOT NULL,
    description TEXT NOT NULL, notify TEXT NOT NULL, template TEXT, acked_at REAL, acked_by TEXT
);
CREATE INDEX alerts_by_rule ON alerts (rule_id, id);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, alert_id TEXT NOT NULL,
    rule_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, recipient TEXT NOT NULL,
    priority TEXT NOT NULL, content BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, receipt TEXT,
    created_at REAL NOT NULL, next_attempt_at REAL NOT NULL, sent_at REAL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX outbox_id ON outbox (id);
CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';
"""
"""The tables exactly as alertd 0.1 (main before the incidents work) made them."""

T0 = FakeClock().now()
FIRING = "01KDX0000000000000000FIRE1"
ACKED = "01KDX0000000000000000ACKED"


def made_by_0_1(path: Path) -> None:
    """A state database as alertd 0.1 left it: two alerts of the rule `breakdown` (one acked),
    their webhook notifications (two for the first, sent; one for the second, pending), and a
    suppression window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(VERSION_0)
    event = '{"type":"breakdown","vehicle_id":"%s"}'
    alert = ("breakdown", "Vehicle Breakdown", "high", '["v1"]')
    rest = (T0, T0, 0, "{}", "[]", "", '[["webhook",[]]]', None)
    insert = "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    db.execute(insert, (FIRING, *alert, event % "v1", *rest, None, None))
    db.execute(insert, (ACKED, *alert, event % "v2", *rest, T0 + 60, "ana"))
    for number, (alert_id, recipient, state) in enumerate(
        [
            (FIRING, "http://127.0.0.1:9/a", "sent"),
            (FIRING, "http://127.0.0.1:9/b", "sent"),
            (ACKED, "http://127.0.0.1:9/a", "pending"),
        ]
    ):
        n = 1 if alert_id == ACKED else number + 1
        db.execute(
            "INSERT INTO outbox (id, alert_id, rule_id, channel, kind, recipient, priority,"
            " content, state, created_at, next_attempt_at, updated_at)"
            " VALUES (?, ?, 'breakdown', 'webhook', 'webhook', ?, 'high', ?, ?, ?, ?, ?)",
            (f"{alert_id}.{n}", alert_id, recipient, b'{"body": "{}"}', state, T0, T0, T0),
        )
    db.execute("INSERT INTO suppression VALUES ('breakdown', '[\"v1\"]', ?, ?, 0, ?)", (
        T0, T0 + 600, T0 + 1200,
    ))  # fmt: skip
    db.commit()
    db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        return int(version)
    finally:
        db.close()


async def test_a_database_of_alertd_0_1_opens_with_everything_it_held(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    made_by_0_1(settings.state.path)
    clock = FakeClock(T0 + 120)
    pipeline = Pipeline(settings, clock)
    try:
        assert user_version(settings.state.path) == VERSION
        page = await pipeline.alerts(AlertQuery())
        assert [(r.alert.id, r.status, r.acked_by, r.acked_via) for r in page.records] == [
            (FIRING, "firing", None, None),
            (ACKED, "acked", "ana", "api"),
        ]
        acked = await pipeline.alert(ACKED)
        assert acked is not None
        assert [(e.action, e.by) for e in acked.timeline] == [
            ("fired", "breakdown"),
            ("notified", None),
            ("acked", "ana"),
        ]
        assert [(d.notice, d.state) for d in acked.deliveries] == [("fired", "pending")]
        # The suppression window still holds: the same vehicle again is suppressed.
        assert await pipeline.ingest([{"type": "breakdown", "vehicle_id": "v1"}], T0 + 130) == []

        # Resolving tells both addresses the old alert paged, numbered after its two.
        resolved = await pipeline.act(FIRING, "resolve", "bob", "api")
        assert resolved is not None and resolved.changed
        assert [(d.id, d.notice, d.recipient) for d in resolved.detail.deliveries] == [
            (f"{FIRING}.1", "fired", "http://127.0.0.1:9/a"),
            (f"{FIRING}.2", "fired", "http://127.0.0.1:9/b"),
            (f"{FIRING}.3", "resolved", "http://127.0.0.1:9/a"),
            (f"{FIRING}.4", "resolved", "http://127.0.0.1:9/b"),
        ]
    finally:
        pipeline.close()
    reopened = SQLiteStore(settings.state.path)  # a second open migrates nothing
    record = reopened.get_alert(FIRING)
    assert record is not None and (record.status, record.notifications) == ("resolved", 4)
    reopened.close()


def test_migrating_is_idempotent_and_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "alertd.db"
    made_by_0_1(path)
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db) == 0
    assert migrate(db) == VERSION
    db.close()
    broken = tmp_path / "broken.db"
    made_by_0_1(broken)
    db = sqlite3.connect(broken, isolation_level=None)
    db.execute("ALTER TABLE alerts ADD COLUMN resolved_by TEXT")  # migration 2 will clash
    with pytest.raises(StateStoreError, match="cannot bring the state database up to date"):
        migrate(db)
    assert db.execute("PRAGMA user_version").fetchone() == (0,)
    assert "status" not in {row[1] for row in db.execute("PRAGMA table_info(alerts)")}
    db.close()


def test_a_database_from_a_newer_alertd_is_refused_untouched(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    made_by_0_1(settings.state.path)
    db = sqlite3.connect(settings.state.path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(ConfigError) as refused:
        Pipeline(settings, FakeClock())
    assert f"made by a newer alertd (schema version {VERSION + 1}; " in str(refused.value)
    assert user_version(settings.state.path) == VERSION + 1


def _config(tmp_path: Path, state: str) -> Path:
    config = tmp_path / "alertd.toml"
    config.write_text(f'[state]\npath = "var/alertd.db"\n{state}\n')
    return config


def test_alertd_migrate_says_what_it_applied_to_a_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "")
    assert main(["migrate", "-c", str(config)]) == 0
    database = tmp_path / "var" / "alertd.db"
    assert capsys.readouterr().out == (
        f"{database}: applied migrations 1 to {VERSION} (schema version 0 -> {VERSION})\n"
    )
    assert main(["migrate", "-c", str(config)]) == 0
    assert capsys.readouterr().out == (
        f"{database}: up to date (schema version {VERSION}); nothing applied\n"
    )


def test_alertd_migrate_says_what_it_applied_to_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    config = _config(tmp_path, f'url = "{postgres_url}"')
    assert main(["migrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        f": applied migrations 1 to {POSTGRES_VERSION} (schema version 0 -> {POSTGRES_VERSION})\n"
    )
    assert main(["migrate", "-c", str(config)]) == 0
    assert capsys.readouterr().out.endswith(
        f": up to date (schema version {POSTGRES_VERSION}); nothing applied\n"
    )
    assert not (tmp_path / "var").exists()  # no SQLite file was made


def test_postgresql_refuses_a_database_from_a_newer_alertd(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    connection = connect(postgres_url)
    connection.execute("UPDATE schema_version SET version = ?", (POSTGRES_VERSION + 1,))
    with pytest.raises(StateStoreError, match="made by a newer alertd"):
        PostgresStore(postgres_url)
    connection.close()


def test_nodes_starting_together_migrate_once(postgres_url: str) -> None:
    """The advisory lock: several stores opening a fresh database at once all start, on one
    schema made once (a race would fail one of them on a table that already exists)."""
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore(postgres_url), range(4)))
    for store in stores:
        store.close()


def test_a_bad_state_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[state\] url: expected a postgresql:// URL"):
        load_settings(_config(tmp_path, 'url = "mysql://root:secret@db/alertd"'))
    try:
        load_settings(_config(tmp_path, 'url = "mysql://root:secret@db/alertd"'))
    except ConfigError as error:
        assert "secret" not in str(error)


WINDOWS_8 = """
CREATE TABLE suppression (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, fired_at REAL NOT NULL, until REAL NOT NULL,
    suppressed INTEGER NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE TABLE count_window (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, within REAL NOT NULL, times TEXT NOT NULL,
    events TEXT NOT NULL, expires_at REAL NOT NULL, first INTEGER NOT NULL DEFAULT 0,
    tail_from INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE TABLE count_window_chunk (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, first INTEGER NOT NULL, times TEXT NOT NULL,
    PRIMARY KEY (rule_id, key, first)
) WITHOUT ROWID;
CREATE TABLE key_state (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, newest REAL NOT NULL, start REAL,
    kept TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE TABLE absence (
    rule_id TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL, alert_id TEXT,
    event TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE TABLE window_version (only INTEGER PRIMARY KEY CHECK (only = 0), version INTEGER NOT NULL);
INSERT INTO window_version VALUES (0, 7);
"""
"""The windows' tables as the store made them itself, up to schema version 8."""


def primary_key(db: sqlite3.Connection, table: str) -> list[str]:
    """A WITHOUT ROWID table's primary key columns, in the key's order."""
    [(index,)] = db.execute(
        "SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'", (table,)
    ).fetchall()
    return [name for _, _, name in db.execute(f"PRAGMA index_info({index})")]


def test_a_database_of_schema_8_opens_with_every_window_it_held(tmp_path: Path) -> None:
    """Migration 9 takes the windows' tables over from the store, 10 keys suppression and
    counting windows by key first: every window of every kind is there after, and the daemon
    goes on with them."""
    path = tmp_path / "alertd.db"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:8]:
        assert isinstance(script, str)
        db.executescript(script)
    db.executescript(WINDOWS_8)
    suppressions = [
        ("crit", f'["v{n}"]', T0 + n, T0 + 300 + n, n % 3, T0 + 600 + n) for n in range(50)
    ]
    suppressions.append(("other", '["v1"]', T0, T0 + 60, 0, T0 + 60))
    db.executemany("INSERT INTO suppression VALUES (?, ?, ?, ?, ?, ?)", suppressions)
    chunked = [T0 + n for n in range(300)]  # 256 times in a chunk row, 44 in the window's row
    db.execute(
        "INSERT INTO count_window VALUES ('many', '[\"v1\"]', 600, ?, '[{\"n\":299}]', ?, 0, 256)",
        (json.dumps(chunked[256:]), T0 + 899),
    )
    db.execute(
        "INSERT INTO count_window_chunk VALUES ('many', '[\"v1\"]', 0, ?)",
        (json.dumps(chunked[:256]),),
    )
    db.execute(
        "INSERT INTO count_window VALUES ('many', '[\"v2\"]', 600, ?, '[]', ?, 0, 0)",
        (json.dumps([T0, T0 + 1]), T0 + 601),
    )
    db.execute("INSERT INTO key_state VALUES ('rise', '[\"v1\"]', ?, NULL, '[1, 2]', ?)", (
        T0, T0 + 60,
    ))  # fmt: skip
    db.execute("INSERT INTO absence VALUES ('quiet', '[\"v1\"]', ?, NULL, '{}', ?)", (
        T0, T0 + 600,
    ))  # fmt: skip
    db.execute("PRAGMA user_version = 8")
    db.commit()
    db.close()

    store = SQLiteStore(path)
    try:
        assert user_version(path) == VERSION
        assert primary_key(store.connection, "suppression") == ["key", "rule_id"]
        assert primary_key(store.connection, "count_window") == ["key", "rule_id"]
        crit = store.suppressions("crit")
        assert dict(crit.entries) == {(f"v{n}",): (T0 + n, T0 + 300 + n, n % 3) for n in range(50)}
        assert store.suppressions("other").entries == {("v1",): (T0, T0 + 60, 0)}
        windows = store.count_windows("many").entries
        assert window_times(windows[("v1",)]) == chunked
        assert window_events(windows[("v1",)]) == [{"n": 299}]
        assert window_times(windows[("v2",)]) == [T0, T0 + 1]
        assert store.key_states("rise").entries == {"v1": (T0, None, (1, 2), T0 + 60)}
        assert store.absences("quiet").entries == {("v1",): (T0, None, "{}", T0 + 600)}
        # The windows go on: one suppressed match more is counted in its row, and a sweep past
        # every expiry leaves nothing.
        crit[("v1",)] = (T0 + 1, T0 + 301, 2)
        with store.transaction():
            pass
        row = store.connection.execute(
            "SELECT suppressed FROM suppression WHERE rule_id = 'crit' AND key = '[\"v1\"]'"
        ).fetchone()
        assert row == (2,)
        with store.transaction():
            assert store.sweep(T0 + 10_000) == 55
        assert store.size().suppressions == 0 and store.size().count_windows == 0
    finally:
        store.close()
