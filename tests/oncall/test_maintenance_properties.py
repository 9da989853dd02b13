"""Maintenance windows against the wall-clock model (tests/oncall/wallclock.py), on random
weekly windows around DST changes: a window is open at t when, for one of its days, its local
start <= M(t) < its local start + its length."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from alertd.oncall import Maintenance, Matcher, next_window
from tests.oncall.wallclock import STEP, latest_walls

SCAN = timedelta(days=9)
DST_DAYS = [
    ("Europe/Amsterdam", date(2026, 3, 29)),
    ("Europe/Amsterdam", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
]


def is_open(maintenance: Maintenance, wall: datetime) -> bool:
    for back in (0, 1):  # a window that started yesterday may still be open
        day = wall.date() - timedelta(days=back)
        opens = datetime.combine(day, maintenance.start)
        if day.weekday() in maintenance.days and opens <= wall < opens + maintenance.length:
            return True
    return False


@st.composite
def windows(draw: st.DrawFn) -> tuple[Maintenance, datetime]:
    zone, day = draw(st.sampled_from(DST_DAYS))
    # Often on the day of the change, opening or closing in the hours around it.
    start = draw(st.one_of(st.integers(2, 6), st.integers(0, 47))) * STEP
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    if draw(st.booleans()):
        days.add(day.weekday())
    maintenance = Maintenance(
        "m",
        ZoneInfo(zone),
        frozenset(days),
        time(start.seconds // 3600, start.seconds % 3600 // 60),
        draw(st.integers(1, 48)) * STEP,
        (Matcher("depot", "north"),),
    )
    at = datetime.combine(day, time(), UTC) + draw(st.integers(-96, 48)) * STEP
    return maintenance, at


@given(windows())
def test_next_window_walks_the_open_stretches_of_the_model(
    case: tuple[Maintenance, datetime],
) -> None:
    maintenance, at = case
    walls = latest_walls(maintenance.zone, at, SCAN)
    opened = [is_open(maintenance, wall) for wall in walls]
    # The model's stretches as (first open grid point, first closed one after it).
    expected = []
    step = 0
    while True in opened[step:]:
        first = opened.index(True, step)
        closed = opened.index(False, first) if False in opened[first:] else None
        expected.append((first, closed))
        if closed is None:
            break
        step = closed
    found = []
    moment = at
    while (window := next_window(maintenance, moment)) is not None:
        assert window.end > moment
        if window.start > at + SCAN:
            break
        found.append(window)
        if window.end > at + SCAN:
            break
        moment = window.end
    assert len(found) == len(expected)  # 9 days always hold a weekly opening
    for window, (first, closed) in zip(found, expected, strict=True):
        if first == 0:
            assert window.start <= at
        else:
            assert window.start == at + first * STEP
        if closed is None:
            assert window.end > at + SCAN
        else:
            assert window.end == at + closed * STEP
