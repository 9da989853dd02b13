"""Maintenance windows: silences that recur every week, in local time.

A window `days = ["sun"]`, `window = "02:00-06:00"` is open every Sunday from 02:00 to 06:00 in
its zone, across DST changes: on the Sunday clocks spring forward at 02:00 it opens at 03:00
(the skipped times are the jump, alertd.oncall.walltime) and lasts three hours; on the Sunday
they fall back it opens at the first 02:00 and lasts five. A window whose end is not after its
start (`22:00-02:00`) ends the next day. Occurrences that touch or overlap (`00:00-24:00` on
Saturday and Sunday) are one window, from Saturday 00:00 to Monday 00:00.

Every function takes its moments as arguments (aware datetimes) and returns UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alertd.oncall.model import Maintenance, Matcher, OnCall
from alertd.oncall.walltime import to_instant, to_wall, utc

_LOOKAHEAD_DAYS = 16  # two weeks of weekly occurrences, whatever DST did to one of them


@dataclass(frozen=True)
class Window:
    """One opening of a maintenance window: [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ActiveMaintenance:
    """A maintenance window open at some moment: its name, what it silences, when it closes."""

    name: str
    matchers: tuple[Matcher, ...]
    ends_at: datetime


def next_window(maintenance: Maintenance, after: datetime) -> Window | None:
    """The opening in progress at `after`, else the next one to start (None only for a window
    that never opens: one with no days, or that DST skips entirely every week it has)."""
    after = utc(after)
    today = to_wall(after, maintenance.zone).date()
    found: Window | None = None
    for offset in range(-1, _LOOKAHEAD_DAYS):  # from yesterday: it may run past midnight
        day = today + timedelta(days=offset)
        if day.weekday() not in maintenance.days:
            continue
        opens = datetime.combine(day, maintenance.start)
        start = to_instant(opens, maintenance.zone)
        end = to_instant(opens + maintenance.length, maintenance.zone)
        if end <= start:  # all of it inside a skipped hour: it does not happen this week
            continue
        if found is None:
            if end > after:
                found = Window(start, end)
        elif start <= found.end:
            found = Window(found.start, max(found.end, end))
        else:
            break
    return found


def active_maintenance(oncall: OnCall, at: datetime) -> list[ActiveMaintenance]:
    """The maintenance windows open at `at`, in the order of the file."""
    at = utc(at)
    active = []
    for maintenance in oncall.maintenance.values():
        window = next_window(maintenance, at)
        if window is not None and window.start <= at:
            active.append(ActiveMaintenance(maintenance.name, maintenance.matchers, window.end))
    return active


def next_maintenance_change(oncall: OnCall, after: datetime) -> datetime | None:
    """The first moment after `after` that a maintenance window opens or closes (when to look
    again); None when there are no windows."""
    after = utc(after)
    changes = []
    for maintenance in oncall.maintenance.values():
        window = next_window(maintenance, after)
        if window is not None:
            changes.append(window.start if window.start > after else window.end)
    return min(changes, default=None)
