"""State is bounded: a million distinct keys whose windows have passed leave the store near
empty, so memory and disk follow the number of live keys, not the length of history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore, StoreSize
from tests.engine.builders import T0, make_engine, make_rule

WINDOW = 60.0


def engine_for(store: StateStore) -> Engine:
    return make_engine(
        make_rule("many", count=(3, WINDOW, ("vehicle_id",))),
        make_rule("crit", suppress=(WINDOW, ("vehicle_id",)), when=lambda e: e["n"] % 100 == 0),
        store=store,
    )


def distinct_keys(count: int) -> Iterator[list[dict[str, object]]]:
    """`count` events, each for a new vehicle, 1 ms apart, in batches of 10,000."""
    for start in range(0, count, 10_000):
        yield [
            {"vehicle_id": n, "timestamp": T0 + n / 1000, "n": n}
            for n in range(start, min(count, start + 10_000))
        ]


def arrival(batch: list[dict[str, object]]) -> float:
    """Live, a batch arrives just after its newest event."""
    return float(batch[-1]["timestamp"]) + 0.5  # type: ignore[arg-type]


def fill_then_sweep(engine: Engine, keys: int) -> tuple[StoreSize, StoreSize]:
    for batch in distinct_keys(keys):
        engine.process_batch(batch, received_at=arrival(batch))
    full = engine.store.size()
    # An hour later one more event arrives; the periodic sweep runs.
    engine.process({"vehicle_id": "late", "timestamp": T0 + 3600, "n": 1}, T0 + 3600)
    engine.sweep()
    return full, engine.store.size()


def test_a_million_expired_keys_leave_the_memory_store_near_empty() -> None:
    full, swept = fill_then_sweep(engine_for(MemoryStore()), 1_000_000)
    assert (full.count_windows, full.suppressions) == (1_000_000, 10_000)
    assert (swept.count_windows, swept.suppressions) == (1, 0)


def test_expired_keys_leave_the_sqlite_store_near_empty(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    full, swept = fill_then_sweep(engine_for(store), 200_000)
    assert (full.count_windows, full.suppressions) == (200_000, 2_000)
    assert (swept.count_windows, swept.suppressions) == (1, 0)
    store.close()


def test_only_windows_that_have_passed_are_evicted() -> None:
    store = MemoryStore()
    engine = engine_for(store)
    for batch in distinct_keys(100_000):  # the last event is at T0 + 99.999 s
        engine.process_batch(batch, received_at=arrival(batch))
    engine.sweep()
    # Windows of the last minute are still live: exactly the keys after T0 + 39.999 s.
    assert store.size().count_windows == 60_000
