"""Why each rule of an event's scope did or did not fire: one `Verdict` per (event, rule).

`alertd test-rule --explain`, `POST /v1/explain` and the console's playground all show the same
thing, made here from the engine's decisions and the reference interpreter
(alertd.dsl.explain):

- a rule whose condition held has the engine's decision (fired, suppressed, counting, and the
  decisions later rule kinds add) and the state of its windows after the event, in `details`:
  `2 of 3 within 10m`, `suppressed until ...`;
- a rule of the event's scope (alertd.engine.ruleset: the rules that can match its type) whose
  condition did not hold is `no_match`, with the parts that were false (`failures`), as written
  and with the values they read; type mismatches are among them as such.

What a decision says about its windows comes from the detail hooks: a function of the rule, the
decision and the state store after the event, returning the `Detail`s that apply. The count
and suppress windows have theirs here; a rule kind of its own registers one with `@detail_hook`
(`for`: alertd.engine.sequence), so every view of a verdict shows its state without knowing
the kind.

A rule with prev() is explained with the values kept for the event's key before the event
(`previous_values`, read before the engine moves them on), as the engine decided with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd import jsonutil
from alertd.dsl.explain import Failure, Mismatch, explain
from alertd.dsl.runtime import mismatches_uncounted
from alertd.engine.details import Detail, details
from alertd.engine.engine import Engine
from alertd.engine.readonly import ReadOnlyView
from alertd.engine.ruleset import RuleSet
from alertd.engine.sequence import KeyState, kept_values, state_key, states_id
from alertd.engine.state import StateStore
from alertd.engine.steps import hashable
from alertd.model import Decision, Key, Rule
from alertd.wording import counted

NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one rule made of one event, and why."""

    event_index: int
    event_time: float
    rule_id: str
    decision: str  # the engine's decision kind, or "no_match"
    key: Key | None = None  # the decision's key; None for no_match
    details: tuple[Detail, ...] = ()  # the windows after the event (decisions only)
    failures: tuple[Failure, ...] = ()  # why the condition did not hold (no_match only)
    mismatches: tuple[Mismatch, ...] = ()  # every type mismatch met, failures' included
    source: Decision | None = None  # the engine's decision, for those who want the alert

    @property
    def matched(self) -> bool:
        return self.decision != NO_MATCH


def previous_values(
    rules: RuleSet, store: StateStore, event: Mapping[str, Any], time: float
) -> dict[str, tuple[Any, ...] | None]:
    """For each rule with prev() of the event's scope, the values kept for the event's key
    before it (None: no previous event, as for a late event or a forgotten key). Read before
    the engine takes the event: it moves them on."""
    found: dict[str, tuple[Any, ...] | None] = {}
    for rule in rules.candidates(event):
        spec = rule.sequence
        if spec is None or not spec.size:  # no prev(): nothing kept to read
            continue
        try:
            state = _key_state(store, rule, rule.key(event))
        except Exception:  # a compiled key never raises; the engine reports one that does
            state = None
        usable = state is not None and state[0] <= time < state[3]
        found[rule.id] = kept_values(state[2]) if usable and state is not None else None
    return found


def _key_state(store: StateStore, rule: Rule, key: Key) -> KeyState | None:
    states = store.key_states(states_id(rule))
    try:
        return states.get(state_key(key))
    except TypeError:  # a list or an object in the key, kept by its contents
        return states.get(hashable(key))


def verdicts(
    rules: RuleSet,
    event: Mapping[str, Any],
    index: int,
    time: float,
    decisions: Sequence[Decision],
    *,
    store: StateStore | None = None,
    previous: Mapping[str, tuple[Any, ...] | None] | None = None,
) -> list[Verdict]:
    """The verdict of every rule of the event's scope, in file order, given the decisions the
    engine made for it (those of this event only), the store after it (for the details of the
    windows) and what `previous_values` gave before it. A rule that cannot match the event but
    whose `resolve when` it met is there with its "resolved"."""
    made = {decision.rule_id: decision for decision in decisions if decision.event_index == index}
    found: list[Verdict] = []
    scope = list(rules.candidates(event))
    scope += [r for r in rules.resolvers(event) if r.id in made and r not in scope]
    for rule in scope:
        explanation = explain(rule, event, (previous or {}).get(rule.id))
        mismatches = explanation.mismatches if explanation is not None else ()
        decision = made.get(rule.id)
        if decision is not None:
            found.append(
                Verdict(
                    index,
                    time,
                    rule.id,
                    decision.kind,
                    decision.key,
                    details(rule, decision, store),
                    mismatches=mismatches,
                    source=decision,
                )
            )
        else:
            failures = explanation.failures if explanation is not None else ()
            found.append(
                Verdict(index, time, rule.id, NO_MATCH, failures=failures, mismatches=mismatches)
            )
    return found


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One event's verdicts against a set of rules and the live state, which it left alone."""

    event_time: float
    verdicts: list[Verdict]


