"""Reading event time from a timestamp field: ISO-8601 and epoch units, and clear errors."""

from __future__ import annotations

import pytest

from alertd.engine.errors import EventTimeError
from alertd.engine.eventtime import event_time, format_time, parse_event_time

TEN_AM = 1_767_261_600.0  # 2026-01-01T10:00:00Z


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:00:00.000Z",
        "2026-01-01 10:00:00Z",
        "2026-01-01T11:30:00+01:30",
        "2026-01-01T05:00:00-05:00",
        "  2026-01-01T10:00:00+00:00 ",
        1_767_261_600,
        1_767_261_600.0,
        1_767_261_600_000,
        1_767_261_600_000_000,
        1_767_261_600_000_000_000,
        "1767261600",
        "1767261600000",
    ],
)
def test_iso_and_epoch_spellings_of_the_same_instant(value: object) -> None:
    assert parse_event_time(value) == TEN_AM


def test_fractions_are_kept() -> None:
    assert parse_event_time("2026-01-01T10:00:00.250Z") == TEN_AM + 0.25
    assert parse_event_time(1_767_261_600_250) == TEN_AM + 0.25
    assert parse_event_time(1_767_261_600.5) == TEN_AM + 0.5


def test_digits_alone_are_epoch_time_even_where_iso_would_read_a_date() -> None:
    assert parse_event_time("20260101") == 20_260_101.0


def test_seconds_and_milliseconds_are_told_apart_by_size() -> None:
    assert parse_event_time(99_999_999_999) == 99_999_999_999.0  # seconds: year 5138
    assert parse_event_time(100_000_000_000) == 100_000_000.0  # milliseconds: 1973


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2026-01-01T10:00:00",
            "timestamp: '2026-01-01T10:00:00' has no time zone; "
            "add Z for UTC or an offset such as +02:00",
        ),
        (
            "yesterday",
            "timestamp: 'yesterday' is not an ISO-8601 time such as 2026-01-01T10:00:00Z, "
            "nor epoch seconds or milliseconds",
        ),
        (
            "2026-13-01T00:00:00Z",
            "timestamp: '2026-13-01T00:00:00Z' is not an ISO-8601 time such as "
            "2026-01-01T10:00:00Z, nor epoch seconds or milliseconds",
        ),
        (
            True,
            "timestamp: expected an ISO-8601 time or epoch seconds or milliseconds, "
            "got the boolean true",
        ),
        (
            [1, 2],
            "timestamp: expected an ISO-8601 time or epoch seconds or milliseconds, got an array",
        ),
        (
            {"s": 1},
            "timestamp: expected an ISO-8601 time or epoch seconds or milliseconds, got an object",
        ),
        (-5, "timestamp: -5 is not a time after 1970-01-01"),
        (float("nan"), "timestamp: nan is not a time after 1970-01-01"),
        (float("inf"), "timestamp: inf is not a time after 1970-01-01"),
        (1e30, "timestamp: 1e+30 is beyond the year 9999"),
    ],
)
def test_what_is_not_a_time_gets_a_clear_error(value: object, message: str) -> None:
    with pytest.raises(EventTimeError) as caught:
        parse_event_time(value)
    assert str(caught.value) == message


def test_a_very_long_bad_string_is_shortened_in_the_message() -> None:
    with pytest.raises(EventTimeError) as caught:
        parse_event_time("x" * 10_000)
    assert len(str(caught.value)) < 200


def test_the_error_names_the_configured_field() -> None:
    with pytest.raises(EventTimeError, match=r"^ts: "):
        event_time({"ts": "soon"}, "ts", arrival=0.0)


def test_missing_or_null_timestamps_take_the_arrival_time() -> None:
    assert event_time({}, "timestamp", arrival=42.0) == 42.0
    assert event_time({"timestamp": None}, "timestamp", arrival=42.0) == 42.0


def test_format_time_is_utc_iso_with_milliseconds_only_when_needed() -> None:
    assert format_time(TEN_AM) == "2026-01-01T10:00:00Z"
    assert format_time(TEN_AM + 0.25) == "2026-01-01T10:00:00.250Z"
