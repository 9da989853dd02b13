"""RuleSet's fused per-type matchers give exactly what each rule's own condition gives."""

from alertd.dsl import compile_text
from alertd.engine.ruleset import RuleSet

RULES = compile_text(
    """
    macro safety = type == "safety_event"
    list harsh = ["harsh_braking", "harsh_cornering"]
    rule critical { when safety and severity == "critical" }
    rule harsh_at_night { when safety and kind in harsh and (hour() >= 22 or hour() < 6) }
    rule fast { when type in ["location_update", "trip_update"] and speed > 120 }
    rule anywhere { when exists(vehicle_id) and vehicle_id startswith "TEST-" }
    rule never { when type == "a" and type == "b" }
    rule off { when safety
               enabled false }
    """
)
RULESET = RuleSet(RULES)

EVENTS = [
    {"type": "safety_event", "severity": "critical", "vehicle_id": "TEST-1"},
    {"type": "safety_event", "kind": "harsh_braking", "timestamp": "2026-01-01T23:10:00Z"},
    {"type": "safety_event", "kind": "harsh_braking", "timestamp": "2026-01-01T12:00:00Z"},
    {"type": "location_update", "speed": 130},
    {"type": "trip_update", "speed": "fast"},
    {"type": "geofence_event", "vehicle_id": "TEST-2"},
    {"vehicle_id": "V-1"},
    {"type": ["odd"], "vehicle_id": "TEST-3"},
    {},
]


def ids(rules: object) -> list[str]:
    return [r.id for r in rules]  # type: ignore[attr-defined]


def test_the_type_index_comes_from_the_conditions() -> None:
    by_id = RULESET.by_id
    assert by_id["critical"].event_types == frozenset({"safety_event"})
    assert by_id["fast"].event_types == frozenset({"location_update", "trip_update"})
    assert by_id["anywhere"].event_types is None
    assert by_id["never"].event_types == frozenset()
    assert ids(RULESET.candidates({"type": "geofence_event"})) == ["anywhere"]


def test_fused_matchers_agree_with_each_rule_condition() -> None:
    for event in EVENTS:
        expected = [r.id for r in RULESET.candidates(event) if r.enabled and r.condition(event)]
        assert ids(RULESET.match(event)) == expected, event


def test_fused_matchers_match_the_expected_rules() -> None:
    assert [ids(RULESET.match(e)) for e in EVENTS] == [
        ["critical", "anywhere"],
        ["harsh_at_night"],
        [],
        ["fast"],
        [],
        ["anywhere"],
        [],
        ["anywhere"],
        [],
    ]
