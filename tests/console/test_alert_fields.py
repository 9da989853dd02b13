"""Listing alerts by event fields (`AlertQuery.fields`, the console's `match=FIELD=VALUE`): the
memory and SQLite stores read a field's value as the same text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alertd.engine.ids import new_alert_id
from alertd.engine.memory_store import MemoryStore
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import AlertQuery, StateStore, field_text
from alertd.model import Alert
from tests.engine.builders import T0

EVENTS: list[dict[str, Any]] = [
    {"vehicle_id": "v-1", "location": {"city": "Amsterdam"}, "speed": 130, "idle": False},
    {"vehicle_id": "v-2", "location": {"city": "Utrecht"}, "speed": 88.5, "idle": True},
    {"vehicle_id": "v-1", "location": "not an object", "driver": None, "tags": ["a"]},
    {"vehicle_id": 1, "location": {"city": "Amsterdam", "zone": {"id": "z9"}}},
]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore = (
        MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    )
    with made.transaction():
        for index, event in enumerate(EVENTS):
            made.add_alert(
                Alert(
                    id=new_alert_id(T0 + index),
                    rule_id="r",
                    rule_name="R",
                    priority="high",
                    key=(),
                    event=event,
                    fired_at=T0 + index,
                    received_at=T0 + index,
                )
            )
    yield made
    made.close()


def matching(store: StateStore, *fields: tuple[str, str]) -> list[int]:
    """The indexes in EVENTS of the alerts listed for these field filters, in event order."""
    records = store.list_alerts(AlertQuery(fields=fields)).records
    events = [record.alert.event for record in records]
    return sorted(EVENTS.index(event) for event in events)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ((("vehicle_id", "v-1"),), [0, 2]),
        ((("vehicle_id", "1"),), [3]),  # a number is matched by its digits
        ((("location.city", "Amsterdam"),), [0, 3]),
        ((("location.city", "Amsterdam"), ("vehicle_id", "v-1")), [0]),
        ((("location.zone.id", "z9"),), [3]),
        ((("speed", "130"),), [0]),
        ((("speed", "88.5"),), [1]),
        ((("idle", "true"),), [1]),
        ((("idle", "false"),), [0]),
        ((("driver", "null"),), [2]),
        ((("tags", "a"),), []),  # a list is never equal to text
        ((("location", "not an object"),), [2]),
        ((("location.city", "amsterdam"),), []),  # exact, case and all
        ((("missing", ""),), []),
    ],
)
def test_alerts_are_listed_by_event_fields(
    store: StateStore, fields: tuple[tuple[str, str], ...], expected: list[int]
) -> None:
    assert matching(store, *fields) == expected


def test_field_text_reads_a_value_as_a_filter_compares_it() -> None:
    event = EVENTS[0]
    assert field_text(event, "location.city") == "Amsterdam"
    assert field_text(event, "speed") == "130"
    assert field_text(event, "idle") == "false"
    assert field_text(event, "location") is None
    assert field_text(event, "location.city.x") is None
