"""Matchers against alerts: what `vehicle_id=v-9`, `rule!=speeding` or `depot=~"north|east"`
holds for.

A matcher's `name` is `rule` (the alert's rule id), `priority`, or an event field, a dotted path
allowed (`location.city`). The value it is compared with is the field's text as the alert
filters read it (alertd.engine.state.field_text: a string as itself, a whole number in digits,
`true`, `false`, `null`); a field that is missing, or holds an object or a list, reads as the
empty text. A regex matcher's value is an RE2 pattern (alertd.dsl.regex) that must match the
whole text, as in Alertmanager: `v-9` does not match `v-90`, `v-9.*` does. `equal = false`
negates the matcher.

Written as text (the command line, the console): `name=value`, `name!=value`, `name=~regex`,
`name!~regex`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from alertd.dsl.regex import PatternError, compile_pattern
from alertd.engine.state import field_text
from alertd.model import Alert
from alertd.oncall.model import Matcher

Test = Callable[[Alert], bool]

RULE, PRIORITY = "rule", "priority"

_TEXT = re.compile(r"\s*([^\s=!~]+)\s*(=~|!~|!=|=)(.*)", re.DOTALL)


def value_of(alert: Alert, name: str) -> str:
    """The text a matcher named `name` compares: "" for a field the event does not have."""
    if name == RULE:
        return alert.rule_id
    if name == PRIORITY:
        return alert.priority
    return field_text(alert.event, name) or ""


@lru_cache(maxsize=4096)
def compile_matcher(matcher: Matcher) -> Test:
    """Whether an alert satisfies the matcher. Raises PatternError for a bad regex."""
    name, holds = matcher.name, text_test(matcher)
    return lambda alert: holds(value_of(alert, name))


def text_test(matcher: Matcher) -> Callable[[str], bool]:
    """Whether a text satisfies the matcher (its name aside). Raises PatternError."""
    value, equal = matcher.value, matcher.equal
    if matcher.regex:
        compile_pattern(value)  # the pattern's own errors, at their own places
        search = compile_pattern(f"^(?:{value})$")
        return search if equal else (lambda text: not search(text))
    return (lambda text: text == value) if equal else (lambda text: text != value)


def covers(matchers: Sequence[Matcher], alert: Alert) -> bool:
    """Whether every matcher holds for the alert."""
    return all(compile_matcher(matcher)(alert) for matcher in matchers)


def matches_nothing_named(matchers: Sequence[Matcher]) -> bool:
    """Whether every matcher also holds for an alert that has none of the named fields: such
    matchers would silence nearly every alert (Alertmanager refuses them too)."""
    return all(text_test(matcher)("") for matcher in matchers)


def parse_matcher(text: str) -> Matcher:
    """`name=value`, `name!=value`, `name=~regex`, `name!~regex`; the value may be in double
    quotes. Raises ValueError saying what is expected, PatternError for a bad regex."""
    found = _TEXT.fullmatch(text)
    if found is None:
        raise ValueError(
            f"expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX, got {text!r}"
        )
    name, operator, value = found.groups()
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    matcher = Matcher(name, value, regex="~" in operator, equal=operator[0] == "=")
    text_test(matcher)
    return matcher


def format_matcher(matcher: Matcher) -> str:
    """As `parse_matcher` reads it back: `vehicle_id="v-9"`, `depot=~"north|east"`."""
    operator = (
        ("=" if matcher.equal else "!=") if not matcher.regex else ("=~" if matcher.equal else "!~")
    )
    return f'{matcher.name}{operator}"{matcher.value}"'


__all__ = [
    "PRIORITY",
    "RULE",
    "PatternError",
    "compile_matcher",
    "covers",
    "format_matcher",
    "matches_nothing_named",
    "parse_matcher",
    "text_test",
    "value_of",
]
