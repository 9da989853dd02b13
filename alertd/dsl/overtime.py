"""The clauses of rules over time, checked: `for DURATION`, `forget DURATION`, `absent
DURATION [by KEY]` (and what they need of the rest of the rule). The checker
(alertd.dsl.checker) calls `check_over_time` once per rule; the engine's side is
alertd.engine.sequence (`for`, prev()) and alertd.engine.absence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alertd.dsl import ast
from alertd.dsl.errors import Collector
from alertd.dsl.resolve import Names
from alertd.dsl.tree import walk
from alertd.durations import format_duration
from alertd.model import DEFAULT_FORGET

Keys = tuple[tuple[ast.Expr, ...], tuple[str, ...]]
"""Key expressions, resolved, and as written."""

NOT_WITH_ABSENT = ("count", "suppress", "for", "resolve when", "resolve after")
"""Clauses an absent rule cannot have: it fires once when a key falls silent and resolves
when the key speaks again, so there is nothing for them to do."""


@dataclass(frozen=True, slots=True)
class Absent:
    """A checked `absent` clause: its duration and its key (its own `by`, else the rule's)."""

    seconds: float
    keys: tuple[ast.Expr, ...]
    key_sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OverTime:
    """A rule's checked clauses over time."""

    hold: float | None = None  # `for`, seconds
    forget: float = DEFAULT_FORGET  # seconds
    absent: Absent | None = None


def check_over_time(
    clauses: Mapping[str, ast.Clause],
    *,
    condition: ast.Expr,
    file: ast.RuleFile,
    names: Names,
    errors: Collector,
    keys: Callable[[tuple[ast.Expr, ...]], Keys],
    rule_key: Keys,
) -> OverTime | None:
    """The rule's `for`, `forget` and `absent`, checked; None when it has none of them.
    `keys` resolves a clause's own `by`; `rule_key` is the rule's."""
    hold_clause = clauses.get("for")
    forget_clause = clauses.get("forget")
    absent_clause = clauses.get("absent")
    hold = None
    if isinstance(hold_clause, ast.ForClause):
        hold = names.duration(hold_clause.duration, file)
    absent = None
    if isinstance(absent_clause, ast.AbsentClause):
        absent = _absent(
            absent_clause,
            clauses=clauses,
            file=file,
            names=names,
            errors=errors,
            keys=keys,
            rule_key=rule_key,
        )
    if not isinstance(forget_clause, ast.ForgetClause):
        if absent is not None and absent.seconds >= DEFAULT_FORGET:
            errors.add(
                file,
                absent_clause.span,  # type: ignore[union-attr]
                f"'absent' must be shorter than 'forget', {format_duration(DEFAULT_FORGET)} "
                "unless the rule says otherwise: a silent key would be forgotten before it is "
                "missed",
                f"add 'forget' longer than {format_duration(absent.seconds)}",
            )
        if hold is None and absent is None:
            return None
        return OverTime(hold, DEFAULT_FORGET, absent)
    forget = names.duration(forget_clause.duration, file)
    keeps_state = (
        hold is not None
        or absent is not None
        or any(node.__class__ is ast.Prev for node in walk(condition))
    )
    if not keeps_state:
        errors.add(
            file,
            forget_clause.span,
            "'forget' has nothing to forget: the rule keeps nothing per key",
            "'forget' applies to rules with 'for', 'absent', prev() or changed()",
        )
    elif absent is not None and 0 < forget <= absent.seconds:
        errors.add(
            file,
            forget_clause.duration.span,
            f"'forget' must be longer than 'absent' ({format_duration(absent.seconds)}): a "
            "silent key would be forgotten before it is missed",
        )
    return OverTime(hold, forget, absent)


def _absent(
    clause: ast.AbsentClause,
    *,
    clauses: Mapping[str, ast.Clause],
    file: ast.RuleFile,
    names: Names,
    errors: Collector,
    keys: Callable[[tuple[ast.Expr, ...]], Keys],
    rule_key: Keys,
) -> Absent:
    seconds = names.duration(clause.duration, file)
    for keyword in NOT_WITH_ABSENT:
        other = clauses.get(keyword)
        if other is not None:
            errors.add(
                file,
                other.span,
                f"'{keyword}' does not go with 'absent': an absent rule fires once when a key "
                "falls silent, and resolves when it speaks again",
            )
    own = keys(clause.keys) if clause.keys else rule_key
    return Absent(seconds, *own)
