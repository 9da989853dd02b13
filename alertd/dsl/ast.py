"""The rule language's syntax tree: plain dataclasses, each with the span it was read from.

Passes never modify a node; they build new ones. (Nodes are not frozen only because frozen
dataclasses are slow to create, and a large rule file has tens of thousands of nodes.)
The parser builds these; the checker resolves names (a `Name` becomes a `Field`, a named list a
`ListLit`, a macro its expanded body) and converts duration literals; the compiler turns the
resolved tree into Python. Passes are functions over this data, never methods on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias


class Span(NamedTuple):
    """Where a node was written: 1-based line and column of its first and one past its last char.
    (A named tuple: the parser makes one per token, and tuples are the cheapest to make.)"""

    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def width(self) -> int:
        return self.end_column - self.column if self.end_line == self.line else 1


Scalar: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class SourceText:
    """A rule file's path and lines: what a checked tree keeps of the text it was read from, so
    that its parts can be shown as written (alertd.dsl.explain)."""

    path: str
    lines: tuple[str, ...]

    def text(self, span: Span) -> str:
        """The source text a span covers, lines joined by newlines."""
        return _span_text(self.lines, span)


# Expressions ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Literal:
    """A string, number, boolean or null."""

    value: Scalar
    span: Span


@dataclass(slots=True)
class DurationLit:
    """`90s`, `5m`, `1h30m` as written; the checker turns it into a Literal of seconds."""

    text: str
    span: Span


@dataclass(slots=True)
class ListLit:
    """`[a, b, c]`, or a named list (`name` set) after the checker resolved it."""

    items: tuple[Expr, ...]
    span: Span
    name: str | None = None


@dataclass(slots=True)
class Name:
    """A bare name before resolution: a field, a macro or a named list."""

    name: str
    span: Span


@dataclass(slots=True)
class Field:
    """A top-level field of the event (resolved from a Name); missing fields are null."""

    name: str
    span: Span


@dataclass(slots=True)
class Attr:
    """`obj.name`: a key of an object; null when obj is not an object or lacks the key."""

    obj: Expr
    name: str
    span: Span


@dataclass(slots=True)
class Index:
    """`obj[key]`: a key of an object or a 0-based position in a list (negative from the end)."""

    obj: Expr
    index: Expr
    span: Span


@dataclass(slots=True)
class Unary:
    op: str  # "not" or "-"
    operand: Expr
    span: Span


@dataclass(slots=True)
class Logic:
    """`a and b and c` (or `or`): kept flat, so long chains do not nest. (The parser grows a
    list while it reads a chain; passes make tuples.)"""

    op: str  # "and" or "or"
    items: Sequence[Expr]
    span: Span


@dataclass(slots=True)
class Binary:
    op: str  # == != < <= > >= in "not in" contains startswith endswith matches + - * / %
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    span: Span


@dataclass(slots=True)
class Prev:
    """`prev(EXPR)`: EXPR as it was on the previous event of the rule's scope with the same
    rule key (null for the first); `changed(EXPR)` is `EXPR != prev(EXPR)`, whose Prev is
    `implicit` (the text at its span is the `changed(...)` call)."""

    arg: Expr
    span: Span
    implicit: bool = False


@dataclass(slots=True)
class MacroRef:
    """A macro used inside an expression, kept (by the checker) around its expanded body.
    The body's spans are in `source`, the file that defines the macro."""

    name: str
    body: Expr
    span: Span
    source: SourceText


Expr: TypeAlias = (
    Literal
    | DurationLit
    | ListLit
    | Name
    | Field
    | Attr
    | Index
    | Unary
    | Logic
    | Binary
    | Call
    | Prev
    | MacroRef
)


# Rule clauses ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Text:
    """A string value written in a clause (`name "..."`), with where it was written."""

    value: str
    span: Span


@dataclass(slots=True)
class NameClause:
    text: Text
    span: Span
    keyword = "name"


@dataclass(slots=True)
class DescriptionClause:
    text: Text
    span: Span
    keyword = "description"


@dataclass(slots=True)
class WhenClause:
    expr: Expr
    span: Span
    keyword = "when"


@dataclass(slots=True)
class PriorityClause:
    value: Text
    span: Span
    keyword = "priority"


