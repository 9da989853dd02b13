"""Rules held to the event schema (alertd.eventschema), for `alertd check`.

For each rule, its scope is the event types its condition can match (alertd.dsl.event_types;
every type of the schema for a rule that names none); its `resolve when` is checked against the
types that condition is tried on (alertd.model.ResolveSpec: the rule's and those it names).
Then:

- a field (`speed_kph`, `location.lat`) that no event type of the scope has is an error, with
  the field it most likely meant;
- a comparison of a field (or of `prev()` of one) with a literal of a kind the field never has
  in the scope (`speed_kmh > "120"` for a number, `engine_on == 1` for a boolean, `severity < 3`
  for a string) is an error: it is always false;
- a type test naming a type the schema does not know (`type == "safty_event"`) is an error.

Macros are checked where they are written, for each rule that uses them (the scope is the
rule's), and an error found twice is reported once. The rules are compiled ones: what is
checked is the folded condition their CompiledCondition keeps, with its keys and `resolve when`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from alertd.dsl import ast
from alertd.dsl.compiler import CONDITION_ATTRIBUTE, CompiledCondition
from alertd.dsl.errors import RuleError
from alertd.dsl.event_types import TYPE_FIELD
from alertd.eventschema import EventSchema, FieldSpec
from alertd.model import Rule
from alertd.suggest import did_you_mean

_ORDERED = frozenset({"<", "<=", ">", ">="})
_EQUALITY = frozenset({"==", "!="})
_STRING_TESTS = frozenset({"startswith", "endswith", "matches"})
# What a literal of each kind can be compared with, among the schema's kinds.
_FITS = {
    "string": {"string", "time"},
    "number": {"number", "time"},
    "bool": {"boolean"},
}
_A = {"string": "a string", "number": "a number", "bool": "a boolean"}


def schema_problems(rules: Sequence[Rule], schema: EventSchema) -> list[RuleError]:
    """Every place the rules disagree with the schema (see the module doc), sorted."""
    found: dict[tuple[str, int, int, str], RuleError] = {}
    for rule in rules:
        compiled = getattr(rule.condition, CONDITION_ATTRIBUTE, None)
        if not isinstance(compiled, CompiledCondition):
            continue
        checks = [_RuleCheck(rule, compiled, schema, rule.event_types, compiled.expr)]
        resolve = rule.resolve
        if compiled.resolve_when is not None and resolve is not None:
            checks.append(
                _RuleCheck(rule, compiled, schema, resolve.event_types, compiled.resolve_when)
            )
        for check in checks:
            for error in check.run():
                found.setdefault(error.sort_key(), error)
    return sorted(found.values(), key=RuleError.sort_key)


class _RuleCheck:
    """One condition of a rule (its `when`, with the rule's keys, or its `resolve when`), held
    to the schema's event types `types` (None: all of them)."""

    def __init__(
        self,
        rule: Rule,
        compiled: CompiledCondition,
        schema: EventSchema,
        types: frozenset[str] | None,
        condition: ast.Expr,
    ) -> None:
        self.rule = rule
        self.compiled = compiled
        self.schema = schema
        self.condition = condition
        self.source = compiled.source
        self.macros = 0  # how deep in macros the walk is
        self.errors: list[RuleError] = []
        self.scope = sorted(schema.types) if types is None else sorted(types)
        self.known_types = [t for t in self.scope if t in schema.types]
        # Per field name: its spec in each event type of the scope that has it.
        self.fields: dict[str, list[FieldSpec]] = {}
        scope: list[str | None] = [*self.known_types] or [None]
        for event_type in scope:
            for name, spec in schema.fields_of(event_type).items():
                self.fields.setdefault(name, []).append(spec)
        # A rule only of types the schema does not know: that is its error, not every field.
        self.unknown_scope = bool(self.scope) and not self.known_types

    def run(self) -> list[RuleError]:
        parts = [self.condition]
        if self.condition is self.compiled.expr:
            parts += (*self.compiled.keys, *self.compiled.other_keys)
        if not self.unknown_scope:
            for part in parts:
                self.check(part)
        self.types(self.condition)
        return self.errors

    def types(self, node: ast.Expr) -> None:
        """Every `type == "x"` and `type in [...]` of the condition names a type the schema
        knows."""
        if isinstance(node, ast.MacroRef):
            outer, self.source = self.source, node.source
            self.macros += 1
            try:
                self.types(node.body)
            finally:
                self.source = outer
                self.macros -= 1
            return
        if isinstance(node, ast.Binary) and node.op in ("==", "!=", "in", "not in"):
            sides = (node.left, node.right)
            if any(isinstance(side, ast.Field) and side.name == TYPE_FIELD for side in sides):
                for side in sides:
                    items = side.items if isinstance(side, ast.ListLit) else (side,)
                    for item in items:
                        if isinstance(item, ast.Literal) and isinstance(item.value, str):
                            self.known_type(item, item.value)
                return
        for child in _children(node):
            self.types(child)

    def known_type(self, node: ast.Literal, name: str) -> None:
        if name in self.schema.types:
            return
        self.error(
            node.span,
            f"the event schema {self.schema.path} has no event type {name!r}",
            did_you_mean(name, self.schema.types)
            or "add the type and its fields to the schema, or correct the name",
        )

    # -- walking ---------------------------------------------------------------------------------

    def check(self, node: ast.Expr) -> None:
        if isinstance(node, ast.MacroRef):
            outer, self.source = self.source, node.source
            self.macros += 1
            try:
                self.check(node.body)
            finally:
                self.source = outer
                self.macros -= 1
            return
        if isinstance(node, ast.Binary):
            self.comparison(node)
        if isinstance(node, ast.Field | ast.Attr) and self.path(node):
            return  # its parts are the path's: checked with it
        for child in _children(node):
            self.check(child)

    def path(self, node: ast.Field | ast.Attr) -> bool:
        """Check a field or a path of fields (`location.lat`); False when `node` is no path,
        so that the walk goes on into it."""
        names = _names(node)
        if names is None:
            return False
        first = names[0]
        if first == TYPE_FIELD:
            return True
        specs = self.fields.get(first)
        if specs is None:
            self.unknown(node, first, self.fields)
            return True
        for depth, name in enumerate(names[1:], start=1):
            inner = [spec.fields for spec in specs if spec.fields is not None]
            if len(inner) < len(specs):  # some type does not list the object's fields
                return True
            merged: dict[str, list[FieldSpec]] = {}
            for fields in inner:
                for key, spec in fields.items():
                    merged.setdefault(key, []).append(spec)
            if name not in merged:
                self.unknown(node, ".".join(names[: depth + 1]), merged, name)
                return True
            specs = merged[name]
        return True

    def comparison(self, node: ast.Binary) -> None:
        """A field compared with a literal of a kind it never has in the scope."""
        op = node.op
        for field_side, other in ((node.left, node.right), (node.right, node.left)):
            kinds = self.kinds(field_side)
            if kinds is None:
                continue
            literal = _literal_kinds(other, op, field_side is node.left)
            for literal_kind in literal:
                if not kinds & _FITS[literal_kind]:
                    self.mismatch(node, field_side, kinds, literal_kind)
                    return
            if op in _ORDERED and kinds <= {"boolean", "object", "list"}:
                self.error(
                    node.op_span,
                    f"'{op}' compares numbers, strings or times, but "
                    f"{self.text(field_side)} is {_kinds(kinds)}{self.where_scope()}",
                )
                return
            if op in _STRING_TESTS and field_side is node.left and "string" not in kinds:
                self.error(node.op_span, f"'{op}' needs a string, but {self.text(field_side)} "
                           f"is {_kinds(kinds)}{self.where_scope()}")  # fmt: skip
                return

    def kinds(self, node: ast.Expr) -> set[str] | None:
        """The kinds a path can have in the scope; None when it is no path the schema knows."""
        while isinstance(node, ast.MacroRef | ast.Prev):  # prev(x): x's kinds on an earlier event
            node = node.body if isinstance(node, ast.MacroRef) else node.arg
        if not isinstance(node, ast.Field | ast.Attr):
            return None
        names = _names(node)
        if names is None or names[0] == TYPE_FIELD:
            return None
        specs = self.fields.get(names[0])
        for name in names[1:]:
            if specs is None or any(spec.fields is None for spec in specs):
                return None
            specs = [s for spec in specs if spec.fields for s in [spec.fields.get(name)] if s]
        return {spec.kind for spec in specs} if specs else None

    # -- reporting -------------------------------------------------------------------------------

    def unknown(
        self,
        node: ast.Expr,
        path: str,
        known: Mapping[str, object],
        name: str | None = None,
    ) -> None:
        hint = did_you_mean(name or path, known)
        if self.rule.event_types is None:  # a rule of every type: the whole schema
            message = f"no event type of the schema {self.schema.path} has a field {path!r}"
        else:
            message = f"no event{self.where_scope(' of type ')} has a field {path!r}"
        self.error(node.span, message, hint)

    def mismatch(self, node: ast.Binary, field: ast.Expr, kinds: set[str], literal: str) -> None:
        self.error(
            node.op_span,
            f"{self.text(field)} is {_kinds(kinds)}{self.where_scope()}, "
            f"compared with {_A[literal]}",
            "the comparison is always false",
        )

    def where_scope(self, lead: str = " in ") -> str:
        if not self.known_types or self.rule.event_types is None:
            return ""
        if lead == " in ":
            return f" in {_listed(self.known_types)} events"
        return f"{lead}{_listed(self.known_types)}"

    def text(self, node: ast.Expr) -> str:
        try:
            return self.source.text(node.span)
        except IndexError:
            return "the field"

    def error(self, span: ast.Span, message: str, hint: str | None = None) -> None:
        if self.macros:  # in a macro, written for many rules
            message += f" (in rule '{self.rule.id}')"
        lines = self.source.lines
        line = lines[span.line - 1] if 0 < span.line <= len(lines) else None
        self.errors.append(
            RuleError(
                self.source.path,
                span.line,
                span.column,
                message,
                hint,
                source_line=line,
                width=span.width,
            )
        )


def _names(node: ast.Expr) -> list[str] | None:
    """`location.lat` as ["location", "lat"]; None for anything but fields and attributes."""
    names: list[str] = []
    while isinstance(node, ast.Attr):
        names.append(node.name)
        node = node.obj
    if not isinstance(node, ast.Field):
        return None
    names.append(node.name)
    return names[::-1]


def _literal_kinds(node: ast.Expr, op: str, field_on_left: bool) -> list[str]:
    """The kinds of the literal(s) a field is compared with by `op`: one for a comparison, each
    item's for `field in [..]`; none where kinds do not apply (null, other expressions)."""
    if op in _EQUALITY or op in _ORDERED:
        return _scalar_kind(node)
    if op in ("in", "not in") and field_on_left and isinstance(node, ast.ListLit):
        kinds: list[str] = []
        for item in node.items:
            kinds += _scalar_kind(item)
        return kinds[:1] if len(set(kinds)) == 1 else []  # a mixed list: some item may fit
    return []


def _scalar_kind(node: ast.Expr) -> list[str]:
    if not isinstance(node, ast.Literal) or node.value is None:
        return []
    value = node.value
    if isinstance(value, bool):
        return ["bool"]
    return ["string"] if isinstance(value, str) else ["number"]


def _children(node: ast.Expr) -> Iterator[ast.Expr]:
    if isinstance(node, ast.Binary):
        yield from (node.left, node.right)
    elif isinstance(node, ast.Unary):
        yield node.operand
    elif isinstance(node, ast.Logic):
        yield from node.items
    elif isinstance(node, ast.Call):
        yield from node.args
    elif isinstance(node, ast.ListLit) and node.name is None:
        yield from node.items
    elif isinstance(node, ast.Attr):
        yield node.obj
    elif isinstance(node, ast.Index):
        yield from (node.obj, node.index)
    elif isinstance(node, ast.Prev):
        yield node.arg


def _kinds(kinds: set[str]) -> str:
    ordered = sorted(kinds)
    words = ["an object" if k == "object" else f"a {k}" for k in ordered]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _listed(types: Sequence[str]) -> str:
    return types[0] if len(types) == 1 else ", ".join(types[:-1]) + " or " + types[-1]
