"""The built-in functions rules may call, with what the checker needs to know about each.

Every implementation takes the rule's mismatch reporter `bad` first, then its arguments; it
never raises. A null argument gives a null result (except `exists` and `coalesce`); an argument
of the wrong kind gives null and is counted as a mismatch.

`hour` and `weekday` read the event's time: the compiler passes the event's timestamp field as
their first argument, so a rule writes `hour()` or `hour("Europe/Paris")`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from alertd.clock import SYSTEM_CLOCK
from alertd.dsl.runtime import NUMBER_TYPES, Reporter
from alertd.engine.errors import EventTimeError
from alertd.engine.eventtime import parse_event_time

ANY: frozenset[str] = frozenset()  # any kind is accepted
STRING = frozenset({"string"})
NUMBER = frozenset({"number"})
LOCATION = frozenset({"object"})

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
MAX_GEOCELL_DIGITS = 6  # 0.000001 degrees is about 0.1 m: finer cells mean nothing for a GPS fix


@dataclass(frozen=True, slots=True)
class Builtin:
    """A built-in function: its implementation and its signature as the checker sees it."""

    name: str
    impl: Callable[..., Any]
    params: tuple[frozenset[str], ...]  # accepted kinds of each argument (ANY: anything)
    returns: str  # the kind of the result: string, number, bool or any
    required: int  # how many of params must be given
    variadic: bool = False  # the last parameter repeats
    pure: bool = True  # same arguments, same result: may be folded when they are literals
    event_time: bool = False  # receives the event's timestamp before its arguments

    def arity_error(self, given: int) -> str | None:
        """The message for a wrong number of arguments, or None when `given` is fine."""
        most = None if self.variadic else len(self.params)
        if given >= self.required and (most is None or given <= most):
            return None
        if most is None:
            expected = f"at least {_arguments(self.required)}"
        elif most == self.required:
            expected = _arguments(most)
        else:
            expected = f"{self.required} or {most} arguments"
        return f"{self.name}() takes {expected}, got {given}"

    def param(self, position: int) -> frozenset[str]:
        return self.params[min(position, len(self.params) - 1)]


def _arguments(n: int) -> str:
    return f"{n} argument" if n == 1 else f"{n} arguments"


def _null(value: Any, bad: Reporter) -> Any:
    """Count the mismatch and give null."""
    bad(value)
    return None


def exists(bad: Reporter, value: Any) -> bool:
    return value is not None


def coalesce(bad: Reporter, *values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def lower(bad: Reporter, text: Any) -> Any:
    return text.lower() if text.__class__ is str else _null(text, bad)


def upper(bad: Reporter, text: Any) -> Any:
    return text.upper() if text.__class__ is str else _null(text, bad)


def length(bad: Reporter, value: Any) -> Any:
    if value.__class__ in (str, list, dict) or isinstance(value, Mapping):
        return len(value)
    return _null(value, bad)


def absolute(bad: Reporter, number: Any) -> Any:
    return abs(number) if number.__class__ in NUMBER_TYPES else _null(number, bad)


def _numbers(bad: Reporter, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
    if len(values) == 1 and values[0].__class__ is list:
        values = tuple(values[0])
    if not values or any(value is None for value in values):
        return None
    for value in values:
        if value.__class__ not in NUMBER_TYPES:
            bad(value)
            return None
    return values


def minimum(bad: Reporter, *values: Any) -> Any:
    numbers = _numbers(bad, values)
    return None if numbers is None else min(numbers)


def maximum(bad: Reporter, *values: Any) -> Any:
    numbers = _numbers(bad, values)
    return None if numbers is None else max(numbers)


def round_half_up(bad: Reporter, number: Any, digits: Any = 0) -> Any:
    """Round half away from zero (2.5 -> 3, as people expect), to `digits` decimals."""
    if number is None or digits is None:
        return None
    if number.__class__ not in NUMBER_TYPES:
        return _null(number, bad)
    if digits.__class__ is not int or not 0 <= digits <= 15:
        return _null(digits, bad)
    scale = 10**digits
    rounded = math.floor(abs(number) * scale + 0.5) / scale
    rounded = math.copysign(rounded, number) if rounded else 0.0
    return int(rounded) if digits == 0 else rounded


def _coordinates(bad: Reporter, location: Any) -> tuple[float, float] | None:
    if location is None:
        return None
    if location.__class__ is not dict and not isinstance(location, Mapping):  # dict: no ABC test
        bad(location)
        return None
    lat = location.get("latitude", location.get("lat"))
    lon = location.get("longitude", location.get("lon", location.get("lng")))
    if lat is None or lon is None:
        return None
    for coordinate in (lat, lon):
        if coordinate.__class__ not in NUMBER_TYPES:
            bad(coordinate)
            return None
    return float(lat), float(lon)


def geocell(bad: Reporter, location: Any, digits: Any) -> Any:
    """The place as text, latitude and longitude rounded: `"52.52,13.40"` for 2 digits."""
    point = _coordinates(bad, location)
    if point is None:
        return None
    if digits.__class__ is not int or not 0 <= digits <= MAX_GEOCELL_DIGITS:
        return _null(digits, bad)
    lat, lon = (f"{value:.{digits}f}" for value in point)
    return f"{_no_negative_zero(lat)},{_no_negative_zero(lon)}"


def _no_negative_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def distance_km(bad: Reporter, location: Any, lat: Any, lon: Any) -> Any:
    """Great-circle (haversine) distance from the location to the point, in kilometres."""
    point = _coordinates(bad, location)
    if point is None or lat is None or lon is None:
        return None
    if lat.__class__ not in NUMBER_TYPES:
        return _null(lat, bad)
    if lon.__class__ not in NUMBER_TYPES:
        return _null(lon, bad)
    phi1, phi2 = math.radians(point[0]), math.radians(lat)
    dphi = phi2 - phi1
    dlambda = math.radians(lon - point[1])
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def within_km(bad: Reporter, location: Any, lat: float, lon: float, limit: float) -> bool:
    """`distance_km(location, lat, lon) < limit`, for literal lat, lon and limit: the compiler
    writes this instead. The distance is never less than the latitude difference alone (as an
    arc), so most far-away points are refused without the trigonometry."""
    point = _coordinates(bad, location)
    if point is None:
        return False
    if abs(math.radians(point[0] - lat)) * EARTH_RADIUS_KM > limit * (1 + 1e-9):
        return False
    distance: float = distance_km(bad, location, lat, lon)
    return distance < limit


def event_instant(timestamp: Any) -> datetime | None:
    """The event time, read as the engine reads it (alertd.engine.eventtime): the current
    time when the event has none; None when its timestamp is not a time."""
    if timestamp is None:
        return datetime.fromtimestamp(SYSTEM_CLOCK.now(), UTC)
    return _parse_instant(timestamp)


@lru_cache(maxsize=4096)
def _parse_instant(timestamp: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(parse_event_time(timestamp), UTC)
    except EventTimeError:
        return None


def _local(timestamp: Any, zone: tzinfo | None) -> datetime | None:
    if timestamp.__class__ not in (str, int, float) and timestamp is not None:
        return None
    instant = event_instant(timestamp)
    if instant is None:
        return None
    return instant.astimezone(zone) if zone is not None else instant


def hour(bad: Reporter, timestamp: Any, zone: tzinfo | None = None) -> Any:
    """The hour of the event time, 0-23, in UTC or the given time zone."""
    local = _local(timestamp, zone)
    return _null(timestamp, bad) if local is None else local.hour


def weekday(bad: Reporter, timestamp: Any, zone: tzinfo | None = None) -> Any:
    """The ISO weekday of the event time: 1 is Monday, 7 is Sunday."""
    local = _local(timestamp, zone)
    return _null(timestamp, bad) if local is None else local.isoweekday()


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone for a name; raises ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("exists", exists, (ANY,), "bool", 1),
        Builtin("coalesce", coalesce, (ANY,), "any", 1, variadic=True),
        Builtin("lower", lower, (STRING,), "string", 1),
        Builtin("upper", upper, (STRING,), "string", 1),
        Builtin("len", length, (frozenset({"string", "list", "object"}),), "number", 1),
        Builtin("abs", absolute, (NUMBER,), "number", 1),
        Builtin("min", minimum, (frozenset({"number", "list"}),), "number", 1, variadic=True),
        Builtin("max", maximum, (frozenset({"number", "list"}),), "number", 1, variadic=True),
        Builtin("round", round_half_up, (NUMBER, NUMBER), "number", 1),
        Builtin("hour", hour, (STRING,), "number", 0, pure=False, event_time=True),
        Builtin("weekday", weekday, (STRING,), "number", 0, pure=False, event_time=True),
        Builtin("geocell", geocell, (LOCATION, NUMBER), "string", 2),
        Builtin("distance_km", distance_km, (LOCATION, NUMBER, NUMBER), "number", 3),
    )
}
