"""RuleSet's fused per-type matchers give exactly what each rule's own condition gives."""

import pytest

from alertd.dsl import compile_text, mismatch_counts
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


def _matched_and_counted(ruleset: RuleSet, event: dict[str, object]) -> tuple[list[str], int]:
    """The rules the fused matcher gives for the event, and the mismatches it counted."""
    before = sum(mismatch_counts().get(rule.id, 0) for rule in ruleset.rules)
    matched = ids(ruleset.match(event))
    return matched, sum(mismatch_counts().get(rule.id, 0) for rule in ruleset.rules) - before


BERLIN = {"latitude": 52.520008, "longitude": 13.404954}


@pytest.mark.parametrize(
    ("location", "near"),
    [
        (BERLIN, ["near_berlin", "near_berlin_or_far"]),
        ({"latitude": 52.52, "longitude": 14.5}, []),  # the same latitude, 74 km east
        ({"latitude": 52.61, "longitude": 13.404954}, ["near_berlin_or_far"]),  # 10 km north
        ({"latitude": 52, "longitude": 13}, []),  # an int
        ({"latitude": 53.5, "longitude": 10.0}, []),
        ({"lat": 52.520008, "lon": 13.404954}, ["near_berlin", "near_berlin_or_far"]),
        ({"longitude": 13.404954}, []),
        ({"latitude": 52.520008}, []),
        ({"latitude": "52.52", "longitude": 13.404954}, []),  # a mismatch: counted
        ({"latitude": True, "longitude": 13.404954}, []),  # a mismatch: counted
        ({"latitude": None, "lat": 52.520008, "lon": 13.404954}, []),
        ([52.520008, 13.404954], []),  # a mismatch: counted
        (None, []),
    ],
)
def test_a_distance_test_refuses_far_latitudes_inline_as_the_function_does(
    location: object, near: list[str]
) -> None:
    """The fused matcher tests a location's latitude before calling within_km (a fast path
    for most points): the same rules and the same mismatches as each rule's own condition."""
    ruleset = RuleSet(
        compile_text(
            """
            rule near_berlin { when distance_km(location, 52.52, 13.405) < 5 }
            rule near_berlin_or_far { when distance_km(location, 52.52, 13.405) < 25 }
            rule numbered { when location.latitude > 0
                            and distance_km(location, 52.52, 13.405) < 5 }
            """
        )
    )
    event = {"location": location}
    counted = sum(mismatch_counts().get(rule.id, 0) for rule in ruleset.rules)
    expected = [r.id for r in ruleset.rules if r.condition(event)]
    own = sum(mismatch_counts().get(rule.id, 0) for rule in ruleset.rules) - counted
    assert _matched_and_counted(ruleset, event) == (expected, own)
    assert [r for r in expected if r != "numbered"] == near
