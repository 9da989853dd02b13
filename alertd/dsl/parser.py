"""Rule text -> syntax tree, with a span on every node.

grammar.lark is the one description of the language, its tokens included. Lark's LALR(1) parser
reads the text with Lark's contextual lexer (a word is a keyword only where the grammar takes
that keyword, so a field may be called `name` or `count`), and calls `_ToAst`, a Transformer
run inline, at each reduction: the tree is built as the text is read, with no parse tree in
between. This is the only module that imports Lark, and it uses only Lark's public interface:
`Lark`, `Transformer`, `Token`, and the `UnexpectedInput` errors (their token, line, column,
and the interactive parser's `accepts`: what the parser would have taken there), which it
hands to alertd/dsl/syntax_errors.py as plain data to be put in the user's words.

After a syntax error the file is parsed again one top-level item at a time, so that one typo
does not hide the errors in the rest.

Adding a clause to the language: a rule in grammar.lark (`resolve_clause: KW_RESOLVE ...`,
listed under `clause`), a method of the same name on `_ToAst` that builds its node, the node
in ast.py, and what the checker and the compiler do with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from functools import cache, partial
from importlib import resources
from typing import Any, TypeAlias

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from alertd.dsl import ast
from alertd.dsl.errors import RuleError
from alertd.dsl.syntax_errors import Following, Syntax, explain

MAX_INTEGER_DIGITS = 308  # longer whole numbers are read as floats: 1e308 is about the largest

# Where a top-level item seems to start, for recovery after a syntax error: a line that starts
# with `rule`, `list` or `macro`, or with two words and then `{` or `=` (`rul p {`, `lst l =`:
# a misspelt keyword must start a new item, not vanish into the broken item before it).
_ITEM_START = re.compile(
    r"^[ \t]*(?:(?:rule|list|macro)\b|[A-Za-z_]\w*[ \t]+[A-Za-z_]\w*[ \t]*(?:\{|=(?!=)))",
    re.MULTILINE,
)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def parse(text: str, path: str) -> tuple[ast.RuleFile, list[RuleError]]:
    """Parse one file, returning what parsed and every syntax error (one per top-level item)."""
    text = text.removeprefix("\ufeff")
    lines = tuple(text.split("\n"))
    try:
        items: tuple[ast.Item, ...] = _lark().parse(text)  # type: ignore[assignment]
    except UnexpectedInput as exc:
        first_error = explain(_syntax(exc), path, lines, following=None)
    else:
        return ast.RuleFile(path, items, lines), []
    good: list[ast.Item] = []
    errors: list[RuleError] = []
    for chunk_text, following in _chunks(text):
        try:
            good.extend(_lark().parse(chunk_text))  # type: ignore[arg-type]
        except UnexpectedInput as exc:
            errors.append(explain(_syntax(exc), path, lines, following))
    return ast.RuleFile(path, tuple(good), lines), errors or [first_error]


def _chunks(text: str) -> Iterator[tuple[str, Following | None]]:
    """Each top-level item's text, padded with newlines so that line numbers stay right, and
    where the next item starts (line, column, word), to report a missing `}` there."""
    starts = [m.start() for m in _ITEM_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        line_offset = text.count("\n", 0, start)
        following = None
        if end < len(text):
            word = text[end:].split(None, 1)[0]
            column = text.index(word, end) - end + 1
            following = Following(text.count("\n", 0, end) + 1, column, word)
        yield "\n" * line_offset + text[start:end], following


@cache
def _lark() -> Lark:
    """The parser: LALR(1) with the contextual lexer, building the tree as it reduces. (Safe
    to share between threads: each parse has its own state, and `_ToAst` keeps none.)"""
    grammar = resources.files("alertd.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        transformer=_ToAst(),
        # Keywords and punctuation reach the transformer too: a node's span runs from its first
        # token to its last (an inline transformer gets no positions of its own).
        keep_all_tokens=True,
        maybe_placeholders=False,
    )


# Syntax errors ---------------------------------------------------------------------------------

# A regular expression that matches one text: letters, digits and escaped characters, then
# at most a word boundary or a negative lookahead (`when\\b`, `=(?!=)`).
_FIXED_TEXT = re.compile(r"((?:\w|\\\W|[=<>!])+)(?:\\b|\(\?![^()]*\))?")


def _syntax(exc: UnexpectedInput) -> Syntax:
    """Lark's error as plain data. (LALR never raises UnexpectedEOF: the end of the text is a
    `$END` token.)"""
    if isinstance(exc, UnexpectedToken):
        # What the parser would really take there: `expected` is blurred by LALR's merged
        # states and reductions made before the parser gave up.
        accepts: set[str] = exc.expected
        if exc.interactive_parser is not None:
            accepts = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
        expected = frozenset(_written(name) for name in accepts)
        return Syntax(exc.line, exc.column, exc.token.type, str(exc.token), expected)
    assert isinstance(exc, UnexpectedCharacters)
    return Syntax(exc.line, exc.column, None, "", frozenset())


@cache
def _written(terminal: str) -> str:
    """A terminal that matches one text as that text (`"=="`; `/when\\b/` and `/=(?!=)/`: the
    assertions after the text only say where it ends); any other by its name."""
    if terminal == "$END":
        return terminal
    pattern = _lark().get_terminal(terminal).pattern
    if pattern.type == "str":
        return str(pattern.value)
    fixed = _FIXED_TEXT.fullmatch(pattern.value)
    return fixed.group(1).replace("\\", "") if fixed else terminal


# Building the tree -------------------------------------------------------------------------------

_Child: TypeAlias = Any  # a Token, a node, or a part on its way into a node (_Keys, _Op)

_VALUE_TOKENS = frozenset({"NAME", "STRING", "NUMBER", "DURATION", "KW_TRUE", "KW_FALSE"})

_new_span = partial(tuple.__new__, ast.Span)  # Span(...) without its Python-level __new__


def _token_span(token: Token) -> ast.Span:
    return _new_span((token.line, token.column, token.end_line, token.end_column))


def _span(children: list[_Child]) -> ast.Span:
    """From the start of the first child to the end of the last."""
    first, last = children[0], children[-1]
    if first.__class__ is Token:
        line, column = first.line, first.column
    else:
        line, column = first.span[0], first.span[1]
    if last.__class__ is Token:
        return _new_span((line, column, last.end_line, last.end_column))
    return _new_span((line, column, last.span[2], last.span[3]))


class _Keys:
    """The `by` part of a clause, on its way into the clause."""

    __slots__ = ("exprs", "span")

    def __init__(self, exprs: tuple[ast.Expr, ...], span: ast.Span) -> None:
        self.exprs = exprs
        self.span = span


class _Op:
    """A comparison operator (`not in` is two tokens), on its way into a Binary node."""

    __slots__ = ("span", "text")

    def __init__(self, text: str, span: ast.Span) -> None:
        self.text = text
        self.span = span


def _values(children: list[_Child]) -> list[Any]:
    """The children that carry meaning: nodes and value tokens, not keywords or punctuation."""
    return [c for c in children if c.__class__ is not Token or c.type in _VALUE_TOKENS]


def _text(token: Token) -> ast.Text:
    return ast.Text(token.value, _token_span(token))


def _string(token: Token) -> ast.Text:
    return ast.Text(unquote(token.value), _token_span(token))


def unquote(literal: str) -> str:
    """The value of a quoted string. Unknown escapes stay as written, so `"\\d+"` is a regex."""
    if "\\" not in literal:
        return literal[1:-1]
    return _ESCAPE.sub(_unescape, literal[1:-1])


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _ESCAPES:
        return _ESCAPES[code]
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return match.group(0)


class _ToAst(Transformer[Token, Any]):
    """Builds `alertd.dsl.ast` nodes, one method per grammar rule or alias, each called with
    the rule's children, tokens included. (A `?rule` with one child is that child, and an
    `_inline` rule's children are its parent's: Lark does both.)"""

    def start(self, children: list[ast.Item]) -> tuple[ast.Item, ...]:
        return tuple(children)

    def list_def(self, children: list[_Child]) -> ast.ListDef:
        name, items = _values(children)
        return ast.ListDef(_text(name), items, _span(children))

    def macro_def(self, children: list[_Child]) -> ast.MacroDef:
        name, body = _values(children)
        return ast.MacroDef(_text(name), body, _span(children))

    def rule_def(self, children: list[_Child]) -> ast.RuleDef:
        name, *clauses = _values(children)
        return ast.RuleDef(_text(name), tuple(clauses), _span(children))

    # clauses

    def name_clause(self, children: list[Token]) -> ast.NameClause:
        return ast.NameClause(_string(children[1]), _span(children))

    def description_clause(self, children: list[Token]) -> ast.DescriptionClause:
        return ast.DescriptionClause(_string(children[1]), _span(children))

    def when_clause(self, children: list[_Child]) -> ast.WhenClause:
        return ast.WhenClause(children[1], _span(children))

    def priority_clause(self, children: list[Token]) -> ast.PriorityClause:
        return ast.PriorityClause(_text(children[1]), _span(children))

    def count_clause(self, children: list[_Child]) -> ast.CountClause:
        threshold, within, *keys = _values(children)
        by = keys[0].exprs if keys else ()
        return ast.CountClause(_text(threshold), _text(within), by, _span(children))

    def suppress_clause(self, children: list[_Child]) -> ast.SuppressClause:
        duration, *keys = _values(children)
        by = keys[0].exprs if keys else ()
        return ast.SuppressClause(_text(duration), by, _span(children))

    def by_keys(self, children: list[_Child]) -> _Keys:
        return _Keys(tuple(_values(children)), _span(children))

    def notify_clause(self, children: list[_Child]) -> ast.NotifyClause:
        return ast.NotifyClause(tuple(_values(children)), _span(children))

    def target(self, children: list[_Child]) -> ast.Target:
        channel, *groups = _values(children)
        return ast.Target(_text(channel), tuple(groups), _span(children))

    def group(self, children: list[Token]) -> ast.Text:  # managers, oncall:fleet_ops
        return ast.Text(":".join(name.value for name in _values(children)), _span(children))

    def template_clause(self, children: list[Token]) -> ast.TemplateClause:
        return ast.TemplateClause(_string(children[1]), _span(children))

    def labels_clause(self, children: list[_Child]) -> ast.LabelsClause:
        return ast.LabelsClause(tuple(_values(children)), _span(children))

    def label(self, children: list[Token]) -> ast.Label:
        key, value = _values(children)
        return ast.Label(_text(key), _string(value), _span(children))

    def enabled_clause(self, children: list[Token]) -> ast.EnabledClause:
        return ast.EnabledClause(children[1].type == "KW_TRUE", _span(children))

    def by_clause(self, children: list[_Child]) -> ast.ByClause:
        return ast.ByClause(tuple(_values(children)), _span(children))

    def resolve_when_clause(self, children: list[_Child]) -> ast.ResolveWhenClause:
        return ast.ResolveWhenClause(children[2], _span(children))

    def resolve_after_clause(self, children: list[_Child]) -> ast.ResolveAfterClause:
        return ast.ResolveAfterClause(_text(children[2]), _span(children))

    def escalate_clause(self, children: list[Token]) -> ast.EscalateClause:
        return ast.EscalateClause(_text(children[1]), _span(children))

    def for_clause(self, children: list[Token]) -> ast.ForClause:
        return ast.ForClause(_text(children[1]), _span(children))

    def forget_clause(self, children: list[Token]) -> ast.ForgetClause:
        return ast.ForgetClause(_text(children[1]), _span(children))

    def absent_clause(self, children: list[_Child]) -> ast.AbsentClause:
        duration, *keys = _values(children)
        by = keys[0].exprs if keys else ()
        return ast.AbsentClause(_text(duration), by, _span(children))

    def group_clause(self, children: list[_Child]) -> ast.GroupClause:
        *keys, wait = _values(children)
        return ast.GroupClause(tuple(keys), _text(wait), _span(children))

    # expressions

    def or_op(self, children: list[_Child]) -> ast.Logic:
        return _logic("or", children)

    def and_op(self, children: list[_Child]) -> ast.Logic:
        return _logic("and", children)

    def not_op(self, children: list[_Child]) -> ast.Unary:
        return ast.Unary("not", children[1], _span(children))

    def neg(self, children: list[_Child]) -> ast.Unary:
        return ast.Unary("-", children[1], _span(children))

    def compare(self, children: list[_Child]) -> ast.Binary:
        left, op, right = children
        return ast.Binary(op.text, left, right, _span(children), op.span)

    def comp_op(self, children: list[Token]) -> _Op:
        if len(children) == 1:
            return _Op(children[0].value, _token_span(children[0]))
        return _Op(" ".join(token.value for token in children), _span(children))  # `not in`

    def _arithmetic(self, children: list[_Child]) -> ast.Binary:
        left, op, right = children
        return ast.Binary(op.value, left, right, _span(children), _token_span(op))

    add = sub = mul = div = mod = _arithmetic

    def attr(self, children: list[_Child]) -> ast.Attr:
        return ast.Attr(children[0], children[2].value, _span(children))

    def index(self, children: list[_Child]) -> ast.Index:
        return ast.Index(children[0], children[2], _span(children))

    def postfix(self, children: list[_Child]) -> ast.Expr:  # "(" expr ")"
        # The parentheses are part of the text the node was read from: a node's span is what
        # was written, so that `(a or b) and c` spans from `(`, not from `a`.
        expr: ast.Expr = replace(children[1], span=_span(children))
        return expr

    def string(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(unquote(children[0].value), _token_span(children[0]))

    def number(self, children: list[Token]) -> ast.Literal:
        text, span = children[0].value, _token_span(children[0])
        # A whole number too long for a float is read as one (infinite), which the checker
        # refuses; int() would raise on 4,300 digits and take quadratic time before that.
        if "." in text or len(text) > MAX_INTEGER_DIGITS:
            return ast.Literal(float(text), span)
        return ast.Literal(int(text), span)

    def duration(self, children: list[Token]) -> ast.DurationLit:
        return ast.DurationLit(children[0].value, _token_span(children[0]))

    def true(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(True, _token_span(children[0]))

    def false(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(False, _token_span(children[0]))

    def null(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(None, _token_span(children[0]))

    def name(self, children: list[Token]) -> ast.Name:
        return ast.Name(children[0].value, _token_span(children[0]))

    def call(self, children: list[_Child]) -> ast.Call:
        name, *args = _values(children)
        return ast.Call(name.value, tuple(args), _span(children))

    def list_lit(self, children: list[_Child]) -> ast.ListLit:
        return ast.ListLit(tuple(_values(children)), _span(children))


def _logic(op: str, children: list[_Child]) -> ast.Logic:
    # The grammar is left-recursive; `a and b and c` arrives as `(a and b) and c`. Flatten it, so
    # that long chains do not nest (grouping does not change the meaning of and/or). The left
    # node was made by this parse and is held by nothing else: it grows in place, so that a
    # chain of n items costs n steps, not n * n.
    left, _, right = children
    if isinstance(left, ast.Logic) and left.op == op and isinstance(left.items, list):
        left.items.append(right)
        left.span = _span(children)
        return left
    return ast.Logic(op, [left, right], _span(children))
