"""Event time: when an event happened, read from its timestamp field.

Windows run in event time so that replaying a recorded file gives the same decisions as the live
stream did. Accepted values:

- an ISO-8601 / RFC 3339 string with `Z` or a UTC offset (`2026-01-01T10:00:00Z`,
  `2026-01-01 10:00:00.250+02:00`); a string without a zone is an error, because guessing the
  zone would silently move an event by hours;
- epoch time as a number or a string of digits, its unit told apart by size: below 1e11 it is
  seconds (up to the year 5138), below 1e14 milliseconds, below 1e17 microseconds, else
  nanoseconds;
- a missing field or null: the caller's arrival time.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from alertd.engine.errors import EventTimeError, describe_value
from alertd.model import Event

# Epoch values at or above each bound are read in the next smaller unit.
_UNIT_BOUNDS: tuple[tuple[float, float], ...] = ((1e11, 1.0), (1e14, 1e-3), (1e17, 1e-6))
_NANOSECONDS = 1e-9
_MAX_EPOCH = 253_402_300_800.0  # 10000-01-01T00:00:00Z: beyond it no calendar can show the time

_EPOCH_TEXT = re.compile(r"\d+(?:\.\d+)?")
_from_iso = datetime.fromisoformat


def parse_event_time(value: object, field: str = "timestamp") -> float:
    """Seconds since the epoch for a timestamp value. Raises EventTimeError."""
    if value.__class__ is str:
        return _from_text(value, field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventTimeError(
            f"{field}: expected an ISO-8601 time or epoch seconds or milliseconds, "
            f"got {describe_value(value)}"
        )
    return _from_epoch(float(value), value, field)


def event_time(event: Event, field: str, arrival: float) -> float:
    """The time of an event: its `field` if present and not null, else `arrival`."""
    value = event.get(field)
    if value.__class__ is str:  # first, without a call: nearly every timestamp is ISO-8601
        try:
            moment = _from_iso(value)
        except ValueError:
            pass  # perhaps padded, or epoch digits: the general path decides
        else:
            if moment.tzinfo is not None:
                return moment.timestamp()
    elif value is None:
        return arrival
    return parse_event_time(value, field)


def format_time(seconds: float) -> str:
    """An event time for people and reports: `2026-01-01T10:00:00Z`, milliseconds if any."""
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _from_epoch(number: float, original: object, field: str) -> float:
    if not math.isfinite(number) or number < 0:
        raise EventTimeError(f"{field}: {original!r} is not a time after 1970-01-01")
    seconds = number * _NANOSECONDS
    for bound, scale in _UNIT_BOUNDS:
        if number < bound:
            seconds = number * scale
            break
    if seconds >= _MAX_EPOCH:
        raise EventTimeError(f"{field}: {original!r} is beyond the year 9999")
    return seconds


def _from_text(original: str, field: str) -> float:
    text = original.strip()
    try:
        moment = datetime.fromisoformat(text)  # first: nearly every timestamp is ISO-8601
    except ValueError:
        if _EPOCH_TEXT.fullmatch(text):
            return _from_epoch(float(text), original, field)
        raise EventTimeError(
            f"{field}: {_shorten(original)} is not an ISO-8601 time "
            "such as 2026-01-01T10:00:00Z, nor epoch seconds or milliseconds"
        ) from None
    if moment.tzinfo is None:
        if text.isdigit():  # "20260101" is an ISO date, but digits alone are epoch time here
            return _from_epoch(float(text), original, field)
        raise EventTimeError(
            f"{field}: {_shorten(original)} has no time zone; add Z for UTC or an offset "
            "such as +02:00"
        )
    return moment.timestamp()


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