def what_if(
    engine: Engine, event: object, received_at: float, rules: RuleSet | None = None
) -> WhatIf:
    """What `event` would do if it arrived now: the verdict of every rule of its scope (of
    `engine`'s rules, or of `rules`, tried on the same state), against the engine's live
    windows, alerts and timers, changing none of them and counting nothing.

    Raises InvalidEvent (alertd.engine.errors) for an event the engine would refuse.
    """
    trial = Engine(
        rules if rules is not None else engine.rules,
        ReadOnlyView(engine.store),
        timestamp_field=engine.timestamp_field,
        max_count_events=engine.max_count_events,
        max_future=engine.max_future,
        max_past=engine.max_past,
        stamp=engine.stamp,  # a missing timestamp: the arrival as the engine stamps it
    )
    time = trial.event_time(event, received_at)  # raises InvalidEvent, as process would
    assert isinstance(event, Mapping)  # event_time accepted it
    previous = previous_values(trial.rules, trial.store, event, time)
    with mismatches_uncounted():
        decisions = trial.process(event, received_at)
        found = verdicts(
            trial.rules, event, 0, time, decisions, store=trial.store, previous=previous
        )
    return WhatIf(time, found)


def verdict_view(verdict: Verdict) -> dict[str, Any]:
    """A verdict as JSON (`test-rule --explain`, `POST /v1/explain`): `rule` and `decision`;
    for a decision its `key` and its windows (`"window": "2 of 3 within 10m"`,
    `"suppressed_until": ISO`, ...); for a no-match `failed` (the first false part, as
    written), `at`, `values`, `type_mismatch` when kinds made it false, and `alternatives`
    (each `{failed, at, values}`) for an `or` none of whose alternatives held."""
    view: dict[str, Any] = {"rule": verdict.rule_id, "decision": verdict.decision}
    if verdict.matched:
        view["key"] = list(verdict.key or ())
        for detail in verdict.details:
            view[detail.name] = detail.value
        return view
    if verdict.failures:
        view.update(_failure_view(verdict.failures[0]))
    if len(verdict.failures) > 1:
        view["alternatives"] = [_failure_view(failure) for failure in verdict.failures]
    return view


def _failure_view(failure: Failure) -> dict[str, Any]:
    view: dict[str, Any] = {
        "failed": failure.text,
        "at": str(failure.where),
        "values": {operand.text: operand.value for operand in failure.values},
    }
    if failure.mismatch:
        view["type_mismatch"] = failure.mismatch
    return view


def mismatch_view(mismatch: Mismatch) -> dict[str, Any]:
    """A type mismatch as JSON: the part of the rule as written, where, what was wrong, and the
    values it met with their kinds."""
    return {
        "expression": mismatch.text,
        "at": str(mismatch.where),
        "problem": mismatch.problem,
        "values": [
            {"expression": o.text, "value": o.value, "kind": o.kind} for o in mismatch.operands
        ],
    }


def failure_text(failure: Failure, *, values: bool = True) -> str:
    """A failure on one line: `speed_kmh > 120 is false (speed_kmh = 100)`, or with a type
    mismatch `speed_kmh > 120: a string compared with a number (speed_kmh = "130")`."""
    if failure.mismatch:
        shown = f"{failure.text}: {failure.mismatch}"
    else:
        shown = f"{failure.text} is false"
    read = values_text(failure) if values else ""
    return " ".join((shown + (f" ({read})" if read else "")).split())


def values_text(failure: Failure) -> str:
    """`speed_kmh = 100, limit = 90`: the values a failure read, as JSON."""
    return ", ".join(f"{o.text} = {_short(_json(o.value))}" for o in failure.values)


def why_not(verdict: Verdict) -> str:
    """A no_match verdict in a few words: the one failure, or how many alternatives failed."""
    if len(verdict.failures) == 1:
        return failure_text(verdict.failures[0])
    if not verdict.failures:
        return "the condition did not hold"
    return f"none of {counted(len(verdict.failures), 'alternative')} held:"


_VALUE_CHARS = 60


def _json(value: object) -> str:
    return jsonutil.dumps(value, default=str, option=jsonutil.OPT_NON_STR_KEYS).decode()


def _short(text: str) -> str:
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
