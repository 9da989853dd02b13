"""What a rule's state is after a decision, in words and JSON: the detail hooks.

A `Detail` is one fact (`2 of 3 within 10m`, `suppressed until ...`, `held for 1m20s of 2m`);
a hook is a function of the rule, its decision and the state store after the event that
returns the details that apply. The count and suppress windows have theirs here; a rule kind
of its own registers one with `@detail_hook` where it is made (`for`: alertd.engine.sequence),
so that every view of a decision (`alertd test-rule`, `POST /v1/explain`, the console's
playground: alertd.engine.verdicts) shows its state without knowing the kind.

A leaf module: the engine's parts import it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from alertd.durations import format_duration
from alertd.engine.eventtime import format_time
from alertd.engine.state import StateStore
from alertd.model import Decision, Rule


@dataclass(frozen=True, slots=True)
class Detail:
    """One fact about a rule's windows after an event: `name` and `value` for JSON (`"window":
    "2 of 3 within 10m"`), `text` for people (`2 of 3 within 10m`)."""

    name: str
    value: Any
    text: str


DetailHook = Callable[[Rule, Decision, StateStore | None], Iterable[Detail]]
"""`hook(rule, decision, store)`: what the rule's state is after the decision; `store` holds
the state after the event (None where no store is at hand: details from the decision alone)."""
DETAIL_HOOKS: list[DetailHook] = []


def detail_hook(hook: DetailHook) -> DetailHook:
    """Register what a rule kind says about its state after a decision (see the module doc)."""
    DETAIL_HOOKS.append(hook)
    return hook


def details(
    rule: Rule | None, decision: Decision, store: StateStore | None = None
) -> tuple[Detail, ...]:
    """Every registered hook's details for a decision of `rule` (none for an unknown rule)."""
    if rule is None:
        return ()
    return tuple(detail for hook in DETAIL_HOOKS for detail in hook(rule, decision, store))


@detail_hook
def _count_window(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    count = rule.count
    if count is None:
        return
    within = format_duration(count.within)
    if decision.kind == "counting" and decision.count is not None:
        text = f"{decision.count} of {count.threshold} within {within}"
        yield Detail("window", text, text)
    elif decision.kind == "fired":
        reached = f"{count.threshold} of {count.threshold} within {within}"
        yield Detail("window", reached, f"{count.threshold} within {within}")


@detail_hook
def _suppression(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    if decision.kind == "suppressed" and decision.suppressed_until is not None:
        until = format_time(decision.suppressed_until)
        yield Detail("suppressed_until", until, f"suppressed until {until}")
    alert = decision.alert
    if decision.kind == "fired" and alert is not None and alert.suppressed_count:
        n = alert.suppressed_count
        yield Detail("suppressed_count", n, f"{n} suppressed since the last alert")
