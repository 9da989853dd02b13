"""Suppression and counting windows: what the state store keeps per rule and key, and when it
can be evicted. The decisions themselves are made in `alertd.engine.steps`.

All times are event times in epoch seconds. The semantics (DESIGN.md, docs/testing-rules.md) in
brief:

- suppress D: after a fire at time f, a match at time t with `f - D < t < f + D` is suppressed;
  at `t >= f + D` (exactly D later included) it fires again and carries how many matches were
  suppressed since f. A late event far older than the last fire (`t <= f - D`) fires on its own
  and leaves the window as it was. The suppressed count survives one more period after the
  window ends, so the state for a key expires at `f + D` when nothing was suppressed and at
  `f + 2D` when something was.
- count N within W: the matching events of a key, ordered by event time, slide with the newest
  one: events W or more older than the newest leave the window. When N are in the window the
  rule fires and the window is cleared.

The representations are chosen for a daemon holding hundreds of thousands of live windows:
what holds only numbers is a plain tuple, which the garbage collector stops tracking (a
suppression entry, a window's times), and a counting window is the list of its events, so each
live window costs the collector one object (and the events it keeps).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from alertd.model import Event, Key

Suppression = tuple[float, float, int]
"""`(fired_at, until, suppressed)`: the last fire of a rule for one key, when its window ends
(fired_at + the rule's duration when it fired), and how many matches were suppressed since."""


def suppression_expires_at(entry: Suppression) -> float:
    """When this entry can no longer change a decision, so the sweep may evict it."""
    fired_at, until, suppressed = entry
    if suppressed:
        return until + (until - fired_at)
    return until


class CountWindow(list[Event]):
    """The matching events of one key still inside a rule's counting window, oldest first,
    with their event times in `times` and the rule's window length in `within` (seconds).

    Made with `CountWindow.of(...)`, or on the hot path as a list whose two attributes are
    then set (a Python __init__ would cost more than the rest of it).
    """

    __slots__ = ("times", "within")

    times: tuple[float, ...]
    within: float

    @classmethod
    def of(cls, within: float, times: Iterable[float], events: Iterable[Event]) -> CountWindow:
        window = cls(events)
        window.times = tuple(times)
        window.within = within
        return window

    @property
    def expires_at(self) -> float:
        """When every event has slid out of the window, so the sweep may evict it."""
        return self.times[-1] + self.within

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CountWindow)
            and (self.within, self.times) == (other.within, other.times)
            and list.__eq__(self, other)
        )

    __hash__ = None  # mutable, like the list it is

    def __repr__(self) -> str:
        return f"CountWindow.of({self.within!r}, {self.times!r}, {list(self)!r})"


def count_step(window: CountWindow, time: float, event: Event) -> bool:
    """Place a match in the window by its event time and slide the window to its newest event.

    Returns False when the match itself was too old to stay (the window did not change).
    """
    times = window.times
    if not times or time >= times[-1]:  # in order, as nearly every event is
        position = len(times)
        times += (time,)
        window.append(event)
    else:
        position = bisect_right(times, time)
        times = (*times[:position], time, *times[position:])
        window.insert(position, event)
    drop = bisect_right(times, times[-1] - window.within)  # W or more older than the newest
    if drop:
        times = times[drop:]
        del window[:drop]
    window.times = times
    return position >= drop


def sweep_tables(
    suppressions: Iterable[dict[Key, Suppression]],
    windows: Iterable[dict[Key, CountWindow]],
    horizon: float,
    limit: int | None = None,
) -> int:
    """Evict from in-memory tables every entry that expires at or before `horizon` (at most
    `limit` of them); return how many went. It reads every entry: for tables in memory only
    (replays); the daemon's store finds what expired through an index."""
    evicted = 0
    for entries in suppressions:
        expired = [key for key, kept in entries.items() if suppression_expires_at(kept) <= horizon]
        for key in expired[: _room(limit, evicted)]:
            del entries[key]
            evicted += 1
    for table in windows:
        expired = [key for key, window in table.items() if window.expires_at <= horizon]
        for key in expired[: _room(limit, evicted)]:
            del table[key]
            evicted += 1
    return evicted


def _room(limit: int | None, taken: int) -> int | None:
    return None if limit is None else max(0, limit - taken)
