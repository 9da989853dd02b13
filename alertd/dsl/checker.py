"""The checker: every mistake in a set of parsed rule files, and the rules made ready to compile.

It resolves names by where they stand (a bare name is a macro where a condition is expected,
a named list after `in`, a field anywhere else), expands macros, converts durations, and checks
kinds where the text fixes them (`"a" > 3` can never be true). It collects all errors instead of
stopping at the first, because a person fixing a rule file wants the whole list at once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from zoneinfo import available_timezones

from alertd.dsl import ast
from alertd.dsl.errors import RuleError, UnknownName, one_of
from alertd.dsl.functions import BUILTINS, MAX_GEOCELL_DIGITS, time_zone
from alertd.dsl.regex import PatternError, compile_pattern
from alertd.durations import parse_duration
from alertd.model import PRIORITIES, NotifyTarget, Priority, SourceLocation
from alertd.suggest import did_you_mean

MAX_DEPTH = 64
"""Expressions nested deeper than this, their macros expanded, are refused: the checker and
the compiler recurse, and Python refuses generated code nested ~200 parentheses deep (the
worst kind of node writes three per level)."""
MAX_SIZE = 20_000
"""Expressions with more nodes than this, their macros expanded, are refused: each use of a
macro copies it, so ten macros that each use the one before twice make a thousand copies."""
MAX_DURATION = 36_500 * 86_400.0  # 100 years: longer is a mistake (or infinite)
MAX_COUNT = 100_000  # `count N`: more events than this per key is a misunderstanding

_ORDERED = ("number", "string")
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_STRING_TESTS = frozenset({"startswith", "endswith", "matches"})


@dataclass(frozen=True, slots=True)
class Window:
    """A checked `count` or `suppress` clause."""

    seconds: float
    keys: tuple[ast.Expr, ...]
    key_sources: tuple[str, ...]
    threshold: int = 0  # count only


@dataclass(frozen=True, slots=True)
class CheckedRule:
    """A rule whose every part was checked; its expressions are resolved and ready to compile."""

    id: str
    name: str
    condition: ast.Expr
    condition_source: str
    location: SourceLocation
    source: ast.SourceText  # the rule's file: where the condition's spans are
    priority: Priority = "medium"
    description: str = ""
    count: Window | None = None
    suppress: Window | None = None
    notify: tuple[NotifyTarget, ...] = ()
    template: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


def check(
    files: Sequence[ast.RuleFile],
    *,
    channels: Collection[str],
    groups: Collection[str] | None = None,
    templates: Collection[str] | None = None,
) -> tuple[list[CheckedRule], list[RuleError]]:
    """Check parsed files together (lists and macros are shared by all of them, rule ids must be
    unique across them). Returns the rules without an error of their own, checked, and every
    error found. `groups` and `templates` (the template sets there are): None, not checked."""
    checker = _Checker(
        files,
        frozenset(channels),
        None if groups is None else frozenset(groups),
        None if templates is None else frozenset(templates),
    )
    rules = checker.run()
    return rules, checker.errors


@dataclass(frozen=True, slots=True)
class _Title:
    """What a reader sees of a rule: its `name`, or its id when it has none."""

    text: str
    rule_id: str
    where: SourceLocation
    named: bool  # the text is a `name`, not the id


class _Checker:
    def __init__(
        self,
        files: Sequence[ast.RuleFile],
        channels: frozenset[str],
        groups: frozenset[str] | None,
        templates: frozenset[str] | None,
    ) -> None:
        self.files = files
        self.channels = channels
        self.groups = groups
        self.templates = templates
        self.errors: list[RuleError] = []
        self.lists: dict[str, tuple[ast.ListDef, ast.RuleFile]] = {}
        self.macros: dict[str, tuple[ast.MacroDef, ast.RuleFile]] = {}
        self.resolved_lists: dict[str, ast.ListLit] = {}
        self.resolved_macros: dict[str, ast.Expr] = {}
        self.expanded: dict[str, tuple[int, int]] = {}  # macro -> its depth and size, expanded
        self.refused: set[str] = set()  # macros too deep or too large, and those that use them
        self.sources: dict[str, ast.SourceText] = {}  # path -> the file's text, made once

    def error(
        self,
        file: ast.RuleFile,
        span: ast.Span,
        message: str,
        hint: str | None = None,
        *,
        unknown: str | None = None,
    ) -> None:
        """Record an error; `unknown` is the macro or list name it is about, if it is unknown."""
        self.errors.append(
            (RuleError if unknown is None else partial(UnknownName, unknown))(
                file.path,
                span.line,
                span.column,
                message,
                hint,
                source_line=file.source_line(span.line),
                width=span.width,
            )
        )

    # The whole run ------------------------------------------------------------------------------

    def run(self) -> list[CheckedRule]:
        self._collect_definitions()
        for name, (definition, file) in self.lists.items():
            self.resolved_lists[name] = self._named_list(definition, file)
        self._resolve_macros()
        rules: list[CheckedRule] = []
        seen: dict[str, SourceLocation] = {}
        titles: dict[str, _Title] = {}
        for file in self.files:
            for item in file.items:
                if not isinstance(item, ast.RuleDef):
                    continue
                where = SourceLocation(file.path, item.span.line, item.span.column)
                rule_id = item.id.value
                if rule_id in seen:
                    self.error(
                        file,
                        item.id.span,
                        f"duplicate rule id '{rule_id}' (first defined at {seen[rule_id]})",
                    )
                else:
                    seen[rule_id] = where
                    self._unique_title(item, file, where, titles)
                rule = self._rule(item, file, where)
                if rule is not None:
                    rules.append(rule)
        return rules

    def _unique_title(
        self,
        rule: ast.RuleDef,
        file: ast.RuleFile,
        where: SourceLocation,
        titles: dict[str, _Title],
    ) -> None:
        """What a reader sees of a rule (its `name`, else its id) must tell it apart: two rules
        with one title would look the same in every notification, log line and listing."""
        clause = next((c for c in rule.clauses if isinstance(c, ast.NameClause)), None)
        rule_id = rule.id.value
        if clause is not None and not clause.text.value.strip():
            self.error(
                file,
                clause.text.span,
                "the rule name is empty",
                f"leave 'name' out and the rule shows its id, '{rule_id}'",
            )
            return
        title = _Title(
            clause.text.value if clause else rule_id, rule_id, where, named=clause is not None
        )
        first = titles.setdefault(title.text.strip(), title)
        if first is title:
            return
        if clause is None:
            self.error(
                file,
                rule.id.span,
                f"rule '{rule_id}' has no name and shows its id, but rule '{first.rule_id}' at"
                f" {first.where} is named '{first.text}'",
                "give one of the two rules a name of its own",
            )
        elif first.named:
            self.error(
                file,
                clause.text.span,
                f"duplicate rule name '{title.text}' (first used by rule '{first.rule_id}' at"
                f" {first.where})",
            )
        else:
            self.error(
                file,
                clause.text.span,
                f"duplicate rule name '{title.text}' (rule '{first.rule_id}' at {first.where}"
                " has no name and shows its id)",
                "give one of the two rules a name of its own",
            )

    def _collect_definitions(self) -> None:
        defined: dict[str, tuple[str, SourceLocation]] = {}
        for file in self.files:
            for item in file.items:
                if isinstance(item, ast.RuleDef):
                    continue
                what = "list" if isinstance(item, ast.ListDef) else "macro"
                name = item.name.value
                if name in defined:
                    other, where = defined[name]
                    self.error(
                        file,
                        item.name.span,
                        f"duplicate name '{name}': already defined as a {other} at {where}",
                    )
                    continue
                defined[name] = (what, SourceLocation(file.path, item.span.line, item.span.column))
                if isinstance(item, ast.ListDef):
                    self.lists[name] = (item, file)
                else:
                    self.macros[name] = (item, file)

    def _named_list(self, definition: ast.ListDef, file: ast.RuleFile) -> ast.ListLit:
        items: list[ast.Expr] = []
        for item in definition.items.items:
            if isinstance(item, ast.Unary) and item.op == "-" and _is_number(item.operand):
                items.append(ast.Literal(-item.operand.value, item.span))  # type: ignore[union-attr, operator]
            elif isinstance(item, ast.Literal | ast.DurationLit):
                items.append(self._expr(item, file, condition=False)[0])
            else:
                self.error(
                    file,
                    item.span,
                    "a named list may hold only literal values (strings, numbers, true, false, "
                    "null)",
                )
        return ast.ListLit(tuple(items), definition.items.span, definition.name.value)

    def _resolve_macros(self) -> None:
        """Resolve every macro after the macros it uses, so that resolving one never recurses
        into another: a chain of a thousand macros is a loop here, not a stack overflow."""
        uses = {
            name: [used for used in _measure(definition.body, True, {})[2] if used in self.macros]
            for name, (definition, _) in self.macros.items()
        }
        done: set[str] = set()
        for root in self.macros:
            if root in done:
                continue
            path, pending = [root], [iter(uses[root])]
            while pending:
                used = next(pending[-1], None)
                if used is None:
                    pending.pop()
                    name = path.pop()
                    self._macro(name)
                    done.add(name)
                elif used in path:
                    self._cycle([*path[path.index(used) :], used])
                elif used not in done:
                    path.append(used)
                    pending.append(iter(uses[used]))

    def _cycle(self, cycle: list[str]) -> None:
        name = cycle[0]
        definition, file = self.macros[name]
        through = f" ({' -> '.join(cycle)})" if len(cycle) > 2 else ""
        self.error(file, definition.name.span, f"macro '{name}' refers to itself{through}")

    def _macro(self, name: str) -> None:
        """Resolve one macro, every macro it uses being resolved already (or in a cycle, which
        was reported: such a use is false)."""
        definition, file = self.macros[name]
        depth, size, used = _measure(definition.body, True, self.expanded)
        refused: ast.Expr = ast.Literal(False, definition.body.span)
        body = refused
        if any(macro in self.refused for macro in used):
            pass  # one error, at the macro that was refused first, says it all
        elif depth > MAX_DEPTH:
            self.error(
                file,
                definition.name.span,
                f"macro nesting deeper than {MAX_DEPTH}: '{name}', with the macros it uses "
                "expanded, is nested too deeply",
                "use fewer macros inside macros inside macros",
            )
        elif size > MAX_SIZE:
            self.error(
                file,
                definition.name.span,
                f"macro '{name}' is too large: with the macros it uses expanded, it has over "
                f"{MAX_SIZE} parts",
                "each use of a macro copies it: a macro that uses another twice is twice as large",
            )
        else:
            errors_before = len(self.errors)
            resolved = self._expr(definition.body, file, condition=True)[0]
            # A body with an error was reported; its uses are false, so that the rules using it
            # are still checked in full, and compile (for the template check of `alertd check`).
            body = resolved if len(self.errors) == errors_before else ast.Literal(False, body.span)
        self.resolved_macros[name] = body
        self.expanded[name] = (1, 1) if body is refused else (depth, size)
        # A macro refused here was given its error; its uses are false, and say nothing more.
        if body is refused:
            self.refused.add(name)

    # Rules --------------------------------------------------------------------------------------

    def _rule(
        self, rule: ast.RuleDef, file: ast.RuleFile, where: SourceLocation
    ) -> CheckedRule | None:
        errors_before = len(self.errors)
        clauses: dict[str, ast.Clause] = {}
        for clause in rule.clauses:
            if clause.keyword in clauses:
                first = clauses[clause.keyword].span.line
                self.error(
                    file,
                    clause.span,
                    f"duplicate '{clause.keyword}' clause (the first is on line {first})",
                )
            else:
                clauses[clause.keyword] = clause
        when = clauses.get("when")
        if not isinstance(when, ast.WhenClause):
            self.error(file, rule.id.span, f"rule '{rule.id.value}' has no 'when' clause")
            return None
        condition = self._checked(when.expr, file, condition=True)
        name = clauses.get("name")
        description = clauses.get("description")
        priority = self._priority(clauses.get("priority"), file)
        count = self._count(clauses.get("count"), file)
        suppress = self._suppress(clauses.get("suppress"), file)
        notify = self._notify(clauses.get("notify"), file)
        template = clauses.get("template")
        if isinstance(template, ast.TemplateClause):
            self._template(template.name, file)
        labels = self._labels(clauses.get("labels"), file)
        enabled = clauses.get("enabled")
        if len(self.errors) > errors_before:
            return None
        return CheckedRule(
            id=rule.id.value,
            name=name.text.value if isinstance(name, ast.NameClause) else rule.id.value,
            condition=condition,
            condition_source=file.text(when.expr.span),
            location=where,
            source=self._source(file),
            priority=priority,
            description=description.text.value
            if isinstance(description, ast.DescriptionClause)
            else "",
            count=count,
            suppress=suppress,
            notify=notify,
            template=template.name.value if isinstance(template, ast.TemplateClause) else None,
            labels=labels,
            enabled=enabled.value if isinstance(enabled, ast.EnabledClause) else True,
        )

    def _source(self, file: ast.RuleFile) -> ast.SourceText:
        source = self.sources.get(file.path)
        if source is None:
            source = self.sources[file.path] = ast.SourceText(file.path, file.lines)
        return source

    def _priority(self, clause: ast.Clause | None, file: ast.RuleFile) -> Priority:
        if not isinstance(clause, ast.PriorityClause):
            return "medium"
        value = clause.value.value
        for priority in PRIORITIES:
            if value == priority:
                return priority
        self.error(
            file,
            clause.value.span,
            f"unknown priority '{value}'",
            did_you_mean(value, PRIORITIES) or f"use {one_of(PRIORITIES)}",
        )
        return "medium"

    def _duration(self, text: ast.Text, file: ast.RuleFile) -> float:
        try:
            seconds = parse_duration(text.value)
        except ValueError as exc:
            hint = None
            if text.value.replace(".", "", 1).isdigit():
                hint = f"add a unit: {text.value}s, {text.value}m or {text.value}h"
            self.error(file, text.span, str(exc), hint)
            return 0.0
        if seconds <= 0:
            self.error(file, text.span, "the duration must be longer than zero")
        elif not seconds <= MAX_DURATION:
            self.error(file, text.span, "the duration is too long (100 years at most)")
            return MAX_DURATION
        return seconds

    def _keys(
        self, keys: tuple[ast.Expr, ...], file: ast.RuleFile
    ) -> tuple[tuple[ast.Expr, ...], tuple[str, ...]]:
        resolved = tuple(self._checked(key, file, condition=False) for key in keys)
        return resolved, tuple(file.text(key.span) for key in keys)

    def _count(self, clause: ast.Clause | None, file: ast.RuleFile) -> Window | None:
        if not isinstance(clause, ast.CountClause):
            return None
        text = clause.threshold.value
        # int() of a huge number is refused (or slow): past MAX_COUNT, its digits do not matter
        threshold = int(text[:12]) if text.isdigit() else 0
        if not text.isdigit():
            self.error(file, clause.threshold.span, f"count must be a whole number, got {text}")
        elif threshold < 2:
            self.error(
                file,
                clause.threshold.span,
                f"count must be at least 2, got {threshold}",
                "to act on every matching event, leave out the count clause",
            )
        elif threshold > MAX_COUNT:
            got = text if len(text) <= 12 else f"{text[:12]}..."
            self.error(file, clause.threshold.span, f"count must be at most {MAX_COUNT}, got {got}")
        seconds = self._duration(clause.within, file)
        keys, sources = self._keys(clause.keys, file)
        return Window(seconds, keys, sources, threshold)

    def _suppress(self, clause: ast.Clause | None, file: ast.RuleFile) -> Window | None:
        if not isinstance(clause, ast.SuppressClause):
            return None
        seconds = self._duration(clause.duration, file)
        keys, sources = self._keys(clause.keys, file)
        return Window(seconds, keys, sources)

    def _notify(self, clause: ast.Clause | None, file: ast.RuleFile) -> tuple[NotifyTarget, ...]:
        if not isinstance(clause, ast.NotifyClause):
            return ()
        targets: list[NotifyTarget] = []
        seen: set[str] = set()
        for target in clause.targets:
            channel = target.channel.value
            if channel not in self.channels:
                self.error(
                    file,
                    target.channel.span,
                    f"unknown channel '{channel}'",
                    did_you_mean(channel, self.channels)
                    or f"the channels are {one_of(sorted(self.channels))}",
                )
            elif channel in seen:
                self.error(file, target.channel.span, f"channel '{channel}' is listed twice")
            seen.add(channel)
            for group in target.groups:
                if self.groups is not None and group.value not in self.groups:
                    self.error(file, group.span, *unknown_group(group.value, self.groups))
            targets.append(NotifyTarget(channel, tuple(group.value for group in target.groups)))
        return tuple(targets)

    def _template(self, name: ast.Text, file: ast.RuleFile) -> None:
        value = name.value.strip().strip("/")
        if not value:
            self.error(file, name.span, "the template name is empty")
        elif self.templates is not None and value not in self.templates:
            self.error(
                file,
                name.span,
                f"unknown template '{name.value}'",
                did_you_mean(value, self.templates)
                or "a template is a folder of the templates folder ([rules] templates)",
            )

    def _labels(self, clause: ast.Clause | None, file: ast.RuleFile) -> dict[str, str]:
        labels: dict[str, str] = {}
        if isinstance(clause, ast.LabelsClause):
            for label in clause.labels:
                if label.key.value in labels:
                    self.error(file, label.key.span, f"duplicate label '{label.key.value}'")
                labels[label.key.value] = label.value.value
        return labels

    # Expressions --------------------------------------------------------------------------------

    def _checked(self, expr: ast.Expr, file: ast.RuleFile, *, condition: bool) -> ast.Expr:
        """A whole expression (a condition or a `by` key), resolved; refused when it is too deep
        or too large, its macros expanded, to compile."""
        depth, size, used = _measure(expr, condition, self.expanded)
        expanded = " with its macros expanded" if used else ""
        if any(macro in self.refused for macro in used):
            pass  # the macro's own error says it
        elif depth > MAX_DEPTH:
            self.error(
                file, expr.span, f"the expression is nested too deeply{expanded} (over {MAX_DEPTH})"
            )
        elif size > MAX_SIZE:
            self.error(
                file, expr.span, f"the expression is too large{expanded} (over {MAX_SIZE} parts)"
            )
        else:
            return self._expr(expr, file, condition=condition)[0]
        return ast.Literal(False if condition else None, expr.span)

    def _expr(self, node: ast.Expr, file: ast.RuleFile, *, condition: bool) -> tuple[ast.Expr, str]:
        """The resolved node and its kind (string, number, bool, null, list, object or any).
        With `condition`, the node stands where a true/false test is needed."""
        resolved, kind = self._resolve(node, file, condition)
        if condition and kind not in ("bool", "error"):
            self._not_a_condition(node, kind, file)
        return resolved, kind

    def _not_a_condition(self, node: ast.Expr, kind: str, file: ast.RuleFile) -> None:
        if isinstance(node, ast.Attr | ast.Index):
            path = file.text(node.span)
            self.error(
                file,
                node.span,
                f"expected a condition, got the field '{path}'",
                f"compare it, such as {path} == true, or test it with exists({path})",
            )
        elif kind == "any":
            self.error(file, node.span, "expected a condition, got a value")
        else:
            self.error(file, node.span, f"expected a condition, got {_a(kind)}")

    def _resolve(self, node: ast.Expr, file: ast.RuleFile, condition: bool) -> tuple[ast.Expr, str]:
        match node:
            case ast.Literal(value=value):
                if value.__class__ is float and not math.isfinite(value):
                    self.error(
                        file, node.span, "the number is too large", "numbers go up to about 1e308"
                    )
                return node, _kind_of(value)
            case ast.DurationLit(text=text, span=span):
                return ast.Literal(self._duration(ast.Text(text, span), file), span), "number"
            case ast.ListLit(items=items, span=span):
                values = tuple(self._expr(item, file, condition=False)[0] for item in items)
                return ast.ListLit(values, span), "list"
            case ast.Name():
                return self._name(node, file, condition)
            case ast.Attr(obj=obj, name=name, span=span):
                return ast.Attr(self._expr(obj, file, condition=False)[0], name, span), "any"
            case ast.Index(obj=obj, index=index, span=span):
                resolved_index, index_kind = self._expr(index, file, condition=False)
                if index_kind not in ("string", "number", "any", "error"):
                    self.error(
                        file,
                        index.span,
                        f"an index must be a string or a number, not {_a(index_kind)}",
                    )
                resolved_obj = self._expr(obj, file, condition=False)[0]
                return ast.Index(resolved_obj, resolved_index, span), "any"
            case ast.Unary(op="not", operand=operand, span=span):
                return ast.Unary("not", self._expr(operand, file, condition=True)[0], span), "bool"
            case ast.Unary(op=op, operand=operand, span=span):
                resolved, kind = self._expr(operand, file, condition=False)
                if kind not in ("number", "any", "error"):
                    self.error(file, span, f"cannot negate {_a(kind)}")
                return ast.Unary(op, resolved, span), "number"
            case ast.Logic(op=op, items=items, span=span):
                resolved_items = tuple(self._expr(i, file, condition=True)[0] for i in items)
                return ast.Logic(op, resolved_items, span), "bool"
            case ast.Binary():
                return self._binary(node, file)
            case ast.Call():
                return self._call(node, file)
            case _:  # pragma: no cover - Field and MacroRef exist only after resolution
                raise TypeError(f"unexpected node {node!r}")

    def _name(self, node: ast.Name, file: ast.RuleFile, condition: bool) -> tuple[ast.Expr, str]:
        """A bare name is a macro where a condition stands, else a field. (After `in` it is a
        named list: see `_list_operand`.) So names never shadow one another."""
        name = node.name
        if not condition:
            return ast.Field(name, node.span), "any"
        if name in self.macros:
            # Resolved before anything that uses it, but for a use that closes a cycle.
            body = self.resolved_macros.get(name) or ast.Literal(False, node.span)
            return ast.MacroRef(name, body, node.span, self._source(self.macros[name][1])), "bool"
        if name in self.lists:
            self.error(
                file,
                node.span,
                f"'{name}' is a list, not a condition",
                f"test membership, such as type in {name}",
            )
        else:
            self.error(
                file,
                node.span,
                f"unknown macro '{name}'",
                did_you_mean(name, self.macros)
                or f"to test a field, compare it ({name} == true) or use exists({name})",
                unknown=name,
            )
        return ast.Literal(False, node.span), "error"

    def _list_operand(self, node: ast.Expr, file: ast.RuleFile) -> tuple[ast.Expr, str]:
        """The right side of `in`: a bare name there must be a named list."""
        if isinstance(node, ast.Name) and node.name in self.lists:
            return self.resolved_lists[node.name], "list"
        if isinstance(node, ast.Name):
            if node.name in self.macros:
                self.error(file, node.span, f"'{node.name}' is a macro, not a list")
            else:
                self.error(
                    file,
                    node.span,
                    f"unknown list '{node.name}'",
                    did_you_mean(node.name, self.lists)
                    or f"to test a field that holds a list, write {node.name} contains ...",
                    unknown=node.name,
                )
            return ast.ListLit((), node.span), "error"
        return self._expr(node, file, condition=False)

    def _binary(self, node: ast.Binary, file: ast.RuleFile) -> tuple[ast.Expr, str]:
        op = node.op
        left, lk = self._expr(node.left, file, condition=False)
        if op in ("in", "not in"):
            right, rk = self._list_operand(node.right, file)
        else:
            right, rk = self._expr(node.right, file, condition=False)
        resolved = ast.Binary(op, left, right, node.span, node.op_span)
        if "error" in (lk, rk):
            return resolved, "error" if op in _ARITHMETIC else "bool"
        problem = _kind_problem(op, lk, rk)
        if problem is not None:
            self.error(file, node.op_span, *problem)
        if op in ("/", "%") and isinstance(right, ast.Literal) and right.value == 0:
            self.error(file, node.right.span, "division by zero")
        if op == "matches":
            self._pattern(node.right, file)
        if op in _ARITHMETIC:
            return resolved, _arithmetic_kind(op, lk, rk)
        return resolved, "bool"

    def _pattern(self, node: ast.Expr, file: ast.RuleFile) -> None:
        if not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            self.error(file, node.span, "the pattern after 'matches' must be a string literal")
            return
        try:
            compile_pattern(node.value)
        except PatternError as exc:
            span = node.span
            # Point at what RE2 quotes, found in the literal as written (escapes and all).
            written = file.text(span)
            found = written.find(exc.fragment, 1) if exc.fragment else -1
            if found > 0 and span.line == span.end_line:
                column = span.column + found
                span = ast.Span(span.line, column, span.line, column + len(exc.fragment))
            self.error(file, span, f"invalid regular expression: {exc.message}", exc.hint)

    def _call(self, node: ast.Call, file: ast.RuleFile) -> tuple[ast.Expr, str]:
        builtin = BUILTINS.get(node.name)
        args = tuple(self._expr(arg, file, condition=False) for arg in node.args)
        resolved = ast.Call(node.name, tuple(arg for arg, _ in args), node.span)
        if builtin is None:
            self.error(
                file,
                _name_span(node),
                f"unknown function '{node.name}'",
                did_you_mean(node.name, BUILTINS)
                or f"the functions are {one_of(sorted(BUILTINS))}",
            )
            return resolved, "error"
        arity = builtin.arity_error(len(args))
        if arity is not None:
            self.error(file, node.span, arity)
            return resolved, builtin.returns
        for position, (_, kind) in enumerate(args):
            accepted = builtin.param(position)
            if accepted and kind not in accepted and kind not in ("any", "null", "error"):
                self.error(
                    file,
                    node.args[position].span,
                    f"{node.name}() expects {_kinds(accepted)} as argument {position + 1}, "
                    f"not {_a(kind)}",
                )
        if builtin.event_time and args:
            self._zone(node.args[0], file)
        if node.name == "geocell" and len(args) == 2:
            digits = node.args[1]
            if not (
                isinstance(digits, ast.Literal)
                and digits.value.__class__ is int
                and 0 <= digits.value <= MAX_GEOCELL_DIGITS
            ):
                self.error(
                    file,
                    digits.span,
                    f"geocell() digits must be a whole number from 0 to {MAX_GEOCELL_DIGITS}",
                )
        return resolved, builtin.returns

    def _zone(self, node: ast.Expr, file: ast.RuleFile) -> None:
        if not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            self.error(
                file, node.span, 'the time zone must be a string literal, such as "Europe/Paris"'
            )
            return
        try:
            time_zone(node.value)
        except ValueError as exc:
            self.error(file, node.span, str(exc), did_you_mean(node.value, _zones()))


def _name_span(node: ast.Call) -> ast.Span:
    line, column = node.span.line, node.span.column
    return ast.Span(line, column, line, column + len(node.name))


def unknown_group(group: str, known: Collection[str]) -> tuple[str, str]:
    """The error and hint for a recipient group not in `known`: the `[recipients]` groups, and
    `oncall:SCHEDULE` and `person:NAME` for the schedules and people of oncall.toml."""
    prefix, colon, name = group.partition(":")
    if not colon:
        plain = [choice for choice in known if ":" not in choice]
        return f"unknown recipient group '{group}'", did_you_mean(group, plain) or (
            "recipient groups are defined under [recipients] in the config file"
        )
    kinds = {"oncall": ("schedule", "schedules"), "person": ("person", "people")}
    if prefix not in kinds:
        guesses = [f"{other}:{name}" for other in kinds]
        return f"unknown recipient '{group}'", did_you_mean(group, guesses) or (
            "a recipient is a [recipients] group, oncall:SCHEDULE or person:NAME"
        )
    what, defined = kinds[prefix]
    names = [c.removeprefix(prefix + ":") for c in known if c.startswith(prefix + ":")]
    return f"unknown {what} '{name}'", did_you_mean(name, names) or (
        f"{defined} are defined in the on-call file ([oncall] path in the config file)"
    )


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _measure(
    expr: ast.Expr, condition: bool, macros: Mapping[str, tuple[int, int]]
) -> tuple[int, int, list[str]]:
    """How deep an unresolved expression is and how many nodes it has but literals (which
    cost the compiler nothing: a list of them is one constant), with the macros it uses
    expanded (`macros`: their depth and size; another name is one node); and the names it
    uses as macros, the bare names where a condition stands. A loop, not recursion: this runs
    before anything that recurses may see the expression."""
    deepest = size = 0
    used: list[str] = []
    stack: list[tuple[ast.Expr, int, bool]] = [(expr, 1, condition)]
    while stack:
        node, depth, is_condition = stack.pop()
        deepest = max(deepest, depth)
        cls = node.__class__
        if cls is ast.Literal:
            continue
        size += 1
        depth += 1
        if isinstance(node, ast.Name):
            if is_condition:
                used.append(node.name)
                if node.name in macros:  # a MacroRef around the macro's body
                    macro_depth, macro_size = macros[node.name]
                    deepest = max(deepest, depth - 1 + macro_depth)
                    size += macro_size
        elif cls is ast.Logic:
            stack += [(item, depth, True) for item in node.items]  # type: ignore[union-attr]
        elif cls is ast.Binary:
            stack += ((node.left, depth, False), (node.right, depth, False))  # type: ignore[union-attr]
        elif cls is ast.Unary:
            stack.append((node.operand, depth, node.op == "not"))  # type: ignore[union-attr]
        elif cls is ast.Call or cls is ast.ListLit:
            children = node.args if cls is ast.Call else node.items  # type: ignore[union-attr]
            stack += [(child, depth, False) for child in children]
        elif cls is ast.Attr:
            stack.append((node.obj, depth, False))  # type: ignore[union-attr]
        elif cls is ast.Index:
            stack += ((node.obj, depth, False), (node.index, depth, False))  # type: ignore[union-attr]
    return deepest, size, used


def _is_number(node: ast.Expr) -> bool:
    return (
        isinstance(node, ast.Literal)
        and node.value.__class__ in (int, float)
        and node.value.__class__ is not bool
    )


def _kind_of(value: ast.Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "number"


def _a(kind: str) -> str:
    return {"any": "a value", "null": "null", "object": "an object"}.get(kind, f"a {kind}")


def _kinds(kinds: frozenset[str]) -> str:
    return one_of([_a(k) for k in sorted(kinds, key=["string", "number", "list", "object"].index)])


def _kind_problem(op: str, lk: str, rk: str) -> tuple[str, str | None] | None:
    """Why `left op right` can never work, given the kinds the text fixes; None if it can."""
    known = lk != "any" and rk != "any"
    if op in ("==", "!="):
        if known and "null" not in (lk, rk) and lk != rk:
            return f"cannot compare {lk} with {rk} using '{op}'", "the comparison is always false"
        return None
    if op in _COMPARISONS:
        if "null" in (lk, rk):
            return (
                f"'{op}' with null is always false",
                "write '== null' or '!= null' to test for a missing value",
            )
        if known and lk != rk:
            return f"cannot compare {lk} with {rk} using '{op}'", "the comparison is always false"
        for kind in (lk, rk):
            if kind not in (*_ORDERED, "any"):
                return f"'{op}' compares numbers or strings, not {kind}s", None
        return None
    if op in ("in", "not in"):
        if rk not in ("list", "string", "any"):
            return f"'{op}' needs a list or a string on its right, not {_a(rk)}", None
        if rk == "string" and lk not in ("string", "any", "null"):
            return f"cannot look for {_a(lk)} in a string", None
        return None
    if op == "contains":
        if lk not in ("list", "string", "any"):
            return f"'contains' needs a list or a string on its left, not {_a(lk)}", None
        if lk == "string" and rk not in ("string", "any", "null"):
            return f"cannot look for {_a(rk)} in a string", None
        return None
    if op in _STRING_TESTS:
        for kind in (lk, rk):
            if kind not in ("string", "any"):
                return f"'{op}' needs strings, not {_a(kind)}", None
        return None
    # arithmetic
    if "null" in (lk, rk):
        return f"'{op}' with null is always null", None
    if op == "+" and known and lk == rk == "string":
        return None
    for kind in (lk, rk):
        if kind not in ("number", "any") and not (op == "+" and kind == "string"):
            return f"cannot apply '{op}' to {lk} and {rk}", None
    if op == "+" and known and lk != rk:
        return f"cannot apply '+' to {lk} and {rk}", None
    return None


def _arithmetic_kind(op: str, lk: str, rk: str) -> str:
    if op == "+" and "string" in (lk, rk):
        return "string"
    if op == "+" and lk == rk == "any":
        return "any"
    return "number"
