"""The step of a rule that keeps state over the events of its scope (`prev()`, `changed()`,
`for`), written as Python source like its condition, so that the work every event of the
scope pays -- its key, the values to keep, the key's state read, the condition tested, the
new state written -- runs in one generated function, without a call for each part.

The semantics are alertd.engine.sequence's (see there); this module only writes them. The
source is a template: the engine makes one function of it per rule and store
(`alertd.engine.sequence.build_sequence_step`), binding the names below as globals:

- `_states`: the rule's key states (a dict, or a store's table with `get` and item setting;
  in TRACKED_STEP, the table's entries, and `_changed` its changes);
- `_forget`: the rule's `forget`, seconds; `_nothing`: the values of no previous event (a
  tuple, as `condition` takes them); `_fresh`: the state a key with none reads as;
- `_inner`: the rule's ordinary step, which the event goes on to when the rule matches;
- `_held(e, index, time, received_at, key, held)`, for a rule with `for`: the decision of a
  match whose key's run has held `held` seconds (None: it is in no run);
- `_hashable`: alertd.engine.steps.hashable; `condition(e, p)`: the rule's condition.

The statements that set `k` (the key, as the table holds it: alertd.engine.sequence.state_key)
and `kept` (the values the rule's prev() calls keep of the event), and those that test the
condition, come from the caller: the compiler inlines them (the condition's fast path,
alertd.dsl.fastpath); a rule built by hand calls its scope function and its condition.
"""

from __future__ import annotations

from collections.abc import Sequence

STEP = "sequence_step"
"""The generated function's name."""

TRACKED_STEP = "sequence_step_tracked"
"""The name of its form for a store that writes what changed (SQLite's): `_states` is then
the table's entries, a dict, and `_changed` the table's record of what changed since it was
last written (a key's entry when last written, put there before its first change), which the
step keeps as the table's own item setting would, without a call to it per event."""


PREVIOUS = "s[2]"
"""Where a step's test reads the kept values of the key's previous event (a tuple, or with
`bare` the one value): the key's state as read, or `_fresh`'s."""


def step_source(
    scope: Sequence[str],
    *,
    hold: bool,
    test: Sequence[str] | None = None,
    tracked: bool = False,
    bare: bool = False,
) -> str:
    """`def sequence_step(e, index, time, received_at)` (`tracked`: TRACKED_STEP): `scope`
    (statements, unindented) sets `k` and `kept`; `test` (statements) sets `m` to whether
    the condition holds given PREVIOUS, the kept values of the previous event (by default a
    call of `condition`); with `hold`, a match goes to `_held`, else straight to `_inner`.
    With `bare`, the rule keeps one value, held bare (alertd.engine.sequence.hold_kept):
    `kept` and PREVIOUS are that value, and `test` reads it so.

    A key with no state, or one unseen for `forget`, reads as `_fresh`: no previous event
    (its kept values null), no run, newest at minus infinity and never forgotten, so that
    the common case, a key seen before and an event in order, costs two tests of times."""
    passed = "return _inner(e, index, time, received_at)"
    if hold:
        held = "None if start is None else time - start"
        passed = f"return _held(e, index, time, received_at, k, {held})"
    call = f"m = condition(e, ({PREVIOUS},))" if bare else f"m = condition(e, {PREVIOUS})"
    tested = [call]
    if test is not None:  # a fast path: should it raise, the condition decides (and counts)
        tested = ["try:", *(f"    {line}" for line in test), "except Exception:", f"    {call}"]
    # What the key's entry was when last written, kept before its first change: none for a
    # key read as `_fresh` (a forgotten one's was kept already, as it was forgotten).
    track = ["if k not in _changed:", "    _changed[k] = None if s is _fresh else s"]
    forgotten = ["if k not in _changed:", "    _changed[k] = s"]
    if not tracked:
        track = forgotten = []
    lines = [
        f"def {TRACKED_STEP if tracked else STEP}(e, index, time, received_at):",
        *(f"    {line}" for line in scope),
        "    try:",
        "        s = _states.get(k) or _fresh",
        "    except TypeError:",  # a list or an object from the event: key on its contents
        "        k = _hashable(k)",
        "        s = _states.get(k) or _fresh",
        "    if time < s[0]:",  # late: no previous event, and nothing kept moves
        "        if condition(e, _nothing):",
        "            start = s[1]",
        f"            {passed}",
        "        return None",
        "    if time >= s[3]:",  # unseen for `forget`: afresh
        *(f"        {line}" for line in forgotten),
        "        s = _fresh",
        *(f"    {line}" for line in tested),
        "    if not m:",
        *(f"        {line}" for line in track),
        "        _states[k] = (time, None, kept, time + _forget)",
        "        return None",
        "    start = s[1]",
        "    if start is None:",  # the run starts with this event
        "        start = time",
        *(f"    {line}" for line in track),
        "    _states[k] = (time, start, kept, time + _forget)",
        f"    {passed}",
    ]
    return "\n".join(lines) + "\n"
