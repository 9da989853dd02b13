"""Who is on call in a schedule at a given instant, until when, and the hand-overs ahead.

The rules (docs/oncall.md has them with examples):
- A rotation's shift k runs from `start + k * shift` to `start + (k + 1) * shift`, counted in
  wall time in the schedule's zone, and its member is `members[k % len(members)]`. So shifts
  of days and weeks hand over at the same local time every time, and shifts of hours do too
  (a 12h rotation starting 09:00 hands over at 09:00 and 21:00, every day): the shift that
  spans a DST change is an hour shorter or longer than the others.
- Before a rotation's first shift, nobody of that rotation is on call. Every rotation of the
  schedule is on call at once: the people on call are the members of each rotation's current
  shift, in the order of the rotations, each once.
- Overrides apply over [start, end), in the order of the file: `add` alone adds a person,
  `remove` alone takes one off, both swap `remove` for `add` while `remove` is on call.
- Wall times that DST skips or repeats follow alertd.oncall.walltime.

Every function takes its moments as arguments (aware datetimes) and returns UTC datetimes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from alertd.oncall.model import Override, Rotation, Schedule
from alertd.oncall.walltime import to_instant, to_wall, utc

MAX_SCAN = timedelta(days=3 * 366)
"""How far past its last irregularity (a rotation not started yet, an override) a schedule is
searched for the next change of who is on call. A schedule repeats with the least common
multiple of its rotations' cycles; one whose rotations always hide each other's hand-overs
over three years is reported as never changing."""


@dataclass(frozen=True)
class Handover:
    """A moment who is on call changes, and who is on call from then on."""

    at: datetime
    on_call: tuple[str, ...]


def on_call(schedule: Schedule, at: datetime) -> tuple[tuple[str, ...], datetime | None]:
    """Who is on call at `at` (person ids, in the order of the rotations, then overrides' adds),
    and the next moment that set of people changes (None: it never does)."""
    at = utc(at)
    names = _people_at(schedule, at)
    for moment in _candidates(schedule, at, _scan_limit(schedule, at)):
        if set(_people_at(schedule, moment)) != set(names):
            return names, moment
    return names, None


def next_handovers(schedule: Schedule, after: datetime, horizon: timedelta) -> list[Handover]:
    """Every change of who is on call in (after, after + horizon], in order."""
    after = utc(after)
    current = set(_people_at(schedule, after))
    handovers: list[Handover] = []
    for moment in _candidates(schedule, after, after + horizon):
        names = _people_at(schedule, moment)
        if set(names) != current:
            handovers.append(Handover(moment, names))
            current = set(names)
    return handovers


def shift_start(schedule: Schedule, rotation: Rotation, shift: int) -> datetime:
    """The instant shift number `shift` (0 is the first) of a rotation starts."""
    return to_instant(rotation.start + shift * rotation.shift, schedule.zone)


def current_shift(schedule: Schedule, rotation: Rotation, at: datetime) -> int | None:
    """The number of the rotation's shift in progress at `at`; None before the first one.

    Several shifts can start at one instant (short shifts whose start times DST skips all map
    to the jump): the last of them is the one in progress, the others last no time at all."""
    at = utc(at)
    if shift_start(schedule, rotation, 0) > at:
        return None
    shift = max(0, (to_wall(at, schedule.zone) - rotation.start) // rotation.shift)
    while shift > 0 and shift_start(schedule, rotation, shift) > at:
        shift -= 1
    while shift_start(schedule, rotation, shift + 1) <= at:
        shift += 1
    return shift


def _people_at(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    names: list[str] = []
    for rotation in schedule.rotations:
        shift = current_shift(schedule, rotation, at)
        if shift is not None:
            names.append(rotation.member(shift))
    names = list(dict.fromkeys(names))
    for override in schedule.overrides:
        start, end = _override_range(schedule, override)
        if start <= at < end:
            names = _apply(override, names)
    return tuple(names)


def _apply(override: Override, names: list[str]) -> list[str]:
    if override.add is not None and override.remove is not None:
        if override.remove not in names:
            return names
        swapped = [override.add if name == override.remove else name for name in names]
        return list(dict.fromkeys(swapped))
    if override.add is not None and override.add not in names:
        return [*names, override.add]
    if override.remove is not None:
        return [name for name in names if name != override.remove]
    return names


def _override_range(schedule: Schedule, override: Override) -> tuple[datetime, datetime]:
    return to_instant(override.start, schedule.zone), to_instant(override.end, schedule.zone)


def _candidates(schedule: Schedule, after: datetime, until: datetime) -> Iterator[datetime]:
    """The moments in (after, until] at which who is on call may change, in order: the starts
    of shifts that change a rotation's member, and the ends of overrides."""
    moment = after
    while True:
        upcoming = [
            start
            for rotation in schedule.rotations
            if (start := _next_start(schedule, rotation, moment)) is not None
        ]
        for override in schedule.overrides:
            upcoming += [edge for edge in _override_range(schedule, override) if edge > moment]
        if not upcoming or min(upcoming) > until:
            return
        moment = min(upcoming)
        yield moment


def _next_start(schedule: Schedule, rotation: Rotation, after: datetime) -> datetime | None:
    """The first start of a shift after `after` that may change who the rotation has on call
    (None for a rotation of one person, once it has started)."""
    shift = current_shift(schedule, rotation, after)
    if shift is None:
        return shift_start(schedule, rotation, 0)
    if len(set(rotation.members)) == 1:
        return None
    return shift_start(schedule, rotation, shift + 1)


def _scan_limit(schedule: Schedule, at: datetime) -> datetime:
    """A moment by which who is on call has changed if it ever will (see MAX_SCAN): past the
    last override and the first shift of every rotation, the schedule repeats with the least
    common multiple of its rotations' cycles. The two days spare cover the wall time that DST
    changes add between two instants."""
    settled = max(
        [at]
        + [shift_start(schedule, rotation, 0) for rotation in schedule.rotations]
        + [_override_range(schedule, override)[1] for override in schedule.overrides]
    )
    unit = timedelta(seconds=1)
    cycles = [
        math.ceil(rotation.shift * len(rotation.members) / unit)
        for rotation in schedule.rotations
        if len(set(rotation.members)) > 1
    ]
    period = reduce(math.lcm, cycles, 1) * unit
    return settled + min(period, MAX_SCAN) + timedelta(days=2)
