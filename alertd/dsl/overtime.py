"""The clauses of rules over time, checked: `for DURATION`, `forget DURATION` (and what they
need of the rest of the rule). The checker (alertd.dsl.checker) calls `check_over_time` once
per rule; the engine's side is alertd.engine.sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alertd.dsl import ast
from alertd.dsl.errors import Collector
from alertd.dsl.resolve import Names
from alertd.dsl.tree import walk
from alertd.model import DEFAULT_FORGET


@dataclass(frozen=True, slots=True)
class OverTime:
    """A rule's checked clauses over time."""

    hold: float | None = None  # `for`, seconds
    forget: float = DEFAULT_FORGET  # seconds


def check_over_time(
    clauses: Mapping[str, ast.Clause],
    condition: ast.Expr,
    file: ast.RuleFile,
    names: Names,
    errors: Collector,
) -> OverTime | None:
    """The rule's `for` and `forget`, checked; None when it has neither."""
    hold_clause = clauses.get("for")
    forget_clause = clauses.get("forget")
    hold = None
    if isinstance(hold_clause, ast.ForClause):
        hold = names.duration(hold_clause.duration, file)
    if not isinstance(forget_clause, ast.ForgetClause):
        return None if hold is None else OverTime(hold)
    forget = names.duration(forget_clause.duration, file)
    keeps_state = hold is not None or any(node.__class__ is ast.Prev for node in walk(condition))
    if not keeps_state:
        errors.add(
            file,
            forget_clause.span,
            "'forget' has nothing to forget: the rule keeps nothing per key",
            "'forget' applies to rules with 'for', prev() or changed()",
        )
    return OverTime(hold, forget)
