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


THRESHOLDS = RuleSet(
    compile_text(
        """
        rule over_90 { when speed > 90 }
        rule over_100 { when 100 < speed }
        rule over_80_5 { when speed > 80.5 }
        rule at_least_120 { when speed >= 120 }
        rule between { when speed > 50 and speed < 60 }
        rule fuel_under_20 { when fuel < 20 }
        rule fuel_under_5 { when fuel < 5 }
        rule fuel_under_10 { when 10 > fuel }
        rule huge { when fuel < 100000000000000000000000000000000000000000000000000000000000000 }
        rule over_90_again { when speed > 90 }
        """
    )
)


@pytest.mark.parametrize(
    "event",
    [
        {"speed": 95, "fuel": 30},
        {"speed": 90, "fuel": 20},
        {"speed": 80.5, "fuel": 4.99},
        {"speed": 120, "fuel": 10},
        {"speed": 55, "fuel": 10**70},
        {"speed": 10**400, "fuel": -(10**400)},
        {"speed": float("inf"), "fuel": float("-inf")},
        {"speed": float("nan"), "fuel": float("nan")},
        {"speed": 0, "fuel": 0},
        {"fuel": 3},  # no speed: the general path
        {"speed": "130", "fuel": 3},  # a mismatch: counted
        {"speed": True, "fuel": 3},  # a mismatch: counted
        {"speed": None, "fuel": None},
        {"speed": [130], "fuel": {"level": 3}},
    ],
)
def test_runs_of_thresholds_match_as_each_rule_does(event: dict[str, object]) -> None:
    """The fused matcher tests a run of thresholds of one field (`speed > 90`, `100 < speed`,
    ...) by its loosest bound first: the same rules and mismatches as each rule's own
    condition, whatever the field holds."""
    counted = sum(mismatch_counts().get(rule.id, 0) for rule in THRESHOLDS.rules)
    expected = [r.id for r in THRESHOLDS.rules if r.condition(event)]
    own = sum(mismatch_counts().get(rule.id, 0) for rule in THRESHOLDS.rules) - counted
    assert _matched_and_counted(THRESHOLDS, event) == (expected, own)


def test_runs_of_thresholds_give_the_expected_rules() -> None:
    assert ids(THRESHOLDS.match({"speed": 95, "fuel": 7})) == [
        "over_90",
        "over_80_5",
        "fuel_under_20",
        "fuel_under_10",
        "huge",
        "over_90_again",
    ]
    assert ids(THRESHOLDS.match({"speed": 120, "fuel": 30})) == [
        "over_90",
        "over_100",
        "over_80_5",
        "at_least_120",
        "huge",
        "over_90_again",
    ]
