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
each is an exact tuple of numbers, text and bytes, which the garbage collector untracks, so
that its full collections, which traverse every object it tracks, do not grow with the keys.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Hashable, Iterable
from struct import Struct
from typing import TypeVar

from alertd.jsonutil import loads
from alertd.model import Event, Key, event_text

Suppression = tuple[float, float, int]
"""`(fired_at, until, suppressed)`: the last fire of a rule for one key, when its window ends
(fired_at + the rule's duration when it fired), and how many matches were suppressed since."""


def suppression_expires_at(entry: Suppression) -> float:
    """When this entry can no longer change a decision, so the sweep may evict it."""
    fired_at, until, suppressed = entry
    if suppressed:
        return until + (until - fired_at)
    return until


CountWindow = tuple[float, bytearray, int, int, int, tuple[str, ...]]
"""One key's counting window of a rule: `(within, times, start, dropped, reordered_from,
events)`, made by `count_window` (or the engine's step) and moved on by `count_step`.

- `times` holds the event times of the matches still inside it, oldest first, as packed
  doubles (`window_times` reads them), from match `start` on: a match in order is an append,
  and the oldest slide out by moving `start` on (the array is compacted once half of it lies
  behind `start`), so a window of 100,000 matches costs per match what a window of three does,
  and holds 8 bytes a match. `window_matches` is how many it holds. It is changed in place:
  every window made from it by a step shares it.
- `dropped` counts the matches that slid out over the window's life, so the match at
  `times[start + i]` is the window's match number `dropped + i`: what the SQLite store keys the
  times it wrote by, so that it writes only what changed. `reordered_from` is the lowest match
  number a late match moved since the store last wrote the window (whose times from there on
  must be written again; NOT_REORDERED: none).
- `events`: the JSON text of the newest matches' events, at most the engine's
  `max_count_events` (an alert lists no more); `window_events` decodes them.

Only numbers, text and a bytearray, in an exact tuple: the garbage collector untracks it at
the first collection that finds its events' tuple untracked (the same one, or the next), so
the windows of a million keys cost a full collection nothing (a list
or an object per window is traversed by every full collection: a second's pause in a flood
of keys, bench/README.md). A step returns a new tuple, which the engine sets in the table.
"""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Entries(dict[K, V]):
    """A store's table of one rule's windows of one kind: a dict the collector tracks from the
    start and never untracks, so that the daemon's `gc.freeze()` at start (alertd.commands.run)
    leaves it out of every collection for good. A plain dict whose entries are all untracked
    (the windows are, see above) is untracked by a collection, and tracked again by the next
    window it takes (a new tuple is tracked until a collection looks at it): it then starts
    over in the young generation, where the next collections traverse all of its entries,
    hundreds of thousands in a flood of keys (110-220 ms a pause, bench/README.md), and in a
    steady stream 30% of the in-memory engine's time (bench/README.md, "A leaner daemon
    path")."""

    __slots__ = ()


NOT_REORDERED = 1 << 62  # `reordered_from` when no late match moved anything

_TIME = Struct("d")
pack_time = _TIME.pack
time_at = _TIME.unpack_from
"""`time_at(times, offset)[0]`: the time packed at this byte offset (8 times the index)."""


def count_window(
    within: float, times: Iterable[float], events: Iterable[Event], dropped: int = 0
) -> CountWindow:
    """A window holding matches at these times (oldest first) and these events (the
    newest matches'), the first of them match number `dropped`."""
    packed = bytearray(array("d", times).tobytes())
    texts = tuple(event_text(event) for event in events)
    return (within, packed, 0, dropped, NOT_REORDERED, texts)


def window_matches(window: CountWindow) -> int:
    """How many matches the window holds (of which it keeps the newest events)."""
    return (len(window[1]) >> 3) - window[2]


def window_times(window: CountWindow, first: int = 0, end: int | None = None) -> list[float]:
    """The times of the window's matches, oldest first: all of them, or those from its
    `first`-th to before its `end`-th (counted from its oldest, 0)."""
    times, start = window[1], window[2]
    stop = len(times) if end is None else (start + end) << 3
    return array("d", times[(start + first) << 3 : stop]).tolist()


def window_events(window: CountWindow) -> list[Event]:
    """The events the window keeps, oldest first (decoded: new dicts each call)."""
    return [loads(text) for text in window[5]]


def window_expires_at(window: CountWindow) -> float:
    """When every event has slid out of the window, so the sweep may evict it."""
    times = window[1]
    newest: float = time_at(times, len(times) - 8)[0]
    return newest + window[0]


def same_window(one: CountWindow, other: CountWindow) -> bool:
    """Whether two windows count alike: the same `within`, times, events and first match
    number (however their arrays are laid out, and whatever the store last wrote)."""
    return (one[0], one[3], window_times(one), one[5]) == (
        other[0],
        other[3],
        window_times(other),
        other[5],
    )


def count_step(
    window: CountWindow, time: float, event: Event, keep: int
) -> tuple[CountWindow, bool]:
    """Place a match in the window by its event time and slide the window to its newest event;
    keep the events of the newest `keep` matches.

    Returns the window after the match (its times changed in place), and False when the match
    itself was too old to stay (it is not in the window).
    """
    within, times, start, dropped, reordered_from, events = window
    end = len(times) >> 3
    kept = True
    if end == start or time >= time_at(times, len(times) - 8)[0]:  # in order, as nearly all
        times += pack_time(time)
        events += (event_text(event),)
    elif time <= time_at(times, len(times) - 8)[0] - within:  # W or more older: too old
        kept = False
    else:
        position = _after(times, time, start, end)  # after equal times: arrival order
        times[position << 3 : position << 3] = pack_time(time)
        newer = end - position  # matches newer than this one
        if newer <= len(events):  # among (or next to) those whose events are kept
            at = len(events) - newer
            events = (*events[:at], event_text(event), *events[at:])
        reordered_from = min(reordered_from, dropped + position - start)  # the first moved
    end = len(times) >> 3
    drop = _after(times, time_at(times, len(times) - 8)[0] - within, start, end)
    if drop > start:  # W or more older than the newest: slid out
        dropped += drop - start
        if drop << 1 >= end:  # half of the array lies behind: compact it
            del times[: drop << 3]
            end -= drop
            drop = 0
        start = drop
    excess = len(events) - min(keep, end - start)  # slid out, or beyond `keep`
    if excess > 0:
        events = events[excess:]
    return (within, times, start, dropped, reordered_from, events), kept


def _after(times: bytearray, time: float, lo: int, hi: int) -> int:
    """`bisect_right` over the packed times from index lo to hi."""
    with memoryview(times) as view, view.cast("d") as floats:
        return bisect_right(floats, time, lo, hi)


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
        expired = [key for key, window in table.items() if window_expires_at(window) <= horizon]
        for key in expired[: _room(limit, evicted)]:
            del table[key]
            evicted += 1
    return evicted


def _room(limit: int | None, taken: int) -> int | None:
    return None if limit is None else max(0, limit - taken)
