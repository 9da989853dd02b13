"""What compiled rules call at run time: value kinds, the generic operators, mismatch counters.

The compiler inlines the common cases (a field compared with a literal) and calls these helpers
for the rest, so both paths must agree on one set of semantics:

- null (a missing field) compared with anything is false, except `== null` / `!= null`;
- values of different kinds (a string and a number; a boolean and a number) never compare: the
  comparison is false and counted as a mismatch for the rule, so it shows in /metrics;
- arithmetic on a null is null; on mismatched kinds it is null and counted.

Helpers take `bad`, the rule's mismatch reporter: `bad(value)` counts when value is not null and
returns False, so a helper can `return bad(x)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Reporter = Callable[[Any], bool]

NUMBER_TYPES = (int, float)
SCALAR_TYPES = (str, int, float, bool, type(None))

_MISMATCHES: dict[str, int] = {}


def mismatch_counts() -> dict[str, int]:
    """Run-time type mismatches per rule id since the process started (for /metrics)."""
    return dict(_MISMATCHES)


@contextmanager
def mismatches_uncounted() -> Iterator[None]:
    """Evaluate without counting: the counts are as they were when the block ends. For asking
    what an event would do (alertd.engine.verdicts `what_if`), which must leave the daemon's
    metrics alone. (The daemon evaluates on one thread, its event loop: no count can be lost
    to another evaluation meanwhile.)"""
    saved = dict(_MISMATCHES)
    try:
        yield
    finally:
        _MISMATCHES.clear()
        _MISMATCHES.update(saved)


def reporter(rule_id: str) -> Reporter:
    """The rule's `bad(value)`: count a mismatch unless value is null; always False."""

    def bad(value: Any) -> bool:
        if value is not None:
            _MISMATCHES[rule_id] = _MISMATCHES.get(rule_id, 0) + 1
        return False

    return bad


class Recheck(Exception):
    """Raised by a condition's fast path when the checked path must decide (alertd.dsl.fastpath)."""


def recheck(value: Any) -> bool:
    """The fast path's reporter: false for a null, like `bad`; for any other value it raises
    Recheck instead of counting, so the checked path runs and counts."""
    if value is None:
        return False
    raise Recheck


def kind(value: Any) -> str:
    """The rule language's name for the kind of a JSON value."""
    cls = value.__class__
    if cls is str:
        return "string"
    if cls is bool:
        return "bool"
    if cls is int or cls is float:
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return "other"


def _both(a: Any, b: Any, bad: Reporter) -> str | None:
    """The shared kind of a and b, or None (after counting a mismatch) when they differ."""
    if a is None or b is None:
        return None
    ka, kb = kind(a), kind(b)
    if ka != kb or ka == "other":
        bad(a)
        return None
    return ka


def eq(a: Any, b: Any, bad: Reporter) -> bool:
    return _both(a, b, bad) is not None and bool(a == b)


def ne(a: Any, b: Any, bad: Reporter) -> bool:
    return _both(a, b, bad) is not None and bool(a != b)


def _ordered(a: Any, b: Any, bad: Reporter) -> bool:
    shared = _both(a, b, bad)
    if shared is None:
        return False
    if shared in ("number", "string"):
        return True
    return bad(a)


def lt(a: Any, b: Any, bad: Reporter) -> bool:
    return _ordered(a, b, bad) and bool(a < b)


def le(a: Any, b: Any, bad: Reporter) -> bool:
    return _ordered(a, b, bad) and bool(a <= b)


def gt(a: Any, b: Any, bad: Reporter) -> bool:
    return _ordered(a, b, bad) and bool(a > b)


def ge(a: Any, b: Any, bad: Reporter) -> bool:
    return _ordered(a, b, bad) and bool(a >= b)


def member(item: Any, container: Any, bad: Reporter) -> bool:
    """`item in container`: an element of a list (by ==), or a substring of a string."""
    if container is None:
        return False
    ck = kind(container)
    if ck == "list":
        if item is None:
            return any(element is None for element in container)
        ik = kind(item)
        found = any(kind(element) == ik and element == item for element in container)
        if not found and container and all(kind(element) != ik for element in container):
            return bad(item)
        return found
    if ck == "string":
        if item is None:
            return False
        return item in container if item.__class__ is str else bad(item)
    return bad(container)