@dataclass(slots=True)
class CountClause:
    threshold: Text  # the number as written
    within: Text  # the duration as written
    keys: tuple[Expr, ...]
    span: Span
    keyword = "count"


@dataclass(slots=True)
class SuppressClause:
    duration: Text
    keys: tuple[Expr, ...]
    span: Span
    keyword = "suppress"


@dataclass(slots=True)
class Target:
    channel: Text
    groups: tuple[Text, ...]
    span: Span


@dataclass(slots=True)
class NotifyClause:
    targets: tuple[Target, ...]
    span: Span
    keyword = "notify"


@dataclass(slots=True)
class TemplateClause:
    name: Text
    span: Span
    keyword = "template"


@dataclass(slots=True)
class Label:
    key: Text
    value: Text
    span: Span


@dataclass(slots=True)
class LabelsClause:
    labels: tuple[Label, ...]
    span: Span
    keyword = "labels"


@dataclass(slots=True)
class EnabledClause:
    value: bool
    span: Span
    keyword = "enabled"


@dataclass(slots=True)
class ByClause:
    """`by KEY, ...` at rule level: the rule's key (see alertd.dsl.checker for who uses it)."""

    keys: tuple[Expr, ...]
    span: Span
    keyword = "by"


@dataclass(slots=True)
class ResolveWhenClause:
    """`resolve when CONDITION`: an event for which it holds resolves the open alert of its key."""

    expr: Expr
    span: Span
    keyword = "resolve when"


@dataclass(slots=True)
class ResolveAfterClause:
    """`resolve after DURATION`: the open alert resolves when its key is quiet that long."""

    duration: Text  # as written
    span: Span
    keyword = "resolve after"


@dataclass(slots=True)
class EscalateClause:
    """`escalate POLICY`: a fired alert follows that escalation policy of the on-call file."""

    policy: Text
    span: Span
    keyword = "escalate"


@dataclass(slots=True)
class ForClause:
    """`for DURATION`: the condition must have held for the key that long."""

    duration: Text  # as written
    span: Span
    keyword = "for"


@dataclass(slots=True)
class ForgetClause:
    """`forget DURATION`: a key of the rule unseen that long is dropped with all it keeps."""

    duration: Text  # as written
    span: Span
    keyword = "forget"


@dataclass(slots=True)
class AbsentClause:
    """`absent DURATION [by KEY, ...]`: fire when a key that matched falls silent that long."""

    duration: Text  # as written
    keys: tuple[Expr, ...]
    span: Span
    keyword = "absent"


@dataclass(slots=True)
class GroupClause:
    """`group by KEY, ... wait DURATION`: the notifications of alerts with equal KEY, fired
    within DURATION of the group's first, go out as one (alertd.storms)."""

    keys: tuple[Expr, ...]
    wait: Text  # as written
    span: Span
    keyword = "group"


Clause: TypeAlias = (
    NameClause
    | DescriptionClause
    | WhenClause
    | PriorityClause
    | CountClause
    | SuppressClause
    | NotifyClause
    | TemplateClause
    | LabelsClause
    | EnabledClause
    | ByClause
    | ResolveWhenClause
    | ResolveAfterClause
    | EscalateClause
    | ForClause
    | ForgetClause
    | AbsentClause
    | GroupClause
)


# Top-level items -------------------------------------------------------------------------------


@dataclass(slots=True)
class ListDef:
    name: Text
    items: ListLit
    span: Span


@dataclass(slots=True)
class MacroDef:
    name: Text
    body: Expr
    span: Span


@dataclass(slots=True)
class RuleDef:
    id: Text
    clauses: tuple[Clause, ...]
    span: Span


Item: TypeAlias = ListDef | MacroDef | RuleDef


@dataclass(slots=True)
class RuleFile:
    """One parsed file: its items and its lines (for error excerpts and source text)."""

    path: str
    items: tuple[Item, ...]
    lines: tuple[str, ...]

    def source_line(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None

    def text(self, span: Span) -> str:
        """The source text a span covers, lines joined by newlines."""
        return _span_text(self.lines, span)


def _span_text(lines: Sequence[str], span: Span) -> str:
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    first = lines[span.line - 1][span.column - 1 :]
    middle = lines[span.line : span.end_line - 1]
    last = lines[span.end_line - 1][: span.end_column - 1]
    return "\n".join([first, *middle, last])
