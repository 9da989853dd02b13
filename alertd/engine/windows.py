"""Suppression and counting windows: the pure arithmetic, no storage, no rules.

All times are event times in epoch seconds. The engine fetches a window from the state store,
applies one of the steps below and writes the window back. The semantics (DESIGN.md,
docs/testing-rules.md) in brief:

- suppress D: after a fire at time f, a match at time t with `f - D < t < f + D` is suppressed;
  at `t >= f + D` (exactly D later included) it fires again and carries how many matches were
  suppressed since f. A late event far older than the last fire (`t <= f - D`) fires on its own
  and leaves the window as it was. The suppressed count survives one more period after the
  window ends, so the state for a key expires at `f + D` when nothing was suppressed and at
  `f + 2D` when something was.
- count N within W: the matching events of a key, ordered by event time, slide with the newest
  one: events W or more older than the newest leave the window. When N are in the window the
  rule fires and the window is cleared.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Literal

from alertd.model import Event


@dataclass(slots=True)
class Suppression:
    """The last fire of a rule for one key, and the matches suppressed since."""

    fired_at: float
    until: float  # fired_at + the rule's duration at the time it fired
    suppressed: int = 0

    @property
    def expires_at(self) -> float:
        """When this entry can no longer change a decision, so the sweep may evict it."""
        if self.suppressed:
            return self.until + (self.until - self.fired_at)
        return self.until


SuppressVerdict = Literal["fire", "suppress", "late_fire"]


def suppression_step(entry: Suppression | None, time: float) -> SuppressVerdict:
    """Decide a match at `time` against a live entry (None: no fire recorded for the key).

    "fire": no window holds the match (a new window starts at `time`, see `start_suppression`);
    "suppress": the match falls within the window; "late_fire": the match is older than the last
    fire by the whole duration or more: it fires but the window stays as it was.
    """
    if entry is None or time >= entry.until:
        return "fire"
    if time > entry.fired_at - (entry.until - entry.fired_at):
        return "suppress"
    return "late_fire"


def is_live(entry: Suppression, time: float) -> bool:
    """False once a match at `time` can no longer be affected by the entry (it has expired)."""
    return time < entry.expires_at


@dataclass(slots=True)
class CountWindow:
    """The matching events of one key still inside a rule's counting window, oldest first."""

    within: float  # the rule's window length, seconds
    times: list[float] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def expires_at(self) -> float:
        """When every event has slid out of the window, so the sweep may evict it."""
        return self.times[-1] + self.within


def count_step(window: CountWindow, time: float, event: Event) -> bool:
    """Place a match in the window by its event time and slide the window to its newest event.

    Returns False when the match itself was too old to stay (the window did not change).
    """
    times = window.times
    if not times or time >= times[-1]:  # in order, as nearly every event is
        position = len(times)
        times.append(time)
        window.events.append(event)
    else:
        position = bisect_right(times, time)
        times.insert(position, time)
        window.events.insert(position, event)
    cutoff = times[-1] - window.within
    drop = 0
    for moment in times:
        if moment > cutoff:
            break
        drop += 1
    if drop:
        del times[:drop]
        del window.events[:drop]
    return position >= drop