def not_member(item: Any, container: Any, bad: Reporter) -> bool:
    """`item not in container`: false, like every comparison, when item or container is null."""
    if item is None or container is None:
        return False
    ck = kind(container)
    if ck == "list":
        ik = kind(item)
        if container and all(kind(element) != ik for element in container):
            return bad(item)
        return not any(kind(element) == ik and element == item for element in container)
    if ck == "string":
        return item not in container if item.__class__ is str else bad(item)
    return bad(container)


def contains(container: Any, item: Any, bad: Reporter) -> bool:
    """`container contains item`: the reverse of `in`."""
    return member(item, container, bad)


def _texts(text: Any, other: Any, bad: Reporter) -> bool:
    """Whether both are strings; false for a null, false and counted for another kind."""
    if text is None or other is None:
        return False
    for value in (text, other):
        if value.__class__ is not str:
            return bad(value)
    return True


def startswith(text: Any, prefix: Any, bad: Reporter) -> bool:
    return _texts(text, prefix, bad) and text.startswith(prefix)


def endswith(text: Any, suffix: Any, bad: Reporter) -> bool:
    return _texts(text, suffix, bad) and text.endswith(suffix)


def matches(text: Any, search: Callable[[str], bool], bad: Reporter) -> bool:
    """`text matches pattern`, `search` being the pattern's (alertd.dsl.regex)."""
    if text is None:
        return False
    if text.__class__ is not str:
        return bad(text)
    return search(text)


def _numbers(a: Any, b: Any, bad: Reporter) -> bool:
    if a is None or b is None:
        return False
    if a.__class__ in NUMBER_TYPES and b.__class__ in NUMBER_TYPES:
        return True
    return bad(a)


def add(a: Any, b: Any, bad: Reporter) -> Any:
    if a.__class__ is str and b.__class__ is str:
        return a + b
    return a + b if _numbers(a, b, bad) else None


def sub(a: Any, b: Any, bad: Reporter) -> Any:
    return a - b if _numbers(a, b, bad) else None


def mul(a: Any, b: Any, bad: Reporter) -> Any:
    return a * b if _numbers(a, b, bad) else None


def div(a: Any, b: Any, bad: Reporter) -> Any:
    if not _numbers(a, b, bad):
        return None
    if b == 0:
        bad(a)
        return None
    return a / b


def mod(a: Any, b: Any, bad: Reporter) -> Any:
    if not _numbers(a, b, bad):
        return None
    if b == 0:
        bad(a)
        return None
    return a % b


def neg(a: Any, bad: Reporter) -> Any:
    if a.__class__ in NUMBER_TYPES:
        return -a
    bad(a)
    return None


def index(container: Any, key: Any) -> Any:
    """`container[key]`: an object's key or a list's position (negative counts from the end);
    null when there is no such key or position."""
    if isinstance(container, Mapping):
        return container.get(key) if key.__class__ is str else None
    if (
        isinstance(container, list)
        and key.__class__ is int
        and -len(container) <= key < len(container)
    ):
        return container[key]
    return None


def scalar(value: Any) -> Any:
    """A `by` key value as a JSON scalar: lists and objects become their canonical JSON text."""
    if value.__class__ in SCALAR_TYPES:
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


OPERATORS: dict[str, Callable[[Any, Any, Reporter], Any]] = {
    "==": eq,
    "!=": ne,
    "<": lt,
    "<=": le,
    ">": gt,
    ">=": ge,
    "in": member,
    "not in": not_member,
    "contains": contains,
    "startswith": startswith,
    "endswith": endswith,
    "+": add,
    "-": sub,
    "*": mul,
    "/": div,
    "%": mod,
}


SHARED_KEYS_KEPT = 50_000
_SHARED_KEYS: dict[tuple[Any, ...], tuple[Any, ...]] = {}
shared_key_of = _SHARED_KEYS.get


def shared_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key, kept as the one object every later equal key of strings and nulls is given as
    (`shared_key_of`, in every rule's key function): a window table then finds a key by
    identity, not by comparing it with another copy elsewhere in memory, and the tables of
    all the rules keyed alike hold one copy (a warmed daemon: ~0.3 us less a window looked
    up, bench/README.md). Only strings and nulls: `1`, `1.0` and `true` are equal keys, but
    not the same value. At most SHARED_KEYS_KEPT are kept; then they start over."""
    for value in key:
        if value.__class__ is not str and value is not None:
            return key
    if len(_SHARED_KEYS) >= SHARED_KEYS_KEPT:
        _SHARED_KEYS.clear()
    _SHARED_KEYS[key] = key
    return key
