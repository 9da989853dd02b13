"""Compiled rules indexed by event type, so an event meets only the rules that can match it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alertd.dsl.event_types import TYPE_FIELD
from alertd.dsl.matcher import Matcher, compile_matcher
from alertd.model import Event, Rule


class RuleSet:
    """An immutable set of enabled rules with an index from event type to candidate rules.

    A rule whose condition requires `type == "x"` or `type in [...]` is listed under those
    types only; every other rule is a candidate for every event. For each event type, the
    conditions of its candidates are fused into one generated function (see
    alertd.dsl.matcher), in which `type == "x"` tests are already decided.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.by_id: dict[str, Rule] = {rule.id: rule for rule in self.rules}
        enabled = [rule for rule in self.rules if rule.enabled]
        self._any_type: tuple[Rule, ...] = tuple(r for r in enabled if r.event_types is None)
        types = sorted({t for r in enabled if r.event_types is not None for t in r.event_types})
        # Keep file order within each type so decisions come out in a stable order.
        self._by_type: dict[object, tuple[Rule, ...]] = {
            t: tuple(r for r in enabled if r.event_types is None or t in r.event_types)
            for t in types
        }
        self._match_any: Matcher = compile_matcher(self._any_type, None)
        self._match_by_type: dict[object, Matcher] = {
            t: compile_matcher(candidates, str(t)) for t, candidates in self._by_type.items()
        }
        # Rules with `resolve when`, by the event types it is tried on (see ResolveSpec).
        scopes = {r: r.resolve.event_types for r in enabled if r.resolve and r.resolve.when}
        self.resolving: tuple[Rule, ...] = tuple(scopes)
        self._resolve_any = tuple(r for r, scope in scopes.items() if scope is None)
        resolve_types = {t for scope in scopes.values() if scope is not None for t in scope}
        self._resolve_by_type: dict[object, tuple[Rule, ...]] = {
            t: tuple(r for r, scope in scopes.items() if scope is None or t in scope)
            for t in sorted(resolve_types)
        }

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, event: Event) -> Sequence[Rule]:
        """The enabled rules that may match this event, in file order."""
        kind = event.get(TYPE_FIELD)
        try:
            return self._by_type.get(kind, self._any_type)
        except TypeError:  # an unhashable "type" (a list, an object) matches no indexed rule
            return self._any_type

    def resolvers(self, event: Event) -> Sequence[Rule]:
        """The enabled rules whose `resolve when` is tried on this event, in file order."""
        kind = event.get(TYPE_FIELD)
        try:
            return self._resolve_by_type.get(kind, self._resolve_any)
        except TypeError:
            return self._resolve_any

    def match(self, event: Event) -> list[Rule]:
        """The enabled rules whose condition holds for this event, in file order."""
        try:
            matcher = self._match_by_type.get(event.get(TYPE_FIELD), self._match_any)
        except TypeError:  # an unhashable "type"
            matcher = self._match_any
        return matcher(event)
