"""The wall clock as a model: M(t), the latest local time a clock on the wall has shown by the
instant t. docs/oncall.md defines a local time as having come once M(t) reaches it, so models
of schedules and maintenance windows read M(t) on a grid of instants."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=30)
"""Shifts, windows and DST changes (Lord Howe's move 30 minutes) all fall on this grid."""


def latest_walls(zone: ZoneInfo, at: datetime, span: timedelta) -> list[datetime]:
    """M(t) at each grid point from `at` to `at + span`. The clock falls back by at most two
    hours, and only on the grid: M is the latest wall time of the two hours before `at`, then
    of each grid point and the minute before it."""
    minute = timedelta(minutes=1)

    def wall(moment: datetime) -> datetime:
        return moment.astimezone(zone).replace(tzinfo=None)

    latest = [max(wall(at - i * minute) for i in range(121))]
    for step in range(1, span // STEP + 1):
        moment = at + step * STEP
        latest.append(max(latest[-1], wall(moment - minute), wall(moment)))
    return latest
