"""A rule with `resolve` in the engine: one open alert per key, matches folded into it, `resolve
when` closing it; and the index of open alerts in both stores, durable in SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore
from alertd.model import Decision
from tests.engine.builders import T0

BREAKDOWN = """
rule breakdown {
  when     type == "breakdown"
  by       vehicle_id
  suppress 10m
  resolve when type == "vehicle_status" and status == "operational"
}
"""


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore = (
        MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    )
    yield made
    made.close()


def engine_for(text: str, store: StateStore) -> Engine:
    return Engine(RuleSet(compile_text(text)), store)


def breakdown(at: float, vehicle: str = "v1", **fields: Any) -> dict[str, Any]:
    return {"type": "breakdown", "vehicle_id": vehicle, "timestamp": T0 + at, **fields}


def operational(at: float, vehicle: str = "v1") -> dict[str, Any]:
    return {"type": "vehicle_status", "vehicle_id": vehicle, "status": "operational",
            "timestamp": T0 + at}  # fmt: skip


def run(engine: Engine, events: list[dict[str, Any]]) -> list[Decision]:
    decisions: list[Decision] = []
    for index, event in enumerate(events):
        with engine.store.transaction():
            decisions += engine.process(event, T0, index)
    return decisions


def shown(decisions: list[Decision]) -> list[tuple[int | None, str, tuple[Any, ...]]]:
    return [(d.event_index, d.kind, d.key) for d in decisions]


def test_matches_while_an_alert_is_open_are_folded_into_it(store: StateStore) -> None:
    engine = engine_for(BREAKDOWN, store)
    decisions = run(engine, [breakdown(0), breakdown(60, speed=0), breakdown(900)])
    assert shown(decisions) == [
        (0, "fired", ("v1",)),
        (1, "absorbed", ("v1",)),
        (2, "absorbed", ("v1",)),  # past the suppress window: still the same open alert
    ]
    fired = decisions[0].alert
    assert fired is not None
    assert decisions[1].alert_id == decisions[2].alert_id == fired.id
    record = store.get_alert(fired.id)
    assert record is not None
    assert (record.match_count, record.last_matched_at) == (3, T0 + 900)
    assert record.last_event == breakdown(900)
    assert record.alert.event == breakdown(0)  # the alert itself never changes


def test_resolve_when_closes_the_open_alert_of_the_same_key_only(store: StateStore) -> None:
    engine = engine_for(BREAKDOWN, store)
    decisions = run(
        engine,
        [breakdown(0, "v1"), breakdown(10, "v2"), operational(20, "v1"), operational(30, "v1")],
    )
    assert shown(decisions) == [
        (0, "fired", ("v1",)),
        (1, "fired", ("v2",)),
        (2, "resolved", ("v1",)),  # the second one finds nothing open: no decision
    ]
    assert decisions[2].alert_id == decisions[0].alert.id  # type: ignore[union-attr]
    assert store.open_alerts("breakdown").get(("v1",)) is None
    assert store.open_alerts("breakdown").get(("v2",)) == decisions[1].alert.id  # type: ignore[union-attr]


def test_after_a_resolve_the_next_match_fires_again_subject_to_suppress(
    store: StateStore,
) -> None:
    engine = engine_for(BREAKDOWN, store)
    decisions = run(
        engine,
        [breakdown(0), operational(60), breakdown(120), breakdown(700), breakdown(760)],
    )
    assert shown(decisions) == [
        (0, "fired", ("v1",)),
        (1, "resolved", ("v1",)),
        (2, "suppressed", ("v1",)),  # within 10m of the last page: suppress holds it, as today
        (3, "fired", ("v1",)),  # a suppressed match opened nothing, so this one pages
        (4, "absorbed", ("v1",)),
    ]
    assert decisions[3].alert is not None and decisions[3].alert.suppressed_count == 1


def test_an_event_that_matches_is_folded_even_when_the_resolve_condition_holds_too() -> None:
    text = 'rule r { when type == "x" and level > 5\n by id\n resolve when level < 8 }'
    decisions = run(
        engine_for(text, MemoryStore()),
        [
            {"type": "x", "id": 1, "level": 9},
            {"type": "x", "id": 1, "level": 6},
            {"type": "x", "id": 1, "level": 2},
        ],
    )
    assert [d.kind for d in decisions] == ["fired", "absorbed", "resolved"]


def test_resolve_when_is_tried_on_the_rules_types_and_those_it_names() -> None:
    text = (
        'rule r { when type == "breakdown"\n by vehicle_id\n'
        ' resolve when type in ["repaired", "vehicle_status"] and status == "operational" }'
    )
    location = {"type": "location_update", "vehicle_id": "v1", "status": "operational"}
    repaired = {"type": "repaired", "vehicle_id": "v1", "status": "operational"}
    engine = engine_for(text, MemoryStore())
    assert shown(run(engine, [breakdown(0), location, repaired])) == [
        (0, "fired", ("v1",)),
        (2, "resolved", ("v1",)),
    ]
    (rule,) = engine.rules.rules
    assert rule.resolve is not None
    assert rule.resolve.event_types == frozenset({"breakdown", "repaired", "vehicle_status"})


def test_a_resolve_condition_that_names_no_type_is_not_tried_on_other_types() -> None:
    text = 'rule r { when type == "breakdown"\n by vehicle_id\n resolve when status == "ok" }'
    other = {"type": "location_update", "vehicle_id": "v1", "status": "ok"}
    same = {"type": "breakdown", "vehicle_id": "v1", "status": "ok"}
    engine = engine_for(text, MemoryStore())
    assert [d.kind for d in run(engine, [breakdown(0), other, same])] == ["fired", "absorbed"]


def test_a_breakdown_event_itself_can_resolve_when_it_no_longer_matches() -> None:
    text = (
        'rule r { when type == "breakdown" and active == true\n by v\n'
        " resolve when active == false }"
    )
    decisions = run(
        engine_for(text, MemoryStore()),
        [
            {"type": "breakdown", "v": 1, "active": True},
            {"type": "breakdown", "v": 1, "active": False},
        ],
    )
    assert [d.kind for d in decisions] == ["fired", "resolved"]


def test_while_an_alert_is_open_matches_do_not_count_towards_the_next() -> None:
    text = (
        'rule r { when type == "breakdown"\n by vehicle_id\n count 2 within 1h\n resolve after 1h }'
    )
    decisions = run(engine_for(text, MemoryStore()), [breakdown(t) for t in (0, 10, 20, 30)])
    assert [d.kind for d in decisions] == ["counting", "fired", "absorbed", "absorbed"]


def test_without_by_the_rule_keeps_one_open_alert() -> None:
    text = 'rule r { when type == "breakdown"\n resolve after 1h }'
    decisions = run(engine_for(text, MemoryStore()), [breakdown(0, "v1"), breakdown(1, "v2")])
    assert shown(decisions) == [(0, "fired", ()), (1, "absorbed", ())]


def test_keys_holding_lists_and_objects_fold_by_their_contents(store: StateStore) -> None:
    text = 'rule r { when type == "x"\n by tags, where\n resolve when type == "ok" }'
    engine = engine_for(text, store)
    a = {"type": "x", "tags": ["a", "b"], "where": {"lat": 1, "lon": 2}}
    b = {"type": "x", "tags": ["a", "b"], "where": {"lon": 2, "lat": 1}}
    ok = {"type": "ok", "tags": ["a", "b"], "where": {"lat": 1, "lon": 2}}
    assert [d.kind for d in run(engine, [a, b, ok, a])] == [
        "fired",
        "absorbed",
        "resolved",
        "fired",
    ]


def test_a_rule_without_resolve_behaves_as_before(store: StateStore) -> None:
    text = 'rule r { when type == "breakdown"\n by vehicle_id\n suppress 10m }'
    decisions = run(engine_for(text, store), [breakdown(0), breakdown(60), operational(70)])
    assert [d.kind for d in decisions] == ["fired", "suppressed"]
    assert store.open_alerts("r").get(("v1",)) is None


def test_an_open_alert_pruned_from_history_no_longer_absorbs(store: StateStore) -> None:
    engine = engine_for(BREAKDOWN, store)
    (fired,) = run(engine, [breakdown(0)])
    with store.transaction():
        store.prune_alerts(T0 + 1)  # history retention took it
    decisions = run(engine, [breakdown(1200)])
    assert [d.kind for d in decisions] == ["fired"]
    assert decisions[0].alert is not None and decisions[0].alert.id != fired.alert_id


# The index of open alerts in SQLite --------------------------------------------------------------


def test_open_alerts_survive_a_reopen_and_still_absorb(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    (fired,) = run(engine_for(BREAKDOWN, first), [breakdown(0)])
    first.connection.close()  # no close(): as if killed after the commit

    again = SQLiteStore(path)
    engine = engine_for(BREAKDOWN, again)
    decisions = run(engine, [breakdown(60), operational(120), breakdown(1300)])
    assert [d.kind for d in decisions] == ["absorbed", "resolved", "fired"]
    assert fired.alert is not None and decisions[0].alert_id == fired.alert.id
    again.close()

    last = SQLiteStore(path)
    assert last.open_alerts("breakdown").get(("v1",)) == decisions[2].alert.id  # type: ignore[union-attr]
    record = last.get_alert(fired.alert.id)
    assert record is not None and record.match_count == 2
    last.close()


def test_a_batch_rolled_back_leaves_the_open_alerts_as_they_were(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = engine_for(BREAKDOWN, store)
    (fired,) = run(engine, [breakdown(0)])
    with pytest.raises(RuntimeError), store.transaction():
        engine.process(operational(60), T0, 0)
        assert store.open_alerts("breakdown").get(("v1",)) is None
        raise RuntimeError("the batch failed")
    assert store.open_alerts("breakdown").get(("v1",)) == fired.alert.id  # type: ignore[union-attr]
    with pytest.raises(RuntimeError), store.transaction():
        engine.process(breakdown(60), T0, 0)
        raise RuntimeError("the batch failed")
    record = store.get_alert(fired.alert.id)  # type: ignore[union-attr]
    assert record is not None and record.match_count == 1
    store.close()


def test_a_fold_into_an_alert_not_yet_written_is_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    engine = engine_for(BREAKDOWN, store)
    with store.transaction():
        decisions = engine.process_batch([breakdown(0), breakdown(5)], T0)
    assert [d.kind for d in decisions] == ["fired", "absorbed"]
    record = store.get_alert(decisions[0].alert.id)  # type: ignore[union-attr]
    assert record is not None and (record.match_count, record.last_event) == (2, breakdown(5))
    store.close()


def test_a_reload_without_the_rule_forgets_its_open_alerts(store: StateStore) -> None:
    engine = engine_for(BREAKDOWN, store)
    run(engine, [breakdown(0)])
    engine.replace_rules(RuleSet(compile_text('rule other { when type == "x" }')))
    assert store.open_alerts("breakdown").get(("v1",)) is None
