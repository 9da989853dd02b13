"""A channel's storm settings: how many messages one recipient may get, when to keep quiet, what
to gather into a digest. Read from `[channels.NAME]`:

    max_per_recipient = "5/15m"          # at most 5 messages per recipient in any 15 minutes
    quiet_hours = {window = "22:00-07:00", time_zone = "Europe/Amsterdam", below = "urgent"}
    digest = {every = "1h", priorities = ["low"]}

SMS channels have a cap unless they say otherwise (`DEFAULT_SMS_CAP`; `max_per_recipient =
"off"` lifts it): a storm must not empty a phone's battery. Each parser raises ValueError with
the message `alertd check` shows after the key's place, so the config module reports every
mistake in one wording (alertd.config).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alertd.durations import format_duration, parse_duration
from alertd.model import PRIORITIES, Priority
from alertd.suggest import aside

DEFAULT_SMS_CAP = "5/15m"
"""The cap of an SMS channel whose table sets none."""

OFF = "off"
"""`max_per_recipient = "off"`: no cap, not even the SMS default."""

STORM_KEYS = ("max_per_recipient", "quiet_hours", "digest")
"""The keys of `[channels.NAME]` this module reads; every channel kind takes them."""

MIN_CAP_WINDOW = 1.0  # seconds: a shorter window caps nothing a provider would notice
MIN_DIGEST_EVERY = 60.0  # seconds: a digest more often than once a minute is no digest


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `count` messages to one recipient in any `window` seconds."""

    count: int
    window: float

    def __str__(self) -> str:
        return f"{self.count}/{format_duration(self.window)}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local wall time (minutes after midnight; `end` before `start` when it
    spans midnight) in which notifications below `below` are held until it ends."""

    start: int
    end: int
    time_zone: str
    below: Priority

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)} {self.time_zone}"


@dataclass(frozen=True, slots=True)
class Digest:
    """Notifications of these priorities go out as one message per recipient every `every`."""

    every: float
    priorities: frozenset[Priority]


@dataclass(frozen=True, slots=True)
class StormPolicy:
    """One channel's storm settings; every part None when it has none."""

    cap: Cap | None = None
    quiet: QuietHours | None = None
    digest: Digest | None = None

    @property
    def holds_anything(self) -> bool:
        return self is not NO_POLICY and (
            self.cap is not None or self.quiet is not None or self.digest is not None
        )


NO_POLICY = StormPolicy()


def storm_policy(kind: str, table: Mapping[str, Any], default_zone: str = "UTC") -> StormPolicy:
    """The storm settings of a channel of `kind` with this table. Raises ValueError naming the
    key (`max_per_recipient: ...`)."""
    cap_text = table.get("max_per_recipient", DEFAULT_SMS_CAP if kind == "sms" else OFF)
    return StormPolicy(
        cap=_keyed("max_per_recipient", parse_cap, cap_text),
        quiet=None
        if "quiet_hours" not in table
        else _keyed("quiet_hours", parse_quiet_hours, table["quiet_hours"], default_zone),
        digest=None if "digest" not in table else _keyed("digest", parse_digest, table["digest"]),
    )


def _keyed(key: str, parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except ValueError as error:
        raise ValueError(f"{key}: {error}") from None


_CAP = re.compile(r"\s*(\d+)\s*/\s*(\S+)\s*")


def parse_cap(value: Any) -> Cap | None:
    """`"N/DURATION"` (`"5/15m"`), or `"off"` for none."""
    if not isinstance(value, str):
        raise ValueError(f'expected a string such as "5/15m" or "off", got {value!r}')
    if value.strip().lower() == OFF:
        return None
    match = _CAP.fullmatch(value)
    if match is None:
        raise ValueError(
            f'expected "N/DURATION", at most N messages per recipient in any DURATION, such as '
            f'"5/15m" (or "off"), got {value!r}'
        )
    count = int(match.group(1))
    window = parse_duration(match.group(2))
    if count < 1:
        raise ValueError(f'the count must be at least 1 (or "off" for no cap), got {value!r}')
    if window < MIN_CAP_WINDOW:
        raise ValueError(f"the duration must be at least 1s, got {value!r}")
    return Cap(count, window)


_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_QUIET_KEYS = ("window", "time_zone", "below")


def parse_quiet_hours(value: Any, default_zone: str = "UTC") -> QuietHours:
    """`{window = "22:00-07:00", time_zone = "Europe/Amsterdam", below = "urgent"}`; the zone
    defaults to `[notify] timezone`, `below` to urgent (everything but urgent waits)."""
    table = _table(value, _QUIET_KEYS, '{window = "22:00-07:00", time_zone = "...", below = "..."}')
    window = table.get("window")
    if window is None:
        raise ValueError('window: missing; expected "HH:MM-HH:MM", such as "22:00-07:00"')
    match = _WINDOW.fullmatch(window) if isinstance(window, str) else None
    if match is None:
        raise ValueError(
            f'window: expected "HH:MM-HH:MM" in local time, such as "22:00-07:00", got {window!r}'
        )
    hours = int(match.group(1)), int(match.group(3))
    minutes = int(match.group(2)), int(match.group(4))
    if any(h > 23 for h in hours) or any(m > 59 for m in minutes):
        raise ValueError(f"window: {window!r} is not a time of day (00:00 to 23:59)")
    start, end = hours[0] * 60 + minutes[0], hours[1] * 60 + minutes[1]
    if start == end:
        raise ValueError(f"window: {window!r} starts where it ends; it would never end")
    zone = table.get("time_zone", default_zone)
    if not isinstance(zone, str):
        raise ValueError(
            f'time_zone: expected a zone name such as "Europe/Amsterdam", got {zone!r}'
        )
    try:
        _zone(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'time_zone: unknown time zone {zone!r} (an IANA name such as "Europe/Amsterdam")'
        ) from None
    return QuietHours(start, end, zone, _priority("below", table.get("below", "urgent")))


_DIGEST_KEYS = ("every", "priorities")


def parse_digest(value: Any) -> Digest:
    """`{every = "1h", priorities = ["low"]}` (priorities default to low)."""
    table = _table(value, _DIGEST_KEYS, '{every = "1h", priorities = ["low"]}')
    every_text = table.get("every")
    if every_text is None:
        raise ValueError('every: missing; expected a duration such as "1h"')
    if not isinstance(every_text, str):
        raise ValueError(f'every: expected a duration such as "1h", got {every_text!r}')
    try:
        every = parse_duration(every_text)
    except ValueError as error:
        raise ValueError(f"every: {error}") from None
    if every < MIN_DIGEST_EVERY:
        raise ValueError(f"every: must be at least 1m, got {every_text!r}")
    names = table.get("priorities", ["low"])
    if not isinstance(names, list) or not names:
        raise ValueError(f'priorities: expected a list such as ["low"], got {names!r}')
    return Digest(every, frozenset(_priority("priorities", name) for name in names))


def _table(value: Any, keys: tuple[str, ...], example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an inline table such as {example}, got {value!r}")
    for key in value:
        if key not in keys:
            raise ValueError(f"unknown key {key!r}, it takes {', '.join(keys)}{aside(key, keys)}")
    return value


def _priority(key: str, value: Any) -> Priority:
    for priority in PRIORITIES:
        if value == priority:
            return priority
    raise ValueError(
        f"{key}: {value!r} is not a priority (one of {', '.join(PRIORITIES)})"
        f"{aside(str(value), PRIORITIES)}"
    )


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
