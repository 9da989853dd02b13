"""Local wall times -> instants: the times DST skips are the jump, the times it repeats are
their first occurrence (alertd.oncall.walltime)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alertd.oncall.walltime import to_instant, to_wall, utc

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "wall", "instant"),
    [
        # Amsterdam springs forward on 2026-03-29 at 02:00 CET (01:00Z) to 03:00 CEST.
        (AMSTERDAM, "2026-03-29T01:59", "2026-03-29T00:59"),
        (AMSTERDAM, "2026-03-29T02:00", "2026-03-29T01:00"),  # skipped: the jump
        (AMSTERDAM, "2026-03-29T02:30", "2026-03-29T01:00"),  # skipped: the jump
        (AMSTERDAM, "2026-03-29T03:00", "2026-03-29T01:00"),
        (AMSTERDAM, "2026-03-29T03:30", "2026-03-29T01:30"),
        # ... and falls back on 2026-10-25 at 03:00 CEST (01:00Z) to 02:00 CET.
        (AMSTERDAM, "2026-10-25T01:59", "2026-10-24T23:59"),
        (AMSTERDAM, "2026-10-25T02:00", "2026-10-25T00:00"),  # twice: the first, CEST
        (AMSTERDAM, "2026-10-25T02:30", "2026-10-25T00:30"),
        (AMSTERDAM, "2026-10-25T03:00", "2026-10-25T02:00"),
        # New York springs forward on 2026-03-08 at 02:00 EST (07:00Z) to 03:00 EDT ...
        (NEW_YORK, "2026-03-08T02:15", "2026-03-08T07:00"),
        (NEW_YORK, "2026-03-08T03:15", "2026-03-08T07:15"),
        # ... and falls back on 2026-11-01 at 02:00 EDT (06:00Z) to 01:00 EST.
        (NEW_YORK, "2026-11-01T01:30", "2026-11-01T05:30"),  # twice: the first, EDT
        (NEW_YORK, "2026-11-01T02:00", "2026-11-01T07:00"),
    ],
)
def test_wall_times_map_to_instants_with_one_rule_for_dst(
    zone: ZoneInfo, wall: str, instant: str
) -> None:
    assert to_instant(datetime.fromisoformat(wall), zone) == at(instant)


def test_lord_howe_skips_and_repeats_half_an_hour() -> None:
    zone = ZoneInfo("Australia/Lord_Howe")  # +10:30, +11 in summer: DST moves 30 minutes
    assert to_instant(datetime(2026, 10, 4, 2, 15), zone) == at("2026-10-03T15:30")
    assert to_instant(datetime(2026, 4, 5, 1, 45), zone) == at("2026-04-04T14:45")


def test_the_order_of_wall_times_is_kept() -> None:
    walls = [datetime(2026, 3, 29, 1, 0) + i * timedelta(minutes=10) for i in range(18)]
    instants = [to_instant(wall, AMSTERDAM) for wall in walls]
    assert instants == sorted(instants)


def test_to_wall_reads_the_clock_on_the_wall() -> None:
    assert to_wall(at("2026-10-25T01:30"), AMSTERDAM) == datetime(2026, 10, 25, 2, 30)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        utc(datetime(2026, 1, 1))
