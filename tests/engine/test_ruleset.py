"""The index by event type: an event meets only the rules that can match it."""

from alertd.engine.ruleset import RuleSet
from alertd.model import Rule


def rule(rule_id: str, types: set[str] | None, enabled: bool = True) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id,
        condition=lambda event: event.get("ok") is True,
        event_types=None if types is None else frozenset(types),
        enabled=enabled,
    )


RULES = RuleSet(
    [
        rule("safety", {"safety_event"}),
        rule("anything", None),
        rule("trip_or_geo", {"trip_update", "geofence_event"}),
        rule("disabled", {"safety_event"}, enabled=False),
    ]
)


def ids(rules: object) -> list[str]:
    return [r.id for r in rules]  # type: ignore[attr-defined]


def test_candidates_follow_the_type_index_in_file_order() -> None:
    assert ids(RULES.candidates({"type": "safety_event"})) == ["safety", "anything"]
    assert ids(RULES.candidates({"type": "geofence_event"})) == ["anything", "trip_or_geo"]
    assert ids(RULES.candidates({"type": "location_update"})) == ["anything"]
    assert ids(RULES.candidates({})) == ["anything"]
    assert ids(RULES.candidates({"type": ["not", "hashable"]})) == ["anything"]


def test_match_applies_conditions_and_skips_disabled_rules() -> None:
    assert ids(RULES.match({"type": "safety_event", "ok": True})) == ["safety", "anything"]
    assert RULES.match({"type": "safety_event", "ok": False}) == []
    assert "disabled" in RULES.by_id
