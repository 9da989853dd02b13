"""Name resolution: what every name in an expression stands for, with the macros expanded.

Names are resolved by where they stand, so they never shadow one another: a bare name is a
macro where a condition stands (a `when`, an item of `and`/`or`, after `not`), a named list
after `in`, and a field anywhere else. A macro is resolved once, after the macros it uses (a
loop, not recursion: a chain of a thousand macros cannot overflow the stack), and its body
checked (alertd.dsl.kinds); each use wraps that body in a MacroRef. Duration literals become
seconds here too. Expressions too deep or too large once their macros are expanded are refused
before anything recursive sees them.

Every mistake is reported to the shared Collector, and what it was about is replaced by a
value that says nothing more (an unknown macro is false, an unknown list empty), so that the
rest is still checked and compiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alertd.dsl import ast, previous
from alertd.dsl.errors import Collector, one_of
from alertd.dsl.functions import BUILTINS
from alertd.dsl.kinds import check_kinds
from alertd.durations import parse_duration
from alertd.model import SourceLocation
from alertd.suggest import did_you_mean

MAX_DEPTH = 64
"""Expressions nested deeper than this, their macros expanded, are refused: the checker and
the compiler recurse, and Python refuses generated code nested ~200 parentheses deep (the
worst kind of node writes three per level)."""
MAX_SIZE = 20_000
"""Expressions with more nodes than this, their macros expanded, are refused: each use of a
macro copies it, so ten macros that each use the one before twice make a thousand copies."""
MAX_DURATION = 36_500 * 86_400.0  # 100 years: longer is a mistake (or infinite)


class Names:
    """The lists and macros of files checked together, and expressions resolved against them."""

    def __init__(self, files: Sequence[ast.RuleFile], errors: Collector) -> None:
        self.errors = errors
        self.lists: dict[str, tuple[ast.ListDef, ast.RuleFile]] = {}
        self.macros: dict[str, tuple[ast.MacroDef, ast.RuleFile]] = {}
        self.resolved_lists: dict[str, ast.ListLit] = {}
        self.resolved_macros: dict[str, ast.Expr] = {}
        self.expanded: dict[str, tuple[int, int]] = {}  # macro -> its depth and size, expanded
        self.refused: set[str] = set()  # macros too deep or too large, and those that use them
        self.sources: dict[str, ast.SourceText] = {}  # path -> the file's text, made once
        self._collect(files)
        for name, (definition, file) in self.lists.items():
            self.resolved_lists[name] = self._named_list(definition, file)
        self._resolve_macros()

    def expression(self, expr: ast.Expr, file: ast.RuleFile, *, condition: bool) -> ast.Expr:
        """A whole expression (a condition or a `by` key) resolved; refused when it is too deep
        or too large with its macros expanded (false for a condition, else null)."""
        depth, size, used = _measure(expr, condition, self.expanded)
        expanded = " with its macros expanded" if used else ""
        if any(macro in self.refused for macro in used):
            pass  # the macro's own error says it
        elif depth > MAX_DEPTH:
            self.errors.add(
                file, expr.span, f"the expression is nested too deeply{expanded} (over {MAX_DEPTH})"
            )
        elif size > MAX_SIZE:
            self.errors.add(
                file, expr.span, f"the expression is too large{expanded} (over {MAX_SIZE} parts)"
            )
        else:
            return self._resolve(expr, file, condition)
        return ast.Literal(False if condition else None, expr.span)

    def source(self, file: ast.RuleFile) -> ast.SourceText:
        """The file's text, kept by what is resolved from it (a MacroRef, a CheckedRule), so
        that its parts can be shown as written (alertd.dsl.explain)."""
        source = self.sources.get(file.path)
        if source is None:
            source = self.sources[file.path] = ast.SourceText(file.path, file.lines)
        return source

    def duration(self, text: ast.Text, file: ast.RuleFile) -> float:
        """Seconds of a duration as written (`90s`, `5m`); 0 (or the longest) when it is wrong."""
        try:
            seconds = parse_duration(text.value)
        except ValueError as exc:
            hint = None
            if text.value.replace(".", "", 1).isdigit():
                hint = f"add a unit: {text.value}s, {text.value}m or {text.value}h"
            self.errors.add(file, text.span, str(exc), hint)
            return 0.0
        if seconds <= 0:
            self.errors.add(file, text.span, "the duration must be longer than zero")
        elif not seconds <= MAX_DURATION:
            self.errors.add(file, text.span, "the duration is too long (100 years at most)")
            return MAX_DURATION
        return seconds

    # Definitions --------------------------------------------------------------------------------

    def _collect(self, files: Sequence[ast.RuleFile]) -> None:
        defined: dict[str, tuple[str, SourceLocation]] = {}
        for file in files:
            for item in file.items:
                if isinstance(item, ast.RuleDef):
                    continue
                what = "list" if isinstance(item, ast.ListDef) else "macro"
                name = item.name.value
                if name in defined:
                    other, where = defined[name]
                    self.errors.add(
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
                items.append(self._resolve(item, file, False))
            else:
                self.errors.add(
                    file,
                    item.span,
                    "a named list may hold only literal values (strings, numbers, true, false, "
                    "null)",
                )
        for value in items:
            check_kinds(value, file, self.errors, condition=False)
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
        self.errors.add(file, definition.name.span, f"macro '{name}' refers to itself{through}")

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
            self.errors.add(
                file,
                definition.name.span,
                f"macro nesting deeper than {MAX_DEPTH}: '{name}', with the macros it uses "
                "expanded, is nested too deeply",
                "use fewer macros inside macros inside macros",
            )
        elif size > MAX_SIZE:
            self.errors.add(
                file,
                definition.name.span,
                f"macro '{name}' is too large: with the macros it uses expanded, it has over "
                f"{MAX_SIZE} parts",
                "each use of a macro copies it: a macro that uses another twice is twice as large",
            )
        else:
            errors_before = len(self.errors)
            resolved = self._resolve(definition.body, file, True)
            check_kinds(resolved, file, self.errors, condition=True)
            # A body with an error was reported; its uses are false, so that the rules using it
            # are still checked in full, and compile (for the template check of `alertd check`).
            body = resolved if len(self.errors) == errors_before else ast.Literal(False, body.span)
        self.resolved_macros[name] = body
        self.expanded[name] = (1, 1) if body is refused else (depth, size)
        # A macro refused here was given its error; its uses are false, and say nothing more.
        if body is refused:
            self.refused.add(name)

    # Expressions --------------------------------------------------------------------------------

    def _resolve(self, node: ast.Expr, file: ast.RuleFile, condition: bool) -> ast.Expr:
        """The node with its names resolved. With `condition`, it stands where a true/false
        test is needed, so a bare name there is a macro."""
        # Dispatch on the class, most frequent first: a load resolves every node of every rule.
        if node.__class__ is ast.Binary:
            left = self._resolve(node.left, file, False)
            if node.op in ("in", "not in"):
                right = self._list_operand(node.right, file)
            else:
                right = self._resolve(node.right, file, False)
            return ast.Binary(node.op, left, right, node.span, node.op_span)
        if node.__class__ is ast.Name:
            return self._name(node, file, condition)
        if node.__class__ is ast.Literal:
            return node
        if node.__class__ is ast.Logic:
            items = tuple(self._resolve(item, file, True) for item in node.items)
            return ast.Logic(node.op, items, node.span)
        if node.__class__ is ast.Call and node.name in previous.FUNCTIONS:
            return previous.resolve_call(
                node, file, self.errors, lambda arg: self._resolve(arg, file, False)
            )
        if node.__class__ is ast.Call:
            args = tuple(self._resolve(arg, file, False) for arg in node.args)
            if node.name not in BUILTINS:
                functions = [*BUILTINS, *previous.FUNCTIONS]
                self.errors.add(
                    file,
                    _name_span(node),
                    f"unknown function '{node.name}'",
                    did_you_mean(node.name, functions)
                    or f"the functions are {one_of(sorted(functions))}",
                )
            return ast.Call(node.name, args, node.span)
        if node.__class__ is ast.DurationLit:
            seconds = self.duration(ast.Text(node.text, node.span), file)
            return ast.Literal(seconds, node.span)
        if node.__class__ is ast.ListLit:
            items = tuple(self._resolve(item, file, False) for item in node.items)
            return ast.ListLit(items, node.span)
        if node.__class__ is ast.Attr:
            return ast.Attr(self._resolve(node.obj, file, False), node.name, node.span)
        if node.__class__ is ast.Index:
            obj, index = (
                self._resolve(node.obj, file, False),
                self._resolve(node.index, file, False),
            )
            return ast.Index(obj, index, node.span)
        if node.__class__ is ast.Unary:
            operand = self._resolve(node.operand, file, node.op == "not")
            return ast.Unary(node.op, operand, node.span)
        raise TypeError(f"unexpected node {node!r}")  # pragma: no cover - parsed nodes only

    def _name(self, node: ast.Name, file: ast.RuleFile, condition: bool) -> ast.Expr:
        """A bare name is a macro where a condition stands, else a field. (After `in` it is a
        named list: see `_list_operand`.)"""
        name = node.name
        if not condition:
            return ast.Field(name, node.span)
        if name in self.macros:
            # Resolved before anything that uses it, but for a use that closes a cycle.
            body = self.resolved_macros.get(name) or ast.Literal(False, node.span)
            return ast.MacroRef(name, body, node.span, self.source(self.macros[name][1]))
        if name in self.lists:
            self.errors.add(
                file,
                node.span,
                f"'{name}' is a list, not a condition",
                f"test membership, such as type in {name}",
            )
        else:
            self.errors.add(
                file,
                node.span,
                f"unknown macro '{name}'",
                did_you_mean(name, self.macros)
                or f"to test a field, compare it ({name} == true) or use exists({name})",
                unknown=name,
            )
        return ast.Literal(False, node.span)

    def _list_operand(self, node: ast.Expr, file: ast.RuleFile) -> ast.Expr:
        """The right side of `in`: a bare name there must be a named list."""
        if not isinstance(node, ast.Name):
            return self._resolve(node, file, False)
        if node.name in self.lists:
            return self.resolved_lists[node.name]
        if node.name in self.macros:
            self.errors.add(file, node.span, f"'{node.name}' is a macro, not a list")
        else:
            self.errors.add(
                file,
                node.span,
                f"unknown list '{node.name}'",
                did_you_mean(node.name, self.lists)
                or f"to test a field that holds a list, write {node.name} contains ...",
                unknown=node.name,
            )
        return ast.ListLit((), node.span)


def _name_span(node: ast.Call) -> ast.Span:
    line, column = node.span.line, node.span.column
    return ast.Span(line, column, line, column + len(node.name))


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
