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
what holds only numbers is a plain tuple or array, which the garbage collector does not track
(a suppression entry, a window's times), and a counting window is the list of the (at most
`max_count_events`) events it keeps, so each live window costs the collector one object (and
those events).
"""

from __future__ import annotations

from array import array
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
    """One key's counting window of a rule: the event times of the matches still inside it,
    oldest first, and (as the list itself) the newest of their events, at most the engine's
    `max_count_events` (an alert lists no more).

    The times are `times[start:]`, an array of floats: a match in order is an append, and the
    oldest slide out by moving `start` on (the array is compacted once half of it lies behind
    `start`), so a window of 100,000 matches costs per match what a window of three does, and
    holds 8 bytes a match. `matches` is how many it holds. `dropped` counts the matches
    that slid out over the window's life, so the match at `times[start + i]` is the window's
    match number `dropped + i`: what the SQLite store keys the times it wrote by, so that it
    writes only what changed. `reordered_from` is the lowest match number a late match moved
    since the store last wrote the window (whose times from there on must be written again).

    Made with `CountWindow.of(...)`, or on the hot path as a list whose attributes are then
    set (a Python __init__ would cost more than the rest of it).
    """

    __slots__ = ("dropped", "reordered_from", "start", "times", "within")

    times: array[float]
    start: int
    dropped: int
    within: float
    reordered_from: int

    @classmethod
    def of(
        cls, within: float, times: Iterable[float], events: Iterable[Event], dropped: int = 0
    ) -> CountWindow:
        window = cls(events)
        window.times = array("d", times)
        window.start = 0
        window.dropped = dropped
        window.within = within
        window.reordered_from = NOT_REORDERED
        return window

    @classmethod
    def first(cls, within: float, time: float, event: Event | None) -> CountWindow:
        """A new window holding one match, and its event unless None (built for speed: the
        engine's hot path calls it)."""
        window = cls(() if event is None else (event,))
        window.times = array("d", (time,))
        window.start = window.dropped = 0
        window.within = within
        window.reordered_from = NOT_REORDERED
        return window

    @property
    def matches(self) -> int:
        """How many matches the window holds (of which the list keeps the newest events)."""
        return len(self.times) - self.start

    @property
    def live_times(self) -> array[float]:
        """The times of the matches in the window, oldest first (a copy)."""
        return self.times[self.start :]

    @property
    def expires_at(self) -> float:
        """When every event has slid out of the window, so the sweep may evict it."""
        return self.times[-1] + self.within

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CountWindow)
            and (self.within, self.live_times) == (other.within, other.live_times)
            and list.__eq__(self, other)
        )

    __hash__ = None  # mutable, like the list it is

    def __repr__(self) -> str:
        return f"CountWindow.of({self.within!r}, {list(self.live_times)!r}, {list(self)!r})"


NOT_REORDERED = 1 << 62  # `reordered_from` when no late match moved anything


def count_step(window: CountWindow, time: float, event: Event, keep: int) -> bool:
    """Place a match in the window by its event time and slide the window to its newest event;
    keep the events of the newest `keep` matches.

    Returns False when the match itself was too old to stay (the window did not change).
    """
    times, start = window.times, window.start
    size = len(times)
    kept = True
    if size == start or time >= times[-1]:  # in order, as nearly every event is
        times.append(time)
        window.append(event)
    elif time <= times[-1] - window.within:  # W or more older than the newest: too old
        kept = False
    else:
        position = bisect_right(times, time, start)  # after equal times: arrival order
        times.insert(position, time)
        newer = size - position  # matches newer than this one
        if newer <= len(window):  # among (or next to) those whose events are kept
            window.insert(len(window) - newer, event)
        moved = window.dropped + position - start  # the first match number that changed
        window.reordered_from = min(window.reordered_from, moved)
    drop = bisect_right(times, times[-1] - window.within, start)  # W or more older than newest
    if drop > start:
        window.dropped += drop - start
        if drop << 1 >= len(times):  # half of the array lies behind: compact it
            del times[:drop]
            drop = 0
        window.start = start = drop
    excess = len(window) - min(keep, len(times) - start)  # slid out, or beyond `keep`
    if excess > 0:
        del window[:excess]
    return kept


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
