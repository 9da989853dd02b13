"""Local wall time in an IANA zone <-> instants, with one rule for the times DST makes odd.

Schedules and maintenance windows are written in wall time ("09:00 in Amsterdam") and counted in
wall time (a daily shift starts at 09:00 every day, also the day after a DST change), but who is
on call is asked about an instant. Two wall times need a rule:

- a time that does not exist (the hour skipped when clocks spring forward, 02:30 in Amsterdam on
  the last Sunday of March) is the instant the clocks jump: 03:00 local, the first time that
  exists after it. Every skipped time maps to that one instant, so the order of times is kept;
- a time that happens twice (the hour repeated when clocks fall back) is its first occurrence.

Instants are aware `datetime`s in UTC. (Aware datetimes sharing one zone compare and subtract as
wall times in Python, ignoring `fold`: doing the arithmetic in UTC avoids that trap.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time in `zone` (see the module for the DST rule)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if to_wall(first, zone) == wall:
        return first
    # In a gap, fold=1 reads the time with the offset after the jump (an instant before it) and
    # fold=0 with the offset before (an instant after it): the jump, on a whole second, lies
    # between. It is the first second whose wall time is past `wall`.
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp()) + 1
    while low < high:
        middle = (low + high) // 2
        if to_wall(datetime.fromtimestamp(middle, UTC), zone) > wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)


def to_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall time in `zone` at an aware instant."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def utc(moment: datetime) -> datetime:
    """An aware datetime as UTC; a naive one is refused (which zone would it be in?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)
