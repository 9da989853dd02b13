"""Rules held to the event schema (alertd.dsl.schema_check): fields no event of a rule's scope
has, comparisons of the wrong kind, unknown event types; each where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.dsl import compile_text
from alertd.dsl.schema_check import schema_problems
from alertd.eventschema import EventSchema, load_schema

SCHEMA = """\
"*":
  type: string
  timestamp: time
  vehicle_id: string
  location: {latitude: number, longitude: number}
location_update:
  speed_kmh: number
  engine_on: boolean
safety_event:
  severity: string
  kind: string
"""


@pytest.fixture
def schema(tmp_path: Path) -> EventSchema:
    path = tmp_path / "events.yaml"
    path.write_text(SCHEMA)
    loaded, errors = load_schema(path)
    assert errors == [] and loaded is not None
    return loaded


def problems(schema: EventSchema, text: str) -> list[str]:
    rules = compile_text(text, "fleet.rules")
    return [error.format() for error in schema_problems(rules, schema)]


def test_a_field_no_event_of_the_scope_has_is_reported_with_what_was_meant(
    schema: EventSchema,
) -> None:
    text = 'rule speeding {\n  when type == "location_update" and speed_kph > 120\n}\n'
    assert problems(schema, text) == [
        "fleet.rules:2:38: error: no event of type location_update has a field 'speed_kph'\n"
        '  when type == "location_update" and speed_kph > 120\n'
        "                                     ^^^^^^^^^\n"
        "hint: did you mean 'speed_kmh'?"
    ]


def test_a_field_of_another_type_is_not_in_the_scope(schema: EventSchema) -> None:
    text = 'rule r { when type == "safety_event" and speed_kmh > 120 }'
    assert problems(schema, text)[0].startswith(
        "fleet.rules:1:42: error: no event of type safety_event has a field 'speed_kmh'"
    )
    # A rule of both types may read it: some event of its scope has it.
    both = 'rule r { when type in ["safety_event", "location_update"] and speed_kmh > 120 }'
    assert problems(schema, both) == []
    # A rule that names no type may read any field some type has.
    assert problems(schema, 'rule r { when speed_kmh > 120 and severity == "high" }') == []


def test_comparisons_of_the_wrong_kind_are_always_false(schema: EventSchema) -> None:
    text = """\
rule r {
  when type == "location_update" and (speed_kmh > "120" or engine_on == 1
       or vehicle_id == 7 or timestamp > "2026-01-01T00:00:00Z" or engine_on in [true])
}
"""
    assert [p.splitlines()[0] for p in problems(schema, text)] == [
        "fleet.rules:2:49: error: speed_kmh is a number in location_update events, compared "
        "with a string",
        "fleet.rules:2:70: error: engine_on is a boolean in location_update events, compared "
        "with a number",
        "fleet.rules:3:22: error: vehicle_id is a string in location_update events, compared "
        "with a number",
    ]


def test_nested_fields_are_checked_where_the_schema_lists_them(schema: EventSchema) -> None:
    text = 'rule r { when type == "safety_event" and location.latitud > 52 }'
    assert problems(schema, text)[0].splitlines()[::3] == [
        "fleet.rules:1:42: error: no event of type safety_event has a field 'location.latitud'",
        "hint: did you mean 'latitude'?",
    ]
    assert problems(schema, 'rule r { when location.latitude > "52" }')[0].startswith(
        "fleet.rules:1:33: error: location.latitude is a number, compared with a string"
    )


def test_an_unknown_event_type_is_reported_with_what_was_meant(schema: EventSchema) -> None:
    assert problems(schema, 'rule r { when type == "safty_event" }') == [
        "fleet.rules:1:23: error: the event schema "
        f"{schema.path} has no event type 'safty_event'\n"
        'rule r { when type == "safty_event" }\n'
        "                      ^^^^^^^^^^^^^\n"
        "hint: did you mean 'safety_event'?"
    ]


def test_a_macro_is_checked_where_it_is_written_for_each_rule_using_it(
    schema: EventSchema,
) -> None:
    text = """\
macro fast = speed_kmh > 120
rule a { when type == "location_update" and fast }
rule b { when type == "safety_event" and fast }
"""
    assert [p.splitlines()[0] for p in problems(schema, text)] == [
        "fleet.rules:1:14: error: no event of type safety_event has a field 'speed_kmh' "
        "(in rule 'b')"
    ]


def test_keys_are_checked_too(schema: EventSchema) -> None:
    text = 'rule r {\n  when type == "safety_event"\n  suppress 5m by vehicle, kind\n}'
    assert [p.splitlines()[0] for p in problems(schema, text)] == [
        "fleet.rules:3:18: error: no event of type safety_event has a field 'vehicle'"
    ]


def test_absent_and_group_keys_are_checked_too(schema: EventSchema) -> None:
    # A misspelt key of `absent ... by` would watch the whole fleet as one key (all null), and
    # one of `group by` would put every alert in one group: neither pages as written.
    silent = 'rule r {\n  when type == "location_update"\n  absent 15m by vehicle_idd\n}'
    assert [p.splitlines()[0] for p in problems(schema, silent)] == [
        "fleet.rules:3:17: error: no event of type location_update has a field 'vehicle_idd'"
    ]
    grouped = 'rule r {\n  when type == "safety_event"\n  group by severty wait 2m\n}'
    assert [p.splitlines()[0] for p in problems(schema, grouped)] == [
        "fleet.rules:3:12: error: no event of type safety_event has a field 'severty'"
    ]
    spelt = 'rule r {\n  when type == "location_update"\n  absent 15m by vehicle_id\n}'
    assert problems(schema, spelt) == []


def test_a_previous_value_compared_with_the_wrong_kind_is_reported(schema: EventSchema) -> None:
    # prev(x) is x on an earlier event: of x's kinds, or null. A crossing written with a quoted
    # threshold never fires.
    text = (
        'rule r {\n  when type == "location_update" and speed_kmh > 120'
        ' and prev(speed_kmh) <= "120"\n  by vehicle_id\n}'
    )
    assert [p.splitlines()[0] for p in problems(schema, text)] == [
        "fleet.rules:2:74: error: prev(speed_kmh) is a number in location_update events, "
        "compared with a string"
    ]


def test_resolve_when_is_held_to_the_types_it_is_tried_on(schema: EventSchema) -> None:
    # It may read the fields of the types it names itself, and of the rule's own.
    text = (
        'rule r { when type == "safety_event"\n  by vehicle_id\n'
        '  resolve when (type == "location_update" and engine_on == true)\n'
        '            or (type == "safety_event" and severity == "low") }'
    )
    assert problems(schema, text) == []
    typo = [line.split("\n")[0] for line in problems(schema, text.replace("engine_on", "engin_on"))]
    assert typo == [
        "fleet.rules:3:47: error: no event of type location_update or safety_event has a field "
        "'engin_on'"
    ]
    typo = [line.split("\n")[0] for line in problems(schema, text.replace("n_update", "n_updat"))]
    assert (
        "fleet.rules:3:25: error: the event schema "
        + str(schema.path)
        + (" has no event type 'location_updat'")
        in typo
    )
    # A resolve condition that names no type is tried on the rule's types only.
    only = 'rule r { when type == "safety_event"\n by vehicle_id\n resolve when engine_on == true }'
    assert problems(schema, only)[0].startswith(
        "fleet.rules:3:15: error: no event of type safety_event has a field 'engine_on'"
    )
