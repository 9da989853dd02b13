"""The step of a rule that keeps state over the events of its scope (`prev()`, `changed()`,
`for`), written as Python source like its condition, so that the work every event of the
scope pays -- its key, the values to keep, the key's state read, the condition tested, the
new state written -- runs in one generated function, without a call for each part.

The semantics are alertd.engine.sequence's (see there); this module only writes them. The
source is a template: the engine makes one function of it per rule and store
(`alertd.engine.sequence.build_sequence_step`), binding the names below as globals:

- `_states`: the rule's key states (a dict, or a store's table with `get` and item setting);
- `_forget`: the rule's `forget`, seconds; `_nothing`: the values of no previous event;
- `_inner`: the rule's ordinary step, which the event goes on to when the rule matches;
- `_held(e, index, time, received_at, key, held)`, for a rule with `for`: the decision of a
  match whose key's run has held `held` seconds (None: it is in no run);
- `_hashable`: alertd.engine.steps.hashable; `condition(e, p)`: the rule's condition.

The statements that set `k` (the key) and `kept` (the values the rule's prev() calls keep of
the event) come from the caller: the compiler inlines them; a rule built by hand calls its
scope function.
"""

from __future__ import annotations

from collections.abc import Sequence

STEP = "sequence_step"
"""The generated function's name."""


def step_source(scope: Sequence[str], *, hold: bool) -> str:
    """`def sequence_step(e, index, time, received_at)`: `scope` (statements, unindented) sets
    `k` and `kept`; with `hold`, a match goes to `_held`, else straight to `_inner`."""
    passed = "return _inner(e, index, time, received_at)"
    if hold:
        held = "None if start is None else time - start"
        passed = f"return _held(e, index, time, received_at, k, {held})"
    lines = [
        f"def {STEP}(e, index, time, received_at):",
        *(f"    {line}" for line in scope),
        "    try:",
        "        s = _states.get(k)",
        "    except TypeError:",  # a list or an object from the event: key on its contents
        "        k = _hashable(k)",
        "        s = _states.get(k)",
        "    if s is None or time >= s[3]:",  # a new key, or one unseen for `forget`
        "        if not condition(e, _nothing):",
        "            _states[k] = (time, None, kept, time + _forget)",
        "            return None",
        "        start = time",
        "        _states[k] = (time, start, kept, time + _forget)",
        "    elif time >= s[0]:",  # in order: the kept values are the previous event's
        "        if not condition(e, s[2]):",
        "            _states[k] = (time, None, kept, time + _forget)",
        "            return None",
        "        start = s[1]",
        "        if start is None:",
        "            start = time",
        "        _states[k] = (time, start, kept, time + _forget)",
        "    elif condition(e, _nothing):",  # late: no previous event, and nothing kept moves
        "        start = s[1]",
        "    else:",
        "        return None",
        f"    {passed}",
    ]
    return "\n".join(lines) + "\n"
