"""Rules that keep state over the events of their scope, per key: `prev()`, `changed()` and
`for DURATION` (alertd.model.SequenceSpec).

Such a rule sees every event of its scope (its event types, or all events), matching or not:
the rule set offers it each one (alertd.dsl.matcher), and its step, made here, decides whether
the condition holds, given the values kept from the key's previous event, and passes the event
on to the rule's ordinary step (count, suppress, alert: alertd.engine.steps) when it does and,
with `for`, when the key's run of matching events has lasted long enough. Most events of the
scope do not match, and each costs what a plain rule's rejected event does not (its key's
state read and written), so the step is generated code (alertd.dsl.sequence_step, the rule's
key and kept values inline, as its condition is) bound here to the store's table.

What is kept per rule and key is one `KeyState`. Semantics, in event time (docs/rules.md):

- The previous event of a key is the newest event of the rule's scope seen for it before. An
  event older than that one (a late event) has no previous event (every prev() is null) and
  changes nothing that is kept: its own values are older than the kept ones.
- `for D`: a run starts with a matching event and lasts while the key's events match; an
  event of the scope that does not match ends it. A matching event at least D after the start
  of its run matches; an earlier one is `counting`. A late event is judged against the run as
  it is, and neither starts nor ends one.
- A key unseen for the rule's `forget` (7 days by default) is forgotten: an event that much
  newer than the key's newest one starts afresh, as its first, and the sweep drops what was
  kept (so when the sweep runs never changes a decision).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator
from types import FunctionType
from typing import Any

from alertd.dsl.compiler import compile_source
from alertd.dsl.runtime import SCALAR_TYPES
from alertd.dsl.sequence_step import step_source
from alertd.durations import format_duration
from alertd.engine.details import Detail, detail_hook
from alertd.engine.state import StateStore
from alertd.engine.steps import hashable
from alertd.model import Decision, Event, Key, Rule, SequenceSpec

KeyState = tuple[float, float | None, Any, float]
"""`(newest, start, kept, expires_at)`: the time of the newest event of the rule's scope seen
for the key; when the run of matching events that event belongs to started (None: it did not
match); the values of the rule's prev() arguments on that event, as `hold_kept` holds them;
and when the key is forgotten (`newest` + the rule's `forget`)."""

StateKey = Hashable
"""What a rule's key states are keyed by (every store's table of them, in memory): a key of
one JSON scalar (`by vehicle_id`, the common case) as that scalar, any other key as itself.
The step of such a rule reads and writes its key's state on every event of its scope, keys
met in random order, each entry cold in the cache: a bare string spares it a tuple made,
hashed and compared, and a cache line read, per event (~0.1 us of ~1.4 in the fleet bench,
bench/README.md, "Rules over time"). Anything that reads the table with a rule's key, or
writes its keys out, converts at that edge (`state_key`, `full_key`); the rows and the log
hold the rule's key as a JSON list (the log: a one-part key bare)."""


def state_key(key: Key) -> StateKey:
    """The key of `key`'s entry in a table of key states."""
    if len(key) == 1 and key[0].__class__ in SCALAR_TYPES:
        return key[0]
    return key


def full_key(key: StateKey) -> Key:
    """The rule's key of an entry of a table of key states (`state_key`'s inverse)."""
    return key if isinstance(key, tuple) else (key,)


def states_id(rule: Rule) -> str:
    """The name of the rule's table of key states in a store: its id, and for a rule with
    prev() what its kept values are (SequenceSpec.kept). The values are kept by their place
    (p[0], p[1], ...): a rule whose prev() arguments changed, in a reload or in its file while
    alertd was down, must start afresh, not read the values of others."""
    spec = rule.sequence
    return rule.id if spec is None or not spec.kept else f"{rule.id}/{spec.kept}"


def hold_kept(values: tuple[Any, ...]) -> Any:
    """The values a rule's prev() calls keep, as its table of key states holds them: one value
    (`prev(fuel_level_pct)`, the common case) bare, any other number of them as their tuple.
    Like the bare key (StateKey), this spares the step a tuple made and freed, cold in the
    cache, per event of its scope (bench/README.md, "Rules over time"). A value from an event
    is never a tuple (JSON arrays are lists), so `kept_values` can tell the two apart."""
    return values[0] if len(values) == 1 else values


def kept_values(held: Any) -> tuple[Any, ...]:
    """The values of the rule's prev() arguments of a key state's `kept` (`hold_kept`'s
    inverse): what the condition reads, the rows and the log hold, and explain shows."""
    return held if held.__class__ is tuple else (held,)


def build_sequence_step(
    rule: Rule,
    inner: Callable[[Event, int, float, float], Any],
    store: StateStore,
    *,
    failed: Callable[[Rule], None],
    counting: Callable[[int, Key, float, float | None], Any] | None = None,
) -> Callable[[Event, int, float, float], Any]:
    """The step of a rule with a SequenceSpec: it runs for every event of the rule's scope and
    hands those the rule matches (and has held long enough) to `inner`. A match of a `for`
    rule that has not held long enough is `counting(index, key, time, held)` (by default a
    "counting" decision); one that has is `inner`'s, a decision told how long it held. The
    step is the rule's generated code (alertd.dsl.sequence_step), bound here to the store's
    table of the rule's key states."""
    spec = rule.sequence
    assert spec is not None
    rule_id, hold = rule.id, spec.hold
    template = spec.step if spec.step is not None else _hand_built(rule, spec, failed)

    def count(index: int, key: Key, time: float, held: float | None) -> Decision:
        return Decision(index, rule_id, "counting", key, time, held=held)

    counted = counting or count

    def held_step(  # noqa: PLR0917 -- generated code calls it: keywords would be constants
        event: Event, index: int, time: float, received_at: float, key: StateKey, held: float | None
    ) -> Any:
        if held is None or held < hold:  # type: ignore[operator]
            return counted(index, full_key(key), time, held)
        decision = inner(event, index, time, received_at)
        if decision.__class__ is Decision:  # not an outcome of the daemon's lean steps
            decision.held = held
        return decision

    states = store.key_states(states_id(rule))
    direct = _direct(states) if spec.tracked is not None else None
    if direct is not None:  # write into the store's dicts, as its table would
        template = spec.tracked  # type: ignore[assignment]
    names = {
        "_states": states if direct is None else direct[0],
        "_changed": None if direct is None else direct[1],
        "_forget": spec.forget,
        "_nothing": (None,) * spec.size,
        "_fresh": (-math.inf, None, hold_kept((None,) * spec.size), math.inf),
        "_inner": inner,
        "_held": held_step,
        "_hashable": hashable,
    }
    step: Callable[[Event, int, float, float], Any] = FunctionType(
        template.__code__, {**template.__globals__, **names}
    )
    return step


def _direct(states: Any) -> tuple[dict[StateKey, KeyState], dict[StateKey, Any]] | None:
    """The dicts a store's table of key states lets the step write into itself (its entries,
    and its record of what changed): SQLite's (`direct()`); None for a plain dict (the step
    writes it as it is) or a table that does more on each write (PostgreSQL's holds the
    key)."""
    offered = getattr(states, "direct", None)
    if offered is None:
        return None
    direct: tuple[dict[StateKey, KeyState], dict[StateKey, Any]] | None = offered()
    return direct


def _hand_built(
    rule: Rule, spec: SequenceSpec, failed: Callable[[Rule], None]
) -> Callable[..., Any]:
    """The step template of a SequenceSpec built by hand: its scope (else the rule's key, and
    nothing kept) called rather than inlined."""
    if spec.scope is None:
        scope = ["    k = _state_key(_key(e))", "    kept = ()"]
        names: dict[str, Any] = {"_key": rule.key}
    else:
        scope = ["    k, kept = _scope(e)", "    k = _state_key(k)", "    kept = _hold(kept)"]
        names = {"_scope": spec.scope, "_hold": hold_kept}
    names["_state_key"] = state_key
    # Not compiled by alertd, it may raise: the rule is reported, and the other rules go on.
    scope = ["try:", *scope, "except Exception:", "    _failed(_rule)", "    return None"]
    source = step_source(scope, hold=spec.hold is not None, bare=spec.size == 1)
    (code,) = compile_source(source, f"<alertd step {rule.id}>")
    names.update(condition=spec.condition, _failed=failed, _rule=rule)
    return FunctionType(code, names)


@detail_hook
def _held(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    """`held for 1m20s of 2m`: how long a `for` rule's key had held when it matched."""
    spec = rule.sequence
    if spec is None or spec.hold is None:
        return
    hold = format_duration(spec.hold)
    if decision.held is None:  # a late event before its key's run, or outside any
        yield Detail("held", f"not held, of {hold}", f"not held (for {hold})")
        return
    held = format_duration(decision.held)
    yield Detail("held", f"{held} of {hold}", f"held for {held} of {hold}")
