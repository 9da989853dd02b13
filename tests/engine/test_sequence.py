"""Rules that keep state per key over the events of their scope (alertd.engine.sequence):
examples of prev() and changed() through the engine, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.pg_store import PostgresStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore
from alertd.engine.verdicts import details
from alertd.model import DEFAULT_FORGET
from tests.engine.builders import T0

FUEL_LOW = """
rule fuel_low {
  when type == "fuel" and fuel < 10 and prev(fuel) >= 10
}
"""


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "s.db")
    else:  # its key states are rows, each read when its key is held
        made = PostgresStore(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


def run(engine: Engine, *events: dict[str, Any]) -> list[str]:
    """The decisions, one `index:rule:kind` each."""
    decided = []
    for index, event in enumerate(events):
        decided += [f"{index}:{d.rule_id}:{d.kind}" for d in engine.process(event, T0, index)]
    return decided


def fuel(level: Any, at: float, **fields: Any) -> dict[str, Any]:
    return {"type": "fuel", "fuel": level, "timestamp": T0 + at, **fields}


def test_a_crossing_fires_once_not_on_every_reading_below(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    decided = run(engine, fuel(12, 0), fuel(9, 10), fuel(8, 20), fuel(11, 30), fuel(7, 40))
    assert decided == ["1:fuel_low:fired", "4:fuel_low:fired"]


def test_the_first_event_has_no_previous_one(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    assert run(engine, fuel(5, 0)) == []


def test_an_event_outside_the_rules_scope_is_not_the_previous_one(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    other = {"type": "location", "fuel": 50, "timestamp": T0 + 5}
    assert run(engine, fuel(12, 0), other, fuel(9, 10)) == ["2:fuel_low:fired"]


def test_an_event_of_the_scope_that_does_not_match_is_the_previous_one(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    no_reading = {"type": "fuel", "timestamp": T0 + 5}
    assert run(engine, fuel(12, 0), no_reading, fuel(9, 10)) == []


def test_a_late_event_has_no_previous_one_and_changes_nothing(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    # 9 at 5s arrives after 12 at 10s: it is late, so it crosses nothing; the 9 at 20s still
    # crosses from the 12 at 10s, the newest reading.
    assert run(engine, fuel(12, 10), fuel(9, 5), fuel(9, 20)) == ["2:fuel_low:fired"]


def test_an_alert_of_a_rule_with_by_alone_is_about_its_key(store: StateStore) -> None:
    """No count or suppress to take the key from: the rule's `by` says what the alert is
    about (it once fired with an empty key, shown as `-`)."""
    text = FUEL_LOW.replace("prev(fuel) >= 10", "prev(fuel) >= 10\n  by vehicle_id")
    engine = Engine(RuleSet(compile_text(text)), store)
    engine.process(fuel(12, 0, vehicle_id="v1"), T0, 0)
    [decision] = engine.process(fuel(9, 10, vehicle_id="v1"), T0, 1)
    assert decision.kind == "fired" and decision.alert is not None
    assert decision.key == decision.alert.key == ("v1",)


def test_each_key_of_the_rule_has_its_own_previous_event(store: StateStore) -> None:
    rules = compile_text(FUEL_LOW.replace("prev(fuel) >= 10", "prev(fuel) >= 10\n  by vehicle"))
    engine = Engine(RuleSet(rules), store)
    decided = run(
        engine,
        fuel(12, 0, vehicle="a"),
        fuel(8, 5, vehicle="b"),
        fuel(9, 10, vehicle="a"),
        fuel(12, 15, vehicle="b"),
    )
    assert decided == ["2:fuel_low:fired"]


def test_changed_fires_when_a_value_differs_from_the_one_before(store: StateStore) -> None:
    rules = compile_text('rule driver_swap { when type == "trip" and changed(driver_id) }')
    engine = Engine(RuleSet(rules), store)
    trips = [{"type": "trip", "driver_id": d, "timestamp": T0 + i} for i, d in enumerate("aabba")]
    assert run(engine, *trips) == ["2:driver_swap:fired", "4:driver_swap:fired"]


def test_a_key_unseen_for_the_forget_period_starts_afresh(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    assert run(engine, fuel(12, 0), fuel(9, DEFAULT_FORGET)) == []
    assert run(engine, fuel(12, 2 * DEFAULT_FORGET), fuel(9, 3 * DEFAULT_FORGET - 1)) == [
        "1:fuel_low:fired"
    ]


def test_the_sweep_drops_forgotten_keys(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    run(engine, fuel(12, 0))
    assert store.size().key_states == 1
    assert engine.sweep(T0 + DEFAULT_FORGET - 1) == 0
    assert engine.sweep(T0 + DEFAULT_FORGET) == 1
    assert store.size().key_states == 0


def test_a_reload_keeps_what_rules_that_stay_keep(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    run(engine, fuel(12, 0))
    engine.replace_rules(RuleSet(compile_text(FUEL_LOW)))
    assert run(engine, fuel(9, 10)) == ["0:fuel_low:fired"]
    engine.replace_rules(RuleSet(compile_text('rule other { when type == "x" }')))
    assert store.size().key_states == 0


def test_what_is_kept_survives_a_restart(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    run(Engine(RuleSet(compile_text(FUEL_LOW)), store), fuel(12, 0))
    store.close()
    store = SQLiteStore(tmp_path / "s.db")
    try:
        assert run(Engine(RuleSet(compile_text(FUEL_LOW)), store), fuel(9, 10)) == [
            "0:fuel_low:fired"
        ]
    finally:
        store.close()


FUEL_AND_ODOMETER = """
rule fuel_low {
  when type == "fuel" and fuel < 10 and prev(fuel) >= 10 and prev(odometer) > 0
}
"""

# The same rule, the two prev() arguments first used the other way round.
ODOMETER_AND_FUEL = """
rule fuel_low {
  when type == "fuel" and prev(odometer) > 0 and fuel < 10 and prev(fuel) >= 10
}
"""


@pytest.mark.parametrize(
    "edited",
    [ODOMETER_AND_FUEL, FUEL_LOW, FUEL_LOW.replace("prev(fuel)", "prev(odometer)")],
    ids=["reordered", "one argument fewer", "another argument"],
)
def test_a_reload_that_changes_a_rules_prev_arguments_starts_it_afresh(
    store: StateStore, edited: str
) -> None:
    """The kept values go by their place: read for other arguments they would page falsely
    (the odometer, 120, read as the previous fuel level) or fail (an index out of range)."""
    engine = Engine(RuleSet(compile_text(FUEL_AND_ODOMETER)), store)
    run(engine, fuel(5, 0, odometer=120))
    engine.replace_rules(RuleSet(compile_text(edited)))
    assert run(engine, fuel(4, 10, odometer=121)) == []
    assert engine.rule_errors == {}
    assert run(engine, fuel(12, 20, odometer=122), fuel(9, 30, odometer=123)) == [
        "1:fuel_low:fired"
    ]


def test_a_start_after_the_rules_prev_arguments_changed_starts_it_afresh(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    run(Engine(RuleSet(compile_text(FUEL_AND_ODOMETER)), store), fuel(5, 0, odometer=120))
    store.close()
    store = SQLiteStore(tmp_path / "s.db")
    try:
        engine = Engine(RuleSet(compile_text(ODOMETER_AND_FUEL)), store)
        assert run(engine, fuel(4, 10, odometer=121)) == []
        unchanged = Engine(RuleSet(compile_text(ODOMETER_AND_FUEL)), store)
        assert run(unchanged, fuel(3, 20, odometer=122)) == []  # its previous fuel: 4
        assert run(unchanged, fuel(11, 30, odometer=123), fuel(2, 40, odometer=124)) == [
            "1:fuel_low:fired"
        ]
    finally:
        store.close()


def test_a_batch_that_fails_keeps_nothing_of_what_it_saw(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    try:
        run(engine, fuel(12, 0))
        with pytest.raises(RuntimeError), store.transaction():
            engine.process_valid([fuel(20, 5)], [T0 + 5], T0)
            raise RuntimeError("the batch could not be recorded")
        assert run(engine, fuel(9, 10)) == ["0:fuel_low:fired"]  # from 12, not from 20
    finally:
        store.close()


OVERHEAT = """
rule engine_overheat {
  when type == "engine" and coolant_c > 110
  by vehicle
  for 2m
}
"""


def engine_reading(coolant: Any, at: float, vehicle: str = "v1") -> dict[str, Any]:
    return {"type": "engine", "coolant_c": coolant, "vehicle": vehicle, "timestamp": T0 + at}


def test_for_fires_once_the_condition_has_held_that_long(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    readings = [engine_reading(c, at) for c, at in [(115, 0), (116, 60), (118, 119), (117, 120)]]
    decided = run(engine, *readings)
    assert decided == [
        "0:engine_overheat:counting",
        "1:engine_overheat:counting",
        "2:engine_overheat:counting",
        "3:engine_overheat:fired",  # 2m after the run began, exactly
    ]


def test_for_every_match_of_a_run_that_has_held_is_a_match(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    readings = [engine_reading(115, at) for at in (0, 130, 140)]
    assert run(engine, *readings)[1:] == ["1:engine_overheat:fired", "2:engine_overheat:fired"]


def test_for_an_event_that_does_not_match_ends_the_run(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    readings = [engine_reading(c, at) for c, at in [(115, 0), (90, 60), (115, 90), (115, 150)]]
    assert run(engine, *readings) == [
        "0:engine_overheat:counting",
        "2:engine_overheat:counting",
        "3:engine_overheat:counting",  # held 1m of 2m: the run began again at 90s
    ]


def test_for_runs_are_per_key(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    decided = run(
        engine,
        engine_reading(115, 0, "v1"),
        engine_reading(90, 60, "v2"),
        engine_reading(115, 120, "v1"),
    )
    assert decided == ["0:engine_overheat:counting", "2:engine_overheat:fired"]


def test_for_a_late_event_neither_starts_nor_ends_a_run(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    readings = [engine_reading(c, at) for c, at in [(115, 60), (90, 30), (115, 180), (115, 0)]]
    assert run(engine, *readings) == [
        "0:engine_overheat:counting",
        "2:engine_overheat:fired",  # the late 90 at 30s did not end the run begun at 60s
        "3:engine_overheat:counting",  # late, and before the run began: not held
    ]


def test_for_a_run_survives_a_restart(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    run(Engine(RuleSet(compile_text(OVERHEAT)), store), engine_reading(115, 0))
    store.close()
    store = SQLiteStore(tmp_path / "s.db")
    try:
        engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
        assert run(engine, engine_reading(115, 120)) == ["0:engine_overheat:fired"]
    finally:
        store.close()


def test_for_a_key_forgotten_mid_run_starts_a_new_one(store: StateStore) -> None:
    rules = compile_text(OVERHEAT.replace("for 2m", "for 2m\n  forget 90s"))
    engine = Engine(RuleSet(rules), store)
    readings = [engine_reading(115, at) for at in (0, 100, 200)]
    assert run(engine, *readings) == [
        "0:engine_overheat:counting",
        "1:engine_overheat:counting",  # 100s after the last: forgotten, a new run
        "2:engine_overheat:counting",
    ]


def test_the_decision_says_how_long_the_run_had_held(store: StateStore) -> None:
    engine = Engine(RuleSet(compile_text(OVERHEAT)), store)
    first, second = (
        engine.process(engine_reading(115, at), T0, i)[0] for i, at in enumerate((0, 80))
    )
    assert (first.held, second.held) == (0, 80)
    (rule,) = engine.rules.rules
    assert [d.text for d in details(rule, second)] == ["held for 1m20s of 2m"]
