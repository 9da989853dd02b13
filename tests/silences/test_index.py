"""The silence index finds what testing every silence in turn finds: the oldest active silence
whose matchers all hold, whatever mix of equalities, negations and regexes the silences have."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.model import Alert
from alertd.oncall import Matcher
from alertd.silences.index import SilenceIndex
from alertd.silences.matchers import covers
from alertd.silences.model import Silence
from tests.examples import examples
from tests.notify.conftest import make_alert

NAMES = ("vehicle_id", "depot", "rule", "priority")
VALUES = ("v-1", "v-2", "north", "south", "critical_safety", "high", "")
PATTERNS = ("v-.*", "north|south", "v-1", ".*")


def silence(number: int, *matchers: Matcher, starts: float = 0, ends: float = 100) -> Silence:
    return Silence(f"S{number:03d}", matchers, starts, ends, "alice", "", 0.0, 0.0)


def alert(vehicle: str = "v-1", depot: str = "north", **fields: object) -> Alert:
    return make_alert(event={"vehicle_id": vehicle, "depot": depot, **fields})


def naive(silences: list[Silence], target: Alert, now: float) -> Silence | None:
    for candidate in sorted(silences, key=lambda s: s.id):
        if candidate.starts_at <= now < candidate.ends_at and covers(candidate.matchers, target):
            return candidate
    return None


matchers = st.builds(
    Matcher,
    st.sampled_from(NAMES),
    st.sampled_from(VALUES + PATTERNS),
    st.booleans(),
    st.booleans(),
)
silence_lists = st.lists(
    st.tuples(
        st.lists(matchers, min_size=1, max_size=3),
        st.integers(0, 3),
        st.integers(1, 4),
    ),
    max_size=12,
)
alerts = st.builds(
    alert,
    st.sampled_from(("v-1", "v-2", "x")),
    st.sampled_from(("north", "south", "")),
)


@settings(max_examples=examples(300))
@given(silence_lists, alerts, st.integers(0, 4))
def test_the_index_agrees_with_testing_every_silence(
    specs: list[tuple[list[Matcher], int, int]], target: Alert, now: int
) -> None:
    made = [
        silence(n, *found, starts=start, ends=start + length)
        for n, (found, start, length) in enumerate(specs)
    ]
    assert SilenceIndex(made).covering(target, now) == naive(made, target, now)


def test_the_oldest_of_several_wins() -> None:
    made = [
        silence(3, Matcher("vehicle_id", "v-1")),
        silence(2, Matcher("vehicle_id", "v-.*", regex=True)),
        silence(1, Matcher("depot", "north")),
    ]
    assert SilenceIndex(made).covering(alert(), 10) == made[2]
    assert SilenceIndex(made[:2]).covering(alert(), 10) == made[1]


@pytest.mark.parametrize(("now", "found"), [(9, None), (10, "S001"), (19, "S001"), (20, None)])
def test_only_while_active(now: float, found: str | None) -> None:
    made = silence(1, Matcher("vehicle_id", "v-1"), starts=10, ends=20)
    covering = SilenceIndex([made]).covering(alert(), now)
    assert (covering.id if covering else None) == found
