"""Compile one expression as a rule and run it, counting the mismatches it reported."""

from __future__ import annotations

import itertools
from typing import Any

from alertd.dsl import compile_text, mismatch_counts
from alertd.model import Rule

_ids = itertools.count()


def rule_for(expr: str, *, value: bool = False) -> Rule:
    """A rule whose condition is `expr`, or (with `value`) whose suppress key is `expr`."""
    rule_id = f"expr_{next(_ids)}"
    if value:
        text = f"rule {rule_id} {{ when true\n suppress 1m by {expr} }}"
    else:
        text = f"rule {rule_id} {{ when {expr} }}"
    (rule,) = compile_text(text)
    return rule


def mismatches(rule: Rule) -> int:
    return mismatch_counts().get(rule.id, 0)


def holds(expr: str, event: dict[str, Any]) -> tuple[bool, int]:
    """Whether the condition holds for the event, and how many mismatches it counted."""
    rule = rule_for(expr)
    result = rule.condition(event)
    assert result is True or result is False
    return result, mismatches(rule)


def value(expr: str, event: dict[str, Any]) -> tuple[Any, int]:
    """The value of an expression for the event (as a `by` key), and the mismatches counted."""
    rule = rule_for(expr, value=True)
    assert rule.suppress is not None
    (result,) = rule.suppress.key(event)
    return result, mismatches(rule)
