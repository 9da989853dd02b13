"""Weekly maintenance windows in local time, across DST changes and midnight, worked out by hand."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alertd.oncall import (
    ActiveMaintenance,
    Maintenance,
    Matcher,
    OnCall,
    Window,
    active_maintenance,
    next_maintenance_change,
    next_window,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
NORTH = (Matcher("depot", "north"),)
MON, SAT, SUN = 0, 5, 6


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(
    zone: ZoneInfo, days: set[int], start: str, hours: float, name: str = "m"
) -> Maintenance:
    opens = time.fromisoformat(start)
    return Maintenance(name, zone, frozenset(days), opens, timedelta(hours=hours), NORTH)


SUNDAY_NIGHT = window(AMSTERDAM, {SUN}, "02:00", 4)  # "02:00-06:00"


def test_a_sunday_window_on_an_ordinary_sunday() -> None:
    assert next_window(SUNDAY_NIGHT, z("2026-03-20T00:00")) == Window(
        z("2026-03-22T01:00"), z("2026-03-22T05:00")
    )


def test_a_window_starting_at_a_skipped_time_opens_at_the_jump() -> None:
    # 29 March: 02:00 does not exist; it opens at 03:00 CEST and lasts until 06:00 CEST.
    assert next_window(SUNDAY_NIGHT, z("2026-03-28T12:00")) == Window(
        z("2026-03-29T01:00"), z("2026-03-29T04:00")
    )


def test_a_window_over_the_repeated_hour_lasts_an_hour_longer() -> None:
    # 25 October: from the first 02:00 (CEST) to 06:00 CET, five hours.
    assert next_window(SUNDAY_NIGHT, z("2026-10-24T12:00")) == Window(
        z("2026-10-25T00:00"), z("2026-10-25T05:00")
    )


def test_a_window_crossing_midnight_ends_the_next_day() -> None:
    saturday_night = window(NEW_YORK, {SAT}, "22:00", 4)  # "22:00-02:00"
    # Ordinary: Saturday 22:00 EDT to Sunday 02:00 EDT.
    assert next_window(saturday_night, z("2026-10-20T00:00")) == Window(
        z("2026-10-25T02:00"), z("2026-10-25T06:00")
    )
    # Fall back: Sunday's 02:00 comes after the repeated hour, 02:00 EST: five hours.
    assert next_window(saturday_night, z("2026-10-27T00:00")) == Window(
        z("2026-11-01T02:00"), z("2026-11-01T07:00")
    )
    # Spring forward: Sunday's 02:00 is skipped: the window ends at the jump (03:00 EDT).
    assert next_window(saturday_night, z("2026-03-02T00:00")) == Window(
        z("2026-03-08T03:00"), z("2026-03-08T07:00")
    )


def test_an_open_window_is_found_after_midnight_from_the_day_before() -> None:
    saturday_night = window(NEW_YORK, {SAT}, "22:00", 4)
    assert next_window(saturday_night, z("2026-10-25T05:00")) == Window(
        z("2026-10-25T02:00"), z("2026-10-25T06:00")
    )


def test_windows_that_touch_are_one() -> None:
    weekend = window(AMSTERDAM, {SAT, SUN}, "00:00", 24)  # "00:00-24:00"
    assert next_window(weekend, z("2026-06-01T00:00")) == Window(
        z("2026-06-05T22:00"), z("2026-06-07T22:00")
    )


def test_without_days_a_window_opens_every_day() -> None:
    office = window(AMSTERDAM, set(range(7)), "09:00", 8)
    assert next_window(office, z("2026-06-02T16:00")) == Window(
        z("2026-06-03T07:00"), z("2026-06-03T15:00")
    )


def test_a_window_dst_skips_entirely_does_not_open_that_week() -> None:
    short = window(AMSTERDAM, {SUN}, "02:00", 0.5)  # "02:00-02:30"
    assert next_window(short, z("2026-03-29T00:00")) == Window(
        z("2026-04-05T00:00"), z("2026-04-05T00:30")
    )


def test_active_maintenance_names_each_open_window_and_when_it_closes() -> None:
    oncall = OnCall(
        "oncall.toml",
        maintenance={
            "sunday": SUNDAY_NIGHT,
            "mondays": window(AMSTERDAM, {MON}, "02:00", 1, name="mondays"),
        },
    )
    assert active_maintenance(oncall, z("2026-03-29T00:59")) == []
    assert active_maintenance(oncall, z("2026-03-29T01:00")) == [
        ActiveMaintenance("m", NORTH, z("2026-03-29T04:00"))
    ]
    assert active_maintenance(oncall, z("2026-03-29T04:00")) == []


def test_next_maintenance_change_is_the_next_opening_or_closing() -> None:
    oncall = OnCall("oncall.toml", maintenance={"sunday": SUNDAY_NIGHT})
    assert next_maintenance_change(oncall, z("2026-03-28T12:00")) == z("2026-03-29T01:00")
    assert next_maintenance_change(oncall, z("2026-03-29T01:00")) == z("2026-03-29T04:00")
    assert next_maintenance_change(oncall, z("2026-03-29T04:00")) == z("2026-04-05T00:00")
    assert next_maintenance_change(OnCall("oncall.toml"), z("2026-03-29T04:00")) is None
