"""Hand-built rules and events for engine tests: the engine does not need the rule language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.state import StateStore
from alertd.model import CountSpec, Decision, Event, KeyFunction, NotifyTarget, Rule, SuppressSpec

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def by(*fields: str) -> KeyFunction:
    """A `by` clause over top-level fields; a missing field keys as None (null)."""
    if len(fields) == 1:
        [name] = fields
        return lambda event: (event.get(name),)
    return lambda event: tuple([event.get(name) for name in fields])


def make_rule(
    rule_id: str = "r",
    *,
    when: Callable[[Event], bool] = lambda event: True,
    types: set[str] | None = None,
    count: tuple[int, float, tuple[str, ...]] | None = None,
    suppress: tuple[float, tuple[str, ...]] | None = None,
    **fields: Any,
) -> Rule:
    """`count=(N, W, ("vehicle_id",))`, `suppress=(D, ("vehicle_id",))`."""
    return Rule(
        id=rule_id,
        name=fields.pop("name", rule_id.replace("_", " ").title()),
        condition=when,
        event_types=None if types is None else frozenset(types),
        count=None if count is None else CountSpec(count[0], count[1], by(*count[2]), count[2]),
        suppress=None if suppress is None else SuppressSpec(suppress[0], by(*suppress[1])),
        notify=fields.pop("notify", (NotifyTarget("sms"),)),
        **fields,
    )


def make_engine(*rules: Rule, store: StateStore | None = None, **options: Any) -> Engine:
    return Engine(RuleSet(rules), store if store is not None else MemoryStore(), **options)


def event(at: float, **fields: Any) -> dict[str, Any]:
    """An event `at` seconds after T0."""
    return {"type": "safety_event", "timestamp": T0 + at, **fields}


def kinds(decisions: list[Decision]) -> list[str]:
    return [decision.kind for decision in decisions]


def replay(engine: Engine, events: list[dict[str, Any]], received_at: float = T0) -> list[str]:
    """Feed events one by one; the kind of each one's decision ('-' when nothing matched)."""
    out = []
    for index, item in enumerate(events):
        decisions = engine.process(item, received_at, index)
        out.append(",".join(kinds(decisions)) or "-")
    return out
