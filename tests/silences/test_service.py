"""`Silences` over a real SQLite state file: made, remembered, expired, pruned, read back after a
restart; maintenance windows of oncall.toml cover while open and are listed beside silences."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertd.migrations import migrate
from alertd.oncall import OnCall, parse_oncall
from alertd.silences import Cover, Listed, SilenceRefused, Silences, SilenceTable, read_draft
from alertd.sqlitedb import connect
from tests.notify.conftest import make_alert, make_settings

HOUR = 3600.0
SATURDAY = datetime(2026, 3, 14, 12, 0, tzinfo=UTC).timestamp()  # a Saturday, noon UTC
ONCALL = """
[maintenance.north_depot]
time_zone = "Europe/Amsterdam"
days      = ["sun"]
window    = "02:00-06:00"
matchers  = [{name = "depot", value = "north"}]
comment   = "weekly service"

[maintenance.night]
time_zone = "UTC"
window    = "22:00-02:00"
matchers  = [{name = "rule", value = "speeding"}, {name = "priority", value = "low"}]
"""


def ask(**fields: Any) -> dict[str, Any]:
    return {
        "matchers": [{"name": "vehicle_id", "value": "v-9"}],
        "ends_at": "2026-03-14T14:00:00Z",
        "created_by": "alice",
        "comment": "in the workshop",
        **fields,
    }


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "alertd.db"
    connection = connect(path)
    migrate(connection)
    connection.close()
    yield path


def opened(path: Path, oncall: OnCall | None = None, now: float = SATURDAY) -> Silences:
    silences = Silences(SilenceTable(connect(path)), oncall)
    silences.load(now)
    return silences


def add(silences: Silences, silence_id: str, now: float = SATURDAY, **fields: Any) -> None:
    silence = read_draft(ask(**fields), now, silence_id)
    connection: sqlite3.Connection = silences.table.connection
    connection.execute("BEGIN")
    silences.table.add(silence)
    connection.execute("COMMIT")
    silences.remember(silence)


def oncall(tmp_path: Path) -> OnCall:
    found, errors = parse_oncall(ONCALL, "oncall.toml", make_settings(tmp_path))
    assert errors == []
    return found


V9 = make_alert(event={"vehicle_id": "v-9", "depot": "south"})
V10 = make_alert(event={"vehicle_id": "v-10", "depot": "north"})


def test_a_silence_covers_from_its_start_to_its_end_and_survives_a_restart(database: Path) -> None:
    silences = opened(database)
    add(silences, "S1", starts_at="2026-03-14T13:00:00Z")
    assert silences.covering(V9, SATURDAY) is None  # pending
    cover = silences.covering(V9, SATURDAY + HOUR)
    assert cover == Cover("S1", "alice", "api", "in the workshop")
    assert silences.covering(V10, SATURDAY + HOUR) is None
    assert silences.covering(V9, SATURDAY + 2 * HOUR) is None  # over

    again = opened(database, now=SATURDAY + HOUR / 2)  # a restart reads it back
    assert again.covering(V9, SATURDAY + HOUR) == cover


def test_one_that_was_never_committed_silences_nothing(database: Path) -> None:
    silences = opened(database)
    connection = silences.table.connection
    connection.execute("BEGIN")
    silences.table.add(read_draft(ask(), SATURDAY, "S1"))
    connection.execute("ROLLBACK")  # `remember` is only called after a commit
    assert silences.covering(V9, SATURDAY) is None
    assert silences.listed(SATURDAY) == []


def test_expiring_ends_it_now_and_once(database: Path) -> None:
    silences = opened(database)
    add(silences, "S1")
    add(silences, "S2", starts_at="2026-03-14T13:00:00Z")
    now = SATURDAY + 60
    expired = silences.expire("S1", now)
    assert expired is not None
    silence, changed = expired
    assert changed and (silence.starts_at, silence.ends_at, silence.updated_at) == (
        SATURDAY,
        now,
        now,
    )
    silences.remember(silence)
    assert silences.covering(V9, now) is None
    pending = silences.expire("S2", now)
    assert pending is not None and (pending[0].starts_at, pending[0].ends_at) == (now, now)
    silences.remember(pending[0])
    again = silences.expire("S1", now + 60)
    assert again is not None and again[1] is False and again[0].ends_at == now
    assert silences.expire("S3", now) is None
    # What the table holds is what `expire` returned.
    assert opened(database).get("S1", now) == Listed(silence, "expired")


def test_listing_order_and_state_filter(database: Path) -> None:
    silences = opened(database)
    add(silences, "S1", ends_at="2026-03-14T15:00:00Z")
    add(silences, "S2", ends_at="2026-03-14T13:00:00Z")
    add(silences, "S3", starts_at="2026-03-14T14:00:00Z", ends_at="2026-03-14T18:00:00Z")
    add(silences, "S4", starts_at="2026-03-14T13:00:00Z", ends_at="2026-03-14T18:00:00Z")
    add(silences, "S5", ends_at="2026-03-14T12:30:00Z")
    add(silences, "S6", ends_at="2026-03-14T12:20:00Z")
    now = SATURDAY + 40 * 60  # 12:40: S5 and S6 are over
    listed = silences.listed(now)
    assert [(item.silence.id, item.state) for item in listed] == [
        ("S2", "active"),  # ends first
        ("S1", "active"),
        ("S4", "pending"),  # starts first
        ("S3", "pending"),
        ("S5", "expired"),  # ended last
        ("S6", "expired"),
    ]
    assert [item.silence.id for item in silences.listed(now, "pending")] == ["S4", "S3"]


def test_expired_silences_are_kept_until_retention(database: Path) -> None:
    silences = opened(database)
    add(silences, "S1", ends_at="2026-03-14T13:00:00Z")
    add(silences, "S2", ends_at="2026-03-14T15:00:00Z")
    after = SATURDAY + 5 * HOUR
    assert silences.prune(after, ended_before=SATURDAY + HOUR) == 0  # ended at 13:00 exactly
    assert silences.prune(after, ended_before=SATURDAY + 2 * HOUR) == 1
    assert [item.silence.id for item in silences.listed(after)] == ["S2"]


def test_maintenance_windows_cover_while_open(database: Path, tmp_path: Path) -> None:
    silences = opened(database, oncall(tmp_path))
    sunday = datetime(2026, 3, 15, 1, 30, tzinfo=UTC).timestamp()  # 02:30 in Amsterdam
    assert silences.covering(V10, SATURDAY) is None
    assert silences.covering(V10, sunday) == Cover(
        "maintenance:north_depot", None, None, "weekly service"
    )
    assert silences.covering(V9, sunday) is None
    assert silences.covering(V10, sunday + 4 * HOUR) is None  # closed at 06:00 (05:00Z)
    speeding = make_alert(rule_id="speeding", priority="low")
    late = datetime(2026, 3, 14, 23, 0, tzinfo=UTC).timestamp()
    assert silences.covering(speeding, late) == Cover("maintenance:night", None, None, "")
    assert silences.covering(make_alert(rule_id="speeding", priority="high"), late) is None
    # Time going back (a replay, a clock stepped back) finds the windows of that time.
    assert silences.covering(V10, SATURDAY) is None


def test_a_silence_wins_over_a_maintenance_window(database: Path, tmp_path: Path) -> None:
    sunday = datetime(2026, 3, 15, 1, 30, tzinfo=UTC).timestamp()
    silences = opened(database, oncall(tmp_path), now=sunday)
    add(silences, "S1", now=sunday, ends_at="2026-03-15T02:00:00Z", matchers=[
        {"name": "depot", "value": "north"}
    ])  # fmt: skip
    cover = silences.covering(V10, sunday)
    assert cover is not None and cover.by == "S1"


def test_maintenance_windows_are_listed_and_cannot_be_expired(
    database: Path, tmp_path: Path
) -> None:
    silences = opened(database, oncall(tmp_path))
    listed = {item.silence.id: item for item in silences.listed(SATURDAY)}
    north = listed["maintenance:north_depot"]
    assert north.state == "pending"
    assert north.silence.kind == "maintenance"
    assert (north.silence.starts_at, north.silence.ends_at) == (
        datetime(2026, 3, 15, 1, 0, tzinfo=UTC).timestamp(),
        datetime(2026, 3, 15, 5, 0, tzinfo=UTC).timestamp(),
    )
    assert north.silence.recurs == "sun 02:00-06:00 Europe/Amsterdam"
    assert north.silence.created_by == "oncall.toml"
    assert listed["maintenance:night"].silence.recurs == "every day 22:00-02:00 UTC"
    assert silences.get("maintenance:north_depot", SATURDAY) == north
    assert silences.get("maintenance:nope", SATURDAY) is None
    with pytest.raises(SilenceRefused, match=r"\[maintenance.north_depot\] there, then reload"):
        silences.expire("maintenance:north_depot", SATURDAY)
    assert silences.expire("maintenance:nope", SATURDAY) is None


def test_a_reload_of_the_oncall_file_takes_effect_at_once(database: Path, tmp_path: Path) -> None:
    sunday = datetime(2026, 3, 15, 1, 30, tzinfo=UTC).timestamp()
    silences = opened(database, oncall(tmp_path), now=sunday)
    assert silences.covering(V10, sunday) is not None
    silences.use_oncall(None)
    assert silences.covering(V10, sunday) is None
    assert silences.listed(sunday) == []
