"""When quiet hours end: the daily window is local wall time, so it ends at 07:00 local every
day, the days DST starts and ends included (alertd.oncall.walltime has the one rule for wall
times that do not exist or happen twice).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertd.oncall.walltime import to_instant, to_wall
from alertd.storms.policy import QuietHours


def quiet_until(quiet: QuietHours, now: float) -> float | None:
    """The instant (epoch seconds) the window `now` falls in ends; None when `now` is outside
    the window. The window includes its start and excludes its end."""
    zone = quiet.zone
    wall = to_wall(datetime.fromtimestamp(now, UTC), zone)
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    minute = (wall - midnight).total_seconds() / 60
    if quiet.start < quiet.end:  # within one day: 01:00-06:00
        if not quiet.start <= minute < quiet.end:
            return None
        end_day = midnight
    elif minute >= quiet.start:  # across midnight (22:00-07:00), in its evening part
        end_day = midnight + timedelta(days=1)
    elif minute < quiet.end:  # ... in its morning part
        end_day = midnight
    else:
        return None
    end_wall = end_day + timedelta(minutes=quiet.end)
    end = to_instant(end_wall, zone).timestamp()
    if end <= now:  # in the hour clocks repeat, after its first pass: the second one
        end = end_wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp()
    return end
