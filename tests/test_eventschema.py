"""The event schema file (alertd.eventschema): read with every mistake where it is, and events
held to it (what `alertd test-rule --strict` reports)."""

from __future__ import annotations

from pathlib import Path

from alertd.eventschema import EventSchema, event_problems, load_schema

REPO = Path(__file__).resolve().parents[1]

SCHEMA = """\
"*":
  type: string
  timestamp: time
  vehicle_id: string
location_update:
  speed_kmh: number
  engine_on: boolean
  location: {latitude: number, longitude: number}
breakdown:
"""


def schema(tmp_path: Path, text: str = SCHEMA) -> EventSchema:
    path = tmp_path / "events.yaml"
    path.write_text(text)
    loaded, errors = load_schema(path)
    assert errors == []
    assert loaded is not None
    return loaded


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "events.yaml"
    path.write_text(text)
    loaded, errors = load_schema(path)
    assert loaded is None
    return [error.format().replace(str(path), "events.yaml") for error in errors]


def test_a_schema_lists_each_types_fields_with_the_common_ones(tmp_path: Path) -> None:
    loaded = schema(tmp_path)
    assert sorted(loaded.types) == ["breakdown", "location_update"]
    fields = loaded.fields_of("location_update")
    assert {name: spec.kind for name, spec in fields.items()} == {
        "type": "string",
        "timestamp": "time",
        "vehicle_id": "string",
        "speed_kmh": "number",
        "engine_on": "boolean",
        "location": "object",
    }
    assert fields["speed_kmh"].where == f"{tmp_path / 'events.yaml'}:6:14"
    location = fields["location"].fields
    assert location is not None and set(location) == {"latitude", "longitude"}
    assert set(loaded.fields_of("breakdown")) == {"type", "timestamp", "vehicle_id"}


def test_every_mistake_in_the_file_is_reported_where_it_is(tmp_path: Path) -> None:
    text = "location_update:\n  speed_kmh: nmber\n  speed_kmh: number\n  heading: [1]\nbad: 3\n"
    assert errors_of(tmp_path, text) == [
        "events.yaml:2:14: error: unknown kind 'nmber' for field 'speed_kmh'\n"
        "  speed_kmh: nmber\n"
        "             ^\n"
        "hint: did you mean 'number'?",
        "events.yaml:3:3: error: duplicate field 'speed_kmh'\n  speed_kmh: number\n  ^",
        "events.yaml:4:12: error: field 'heading': expected a kind (string, number, boolean, "
        "object, list or time)\n  heading: [1]\n           ^",
        "events.yaml:5:6: error: the fields of 'bad' must be a mapping of names to kinds\n"
        "bad: 3\n     ^",
    ]


def test_a_broken_or_missing_file_says_so(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "a: [\n") == [
        "events.yaml:2:1: error: invalid YAML: "
        "expected the node content, but found '<stream end>'\n\n^"
    ]
    assert errors_of(tmp_path, "- a\n- b\n")[0].startswith(
        "events.yaml:1:1: error: expected a mapping of event types to their fields"
    )
    missing, errors = load_schema(tmp_path / "nope.yaml")
    assert missing is None
    assert [e.format() for e in errors] == [
        f"{tmp_path / 'nope.yaml'}: error: no such event schema file ([rules] schema)"
    ]


def test_events_that_break_the_schema_say_how(tmp_path: Path) -> None:
    loaded = schema(tmp_path)
    assert event_problems(loaded, {"type": "location_update", "speed_kmh": 90}) == []
    assert event_problems(loaded, {"type": "location_update", "speed_kmh": None}) == []
    assert event_problems(
        loaded,
        {
            "type": "location_update",
            "speed_kph": 90,
            "engine_on": "yes",
            "timestamp": "yesterday",
            "location": {"latitude": "52.1", "lng": 4.3},
        },
    ) == [
        "field 'speed_kph' is not in the schema for 'location_update' events "
        "(did you mean 'speed_kmh'?)",
        "field 'engine_on' is a string, but the schema says boolean "
        f"({tmp_path / 'events.yaml'}:7:14)",
        "field 'timestamp' is a string, but the schema says time "
        f"({tmp_path / 'events.yaml'}:3:14)",
        "field 'location.latitude' is a string, but the schema says number "
        f"({tmp_path / 'events.yaml'}:8:24)",
        "field 'location.lng' is not in the schema for 'location_update' events",
    ]
    assert event_problems(loaded, {"type": "location_updat"}) == [
        f"event type 'location_updat' is not in the schema {tmp_path / 'events.yaml'} "
        "(did you mean 'location_update'?)"
    ]


def test_the_shipped_schema_reads_and_fits_the_shipped_sample_events() -> None:
    loaded, errors = load_schema(REPO / "rules" / "events.yaml")
    assert errors == []
    assert loaded is not None
    assert {"safety_event", "location_update", "geofence_event", "breakdown"} <= set(loaded.types)
