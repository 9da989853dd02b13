"""Schedules against a model written another way, on random schedules around DST changes.

The model reads the definition of docs/oncall.md directly: a wall time has come once the clock
on the wall has shown it or a later time. So at an instant t, with M(t) the latest wall time
the clock has shown by t, a rotation is in shift floor((M(t) - start) / shift), and an override
is on while start <= M(t) < end (swaps and all as the docs say). Shift lengths, starts and DST
changes all fall on a 30-minute grid here (Lord Howe's DST moves 30 minutes), so scanning that
grid finds every change.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from alertd.oncall import Override, Rotation, Schedule, next_handovers, on_call
from tests.oncall.wallclock import STEP, latest_walls

SCAN = timedelta(days=3)
PEOPLE = ["alice", "bob", "carol", "dave"]
DST_DAYS = [
    ("Europe/Amsterdam", date(2026, 3, 29)),
    ("Europe/Amsterdam", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("UTC", date(2026, 6, 1)),
]


def model(schedule: Schedule, wall: datetime) -> set[str]:
    """Who is on call once the clock has shown `wall`."""
    names: list[str] = []
    for rotation in schedule.rotations:
        if wall >= rotation.start:
            names.append(rotation.member((wall - rotation.start) // rotation.shift))
    for override in schedule.overrides:
        if override.start <= wall < override.end:
            if override.add and override.remove:
                if override.remove in names:
                    names = [override.add if n == override.remove else n for n in names]
            elif override.add:
                names.append(override.add)
            else:
                names = [n for n in names if n != override.remove]
    return set(names)


def changes(schedule: Schedule, at: datetime) -> list[tuple[datetime, set[str]]]:
    """The grid points in (at, at + SCAN] where the model's set changes, and the new set."""
    walls = latest_walls(schedule.zone, at, SCAN)
    found = []
    current = model(schedule, walls[0])
    for step, wall in enumerate(walls[1:], 1):
        if model(schedule, wall) != current:
            current = model(schedule, wall)
            found.append((at + step * STEP, current))
    return found


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    zone_name, day = draw(st.sampled_from(DST_DAYS))
    midnight = datetime.combine(day, datetime.min.time())

    def local_time() -> datetime:
        # Often in the hours around the change (it happens between 01:00 and 03:00 local).
        steps = st.one_of(st.integers(1, 7), st.integers(-96, 48))
        return midnight + draw(steps) * STEP

    lengths = st.one_of(st.sampled_from([1, 2, 24, 48, 336]), st.integers(1, 96))
    rotations = [
        Rotation(
            tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))),
            draw(lengths) * STEP,
            local_time(),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        start = local_time()
        add, remove = draw(
            st.sampled_from(
                [(draw(st.sampled_from(PEOPLE)), None), (None, draw(st.sampled_from(PEOPLE)))]
                + [(a, r) for a in PEOPLE for r in PEOPLE if a != r]
            )
        )
        overrides.append(Override(start, start + draw(st.integers(1, 96)) * STEP, add, remove))
    schedule = Schedule("s", ZoneInfo(zone_name), tuple(rotations), tuple(overrides))
    at = datetime.combine(day, datetime.min.time(), UTC) + draw(st.integers(-120, 48)) * STEP
    return schedule, at


@given(schedules())
def test_on_call_is_the_model_and_until_is_its_first_change(
    case: tuple[Schedule, datetime],
) -> None:
    schedule, at = case
    names, until = on_call(schedule, at)
    assert set(names) == model(schedule, latest_walls(schedule.zone, at, SCAN)[0])
    assert len(names) == len(set(names))
    ahead = changes(schedule, at)
    if ahead:
        assert until == ahead[0][0]
    else:
        assert until is None or until > at + SCAN


@given(schedules())
def test_next_handovers_are_the_changes_of_the_model(case: tuple[Schedule, datetime]) -> None:
    schedule, at = case
    handovers = next_handovers(schedule, at, SCAN)
    assert [(h.at, set(h.on_call)) for h in handovers] == changes(schedule, at)
