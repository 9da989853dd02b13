"""Rule text -> syntax tree, with a span on every node; the only module that imports Lark.

Lark builds the LALR(1) tables from grammar.lark. alertd runs them with its own loop, which
reads the tokens as it goes and builds the syntax tree as it reduces: it does what Lark's own
parser with an inline transformer does, at about a third of the cost (no token objects, no
parse-tree callbacks; the unit reductions of the precedence levels move the state and nothing
else). When that loop refuses the text, Lark's parser runs on it for the error, which is
translated here into a `RuleError` that speaks the user's language ("unexpected '}', expected
an expression") instead of token names. After a syntax error the file is parsed again one
top-level item at a time, so one typo does not hide the errors in the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from typing import Any

import lark
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from alertd.dsl import ast
from alertd.dsl.errors import RuleError, one_of
from alertd.suggest import did_you_mean

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

_CLAUSE_KEYWORDS = (
    "name",
    "description",
    "when",
    "priority",
    "count",
    "suppress",
    "notify",
    "template",
    "labels",
    "enabled",
)
_REGEX_TERMINALS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DURATION": "a duration",
}
_EXPRESSION_START = {"NAME", "STRING", "NUMBER", "DURATION", "TRUE", "FALSE", "LPAR", "LSQB"}
_OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "contains", "and", "or", "+", "*"}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


def parse(text: str, path: str) -> tuple[ast.RuleFile, list[RuleError]]:
    """Parse one file, returning what parsed and every syntax error (one per top-level item)."""
    text = text.removeprefix("\ufeff")
    lines = tuple(text.split("\n"))
    try:
        items = _parse_items(text)
    except UnexpectedInput as exc:
        first_error = _translate(exc, text, path, lines, at_end=None)
    else:
        return ast.RuleFile(path, items, lines), []
    good: list[ast.Item] = []
    errors: list[RuleError] = []
    for chunk_text, next_word in _chunks(text):
        try:
            good.extend(_parse_items(chunk_text))
        except UnexpectedInput as exc:
            errors.append(_translate(exc, chunk_text, path, lines, at_end=next_word))
    return ast.RuleFile(path, tuple(good), lines), errors or [first_error]


def _chunks(text: str) -> Iterator[tuple[str, tuple[int, int, str] | None]]:
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
            following = (text.count("\n", 0, end) + 1, column, word)
        yield "\n" * line_offset + text[start:end], following


def _parse_items(text: str) -> tuple[ast.Item, ...]:
    """The file's items; raises Lark's UnexpectedInput, which `_translate` explains."""
    try:
        return _tables().run(text)
    except _Refused:
        _lark().parse(text)  # raises the error
        raise AssertionError("Lark accepted rule text alertd's parser refused") from None


@cache
def _lark() -> Lark:
    """Lark's parser for the grammar: its tables drive `_Tables.run`, and it finds errors."""
    grammar = resources.files("alertd.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_LarkLexer, maybe_placeholders=False)


# The lexer ---------------------------------------------------------------------------------------
#
# One regular expression for all tokens, run by `re` in C: about three times faster than Lark's
# own lexer here. It is contextual like Lark's: a word is a keyword only where the parser can
# take that keyword next, so a field may be called `name`, `count` or `in` (`location.in`).
# The terminals in grammar.lark describe the same tokens, for the parse table and for people.

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\f\r\n]+)
    | (?P<comment>\#[^\n]*)
    | (?P<DURATION>[0-9]+(?:\.[0-9]+)?[A-Za-z][A-Za-z0-9.]*)
    | (?P<NUMBER>[0-9]+(?:\.[0-9]+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<STRING>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<punctuation>==|!=|<=|>=|[<>=+\-*/%()\[\]{},.:])
    """,
    re.VERBOSE,
)

_Token = tuple[str, str, ast.Span, int]
"""A token: its terminal name, its text, its span and its offset in the text."""

_new_span = partial(tuple.__new__, ast.Span)  # Span(...) without its Python-level __new__


def _scan(text: str, stack: list[Any], states: Mapping[Any, Container[str]]) -> Iterator[_Token]:
    """The tokens of the text. `stack` is the parser's state stack, `states` what each state
    can take next: a word is a keyword only when the state on top of the stack takes it."""
    terminals = _terminals()
    punctuation, keywords = terminals.punctuation, terminals.keywords
    match_token = _TOKEN.match
    pos, line, line_start, end = 0, 1, 0, len(text)
    while pos < end:
        match = match_token(text, pos)
        if match is None:
            column = pos - line_start + 1
            raise UnexpectedCharacters(text, pos, line, column)  # type: ignore[no-untyped-call]
        kind = match.lastgroup
        value = match.group()
        start, pos = pos, match.end()
        if kind in ("space", "comment"):
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = start + value.rindex("\n") + 1
            continue
        if kind == "word":
            keyword = keywords.get(value)
            kind = keyword if keyword in states[stack[-1]] else "NAME"
        elif kind == "punctuation":
            kind = punctuation[value]
        column = start - line_start + 1
        yield kind, value, _new_span((line, column, line, column + len(value))), start  # type: ignore[misc]


@dataclass(frozen=True)
class _Terminals:
    punctuation: dict[str, str]  # "==" -> "__ANON_0"
    keywords: dict[str, str]  # "when" -> "KW_WHEN"


@cache
def _terminals() -> _Terminals:
    terminals = _lark().terminals
    punctuation = {
        t.pattern.value: t.name for t in terminals if isinstance(t.pattern, lark.lexer.PatternStr)
    }
    keywords = {
        t.name.removeprefix("KW_").lower(): t.name for t in terminals if t.name.startswith("KW_")
    }
    keywords.update(true="TRUE", false="FALSE")
    return _Terminals(punctuation, keywords)


class _LarkLexer(lark.lexer.Lexer):
    """`_scan` for Lark's parser, which finds and describes syntax errors."""

    __future_interface__ = 2

    def __init__(self, conf: Any) -> None:
        pass

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:
        tokens = _scan(
            lexer_state.text.text, parser_state.state_stack, parser_state.parse_conf.states
        )
        for kind, value, span, start in tokens:
            line, column, _, end_column = span
            yield Token(kind, value, start, line, column, line, end_column, start + len(value))


# The parser ------------------------------------------------------------------------------------


class _Refused(Exception):
    """The text is not in the language; Lark's parser says why."""


_Reduce = tuple[int, str, Callable[[list[Any]], Any] | None]
"""How many values a rule takes, the symbol it makes, and how (None: it keeps the value)."""


@dataclass(frozen=True)
class _Tables:
    """Lark's LALR tables, rewritten for `run`: state -> next symbol -> (True, next state) to
    shift, (False, _Reduce) to reduce."""

    actions: dict[int, dict[str, tuple[bool, Any]]]
    start: int
    end: int

    def run(self, text: str) -> tuple[ast.Item, ...]:
        actions = self.actions
        stack: list[int] = [self.start]
        values: list[Any] = []
        for token in _scan(text, stack, actions):
            kind = token[0]
            while True:
                action = actions[stack[-1]].get(kind)
                if action is None:
                    raise _Refused
                if action[0]:
                    stack.append(action[1])
                    values.append(token)
                    break
                size, symbol, build = action[1]
                if build is None:  # `sum: product` and the like: only the state moves
                    stack[-1] = actions[stack[-2]][symbol][1]
                    continue
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del stack[-size:]
                else:
                    children = []
                values.append(build(children))
                stack.append(actions[stack[-1]][symbol][1])
        while True:  # the end of the text: reduce until the start symbol is complete
            action = actions[stack[-1]].get("$END")
            if action is None or action[0]:
                raise _Refused
            size, symbol, build = action[1]
            children = values[-size:] if size else []
            if size:
                del values[-size:]
                del stack[-size:]
            value = children[0] if build is None else build(children)
            state = actions[stack[-1]][symbol][1]
            if state == self.end:
                result: tuple[ast.Item, ...] = value
                return result
            stack.append(state)
            values.append(value)


@cache
def _tables() -> _Tables:
    table = _lark().parser.parser.parser.parse_table
    builders = _Builders()
    reductions: dict[Any, _Reduce] = {}
    actions: dict[int, dict[str, tuple[bool, Any]]] = {}
    for state, row in table.states.items():
        actions[state] = {}
        for symbol, (action, arg) in row.items():
            if action is lark.parsers.lalr_analysis.Shift:
                actions[state][str(symbol)] = (True, arg)
                continue
            if arg not in reductions:
                reductions[arg] = _reduction(arg, builders)
            actions[state][str(symbol)] = (False, reductions[arg])
    return _Tables(actions, table.start_states["start"], table.end_states["start"])


def _reduction(rule: Any, builders: _Builders) -> _Reduce:
    """What reducing by a grammar rule does, as Lark's tree builder would do it: a `?rule` with
    one child is that child; an `_inline` rule's children go into its parent's; every other
    rule calls the builder of its alias or name with its children."""
    size, name, alias = len(rule.expansion), str(rule.origin.name), rule.alias
    if rule.options.expand1 and alias is None and size == 1:
        return size, name, None
    if name.startswith("_"):
        return size, name, _spliced
    build = getattr(builders, str(alias or name))
    if any(symbol.name.startswith("_") for symbol in rule.expansion):
        return size, name, lambda children: build(_spliced(children))
    return size, name, build


def _spliced(children: list[Any]) -> list[Any]:
    """The children, those of inline rules (lists) in their place.

    A repetition (`("," expr)*`) reduces once per item, its list first: that list is extended
    in place (nothing else holds it), or a 100,000-item list would cost 5 billion copies."""
    first = children[0] if children else None
    out: list[Any] = first if first.__class__ is list else []
    for child in children[1:] if out is first else children:
        if child.__class__ is list:
            out.extend(child)
        else:
            out.append(child)
    return out


# Syntax errors ---------------------------------------------------------------------------------


def _translate(
    exc: UnexpectedInput,
    text: str,
    path: str,
    lines: tuple[str, ...],
    at_end: tuple[int, int, str] | None,
) -> RuleError:
    line, column = max(exc.line, 1), max(exc.column, 1)
    width = 1
    hint: str | None = None
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        message, hint = _unexpected_character(char)
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        # What the parser would really accept here; `exc.expected` is blurred by LALR's merged
        # states and default reductions.
        accepts: set[str] = exc.expected
        if exc.interactive_parser is not None:
            accepts = exc.interactive_parser.accepts()  # type: ignore[no-untyped-call]
        expected = _describe_expected(accepts)
        if token.type == "$END":
            if at_end is not None:  # the item ran into the next one: say so where that starts
                line, column, word = at_end
                found = f"'{word}'"
                width = len(word)
            else:
                found = "end of file"
                line, column = _end_of(lines)
        else:
            found = _describe_token(token)
            width = len(str(token))
        message = f"unexpected {found}, expected {expected}"
        hint = _token_hint(token, accepts)
        if token.type == "$END" and at_end is not None and "}" in expected:
            hint = "is a closing '}' missing before this line?"
    else:  # pragma: no cover - UnexpectedEOF is not raised by the LALR parser
        message = "unexpected end of file"
    return RuleError(
        path,
        line,
        column,
        message,
        hint,
        source_line=lines[line - 1] if 0 < line <= len(lines) else None,
        width=width,
    )


def _end_of(lines: tuple[str, ...]) -> tuple[int, int]:
    for number in range(len(lines), 0, -1):
        if lines[number - 1].strip():
            return number, len(lines[number - 1]) + 1
    return 1, 1


def _unexpected_character(char: str) -> tuple[str, str | None]:
    if char in "\"'":
        return "unterminated string", f"close it with {char} on the same line"
    if char == "&":
        return "unexpected character '&'", "write 'and' to combine conditions"
    if char == "|":
        return "unexpected character '|'", "write 'or' to combine conditions"
    if char == "!":
        return "unexpected character '!'", "write 'not' to negate a condition, '!=' for unequal"
    if char == "\t" or not char.isprintable():
        return f"unexpected character {char!r}", None
    return f"unexpected character '{char}'", None


def _describe_token(token: Token) -> str:
    if token.type == "STRING":
        return f"string {token}"
    return f"'{token}'"


def _token_hint(token: Token, expected: set[str]) -> str | None:
    value = str(token)
    texts = _terminal_text()
    words = {texts.get(name, name) for name in expected}
    if value == "=" and "==" in words:
        return "write '==' to compare"
    if value in _COMPARISONS and not words & _COMPARISONS and "and" in words:
        return "comparisons cannot be chained: write a < b and b < c"
    if token.type == "NAME" and "when" in words:
        return did_you_mean(value, _CLAUSE_KEYWORDS) or (
            "a rule's clauses are " + one_of(_CLAUSE_KEYWORDS).replace(" or ", " and ")
        )
    if token.type == "NAME" and "rule" in words:
        return did_you_mean(value, ("rule", "list", "macro"))
    return None


@cache
def _terminal_text() -> dict[str, str]:
    """Terminal name -> the fixed text it matches (for keywords and punctuation)."""
    texts: dict[str, str] = {"TRUE": "true", "FALSE": "false"}
    for terminal in _lark().terminals:
        if isinstance(terminal.pattern, lark.lexer.PatternStr):
            texts[terminal.name] = terminal.pattern.value
        elif terminal.name.startswith("KW_"):
            texts[terminal.name] = terminal.name.removeprefix("KW_").lower()
    return texts


def _describe_expected(expected: set[str]) -> str:
    texts = _terminal_text()
    words = {texts.get(name, name) for name in expected}
    parts: list[str] = []
    if len(expected & _EXPRESSION_START) >= 4:
        parts.append("an expression")
        words -= {texts.get(name, name) for name in _EXPRESSION_START} | {"-", "not", "null"}
    if len(words & _OPERATORS) >= 4:
        parts.append("an operator")
        words -= {
            *_OPERATORS,
            *_COMPARISONS,
            "not",
            "startswith",
            "endswith",
            "matches",
            "-",
            "/",
            "%",
            ".",
            "[",
        }
    if len(words & set(_CLAUSE_KEYWORDS)) >= 4:
        parts.append("a clause")
        words -= set(_CLAUSE_KEYWORDS)
    if len(words & {"and", "or"}) == 1:
        # After a condition, whether the parser still takes `and` depends on how far it had
        # reduced; naming `or` alone only confuses.
        words -= {"and", "or"}
    if {"rule", "list", "macro"} <= words:
        parts.append("'rule', 'list' or 'macro'")
        words -= {"rule", "list", "macro", "$END"}
    for word in sorted(words):
        if word == "$END":
            parts.append("end of file")
        else:
            parts.append(_REGEX_TERMINALS.get(word, f"'{word}'"))
    return one_of(parts) if parts else "something else"


# Building the tree -----------------------------------------------------------------------------
#
# Each builder takes the children of one reduction, tokens included (keywords and punctuation
# too), and each node's span runs from its first child to its last.

_VALUE_TOKENS = frozenset({"NAME", "STRING", "NUMBER", "DURATION", "TRUE", "FALSE"})


def _span_of(child: Any) -> ast.Span:
    span: ast.Span = child[2] if child.__class__ is tuple else child.span
    return span


def _span(children: list[Any]) -> ast.Span:
    first, last = _span_of(children[0]), _span_of(children[-1])
    return _new_span((first[0], first[1], last[2], last[3]))


@dataclass(frozen=True, slots=True)
class _Keys:
    """The `by` part of a count or suppress clause, on its way into the clause."""

    exprs: tuple[ast.Expr, ...]
    span: ast.Span


@dataclass(frozen=True, slots=True)
class _Op:
    """A comparison operator, on its way into a Binary node."""

    text: str
    span: ast.Span


def _values(children: list[Any]) -> list[Any]:
    """The children that carry meaning: nodes and value tokens, not keywords or punctuation."""
    return [c for c in children if c.__class__ is not tuple or c[0] in _VALUE_TOKENS]


def _text(token: _Token) -> ast.Text:
    return ast.Text(token[1], token[2])


def _string(token: _Token) -> ast.Text:
    return ast.Text(unquote(token[1]), token[2])


def unquote(literal: str) -> str:
    """The value of a quoted string. Unknown escapes stay as written, so `"\\d+"` is a regex."""
    return _ESCAPE.sub(_unescape, literal[1:-1])


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _ESCAPES:
        return _ESCAPES[code]
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return match.group(0)


class _Builders:
    """Builds `alertd.dsl.ast` nodes, one method per grammar rule or alias (see `_reduction`)."""

    def start(self, children: list[ast.Item]) -> tuple[ast.Item, ...]:
        return tuple(children)

    def list_def(self, children: list[Any]) -> ast.ListDef:
        name, items = _values(children)
        return ast.ListDef(_text(name), items, _span(children))

    def macro_def(self, children: list[Any]) -> ast.MacroDef:
        name, body = _values(children)
        return ast.MacroDef(_text(name), body, _span(children))

    def rule_def(self, children: list[Any]) -> ast.RuleDef:
        name, *clauses = _values(children)
        return ast.RuleDef(_text(name), tuple(clauses), _span(children))

    def name_clause(self, children: list[_Token]) -> ast.NameClause:
        return ast.NameClause(_string(children[1]), _span(children))

    def description_clause(self, children: list[_Token]) -> ast.DescriptionClause:
        return ast.DescriptionClause(_string(children[1]), _span(children))

    def when_clause(self, children: list[Any]) -> ast.WhenClause:
        return ast.WhenClause(children[1], _span(children))

    def priority_clause(self, children: list[_Token]) -> ast.PriorityClause:
        return ast.PriorityClause(_text(children[1]), _span(children))

    def count_clause(self, children: list[Any]) -> ast.CountClause:
        threshold, within, *keys = _values(children)
        by = keys[0].exprs if keys else ()
        return ast.CountClause(_text(threshold), _text(within), by, _span(children))

    def suppress_clause(self, children: list[Any]) -> ast.SuppressClause:
        duration, *keys = _values(children)
        by = keys[0].exprs if keys else ()
        return ast.SuppressClause(_text(duration), by, _span(children))

    def by_keys(self, children: list[Any]) -> _Keys:
        return _Keys(tuple(_values(children)), _span(children))

    def notify_clause(self, children: list[Any]) -> ast.NotifyClause:
        return ast.NotifyClause(tuple(_values(children)), _span(children))

    def target(self, children: list[Any]) -> ast.Target:
        channel, *groups = _values(children)
        return ast.Target(_text(channel), tuple(groups), _span(children))

    def group(self, children: list[_Token]) -> ast.Text:
        return ast.Text(":".join(name[1] for name in _values(children)), _span(children))

    def template_clause(self, children: list[_Token]) -> ast.TemplateClause:
        return ast.TemplateClause(_string(children[1]), _span(children))

    def labels_clause(self, children: list[Any]) -> ast.LabelsClause:
        return ast.LabelsClause(tuple(_values(children)), _span(children))

    def label(self, children: list[_Token]) -> ast.Label:
        key, value = _values(children)
        return ast.Label(_text(key), _string(value), _span(children))

    def enabled_clause(self, children: list[_Token]) -> ast.EnabledClause:
        return ast.EnabledClause(children[1][1] == "true", _span(children))

    # expressions

    def or_op(self, children: list[Any]) -> ast.Logic:
        return _logic("or", children)

    def and_op(self, children: list[Any]) -> ast.Logic:
        return _logic("and", children)

    def not_op(self, children: list[Any]) -> ast.Unary:
        return ast.Unary("not", children[1], _span(children))

    def neg(self, children: list[Any]) -> ast.Unary:
        return ast.Unary("-", children[1], _span(children))

    def compare(self, children: list[Any]) -> ast.Binary:
        left, op, right = children
        return ast.Binary(op.text, left, right, _span(children), op.span)

    def comp_op(self, children: list[_Token]) -> _Op:
        return _Op(" ".join(token[1] for token in children), _span(children))

    def _arith(self, children: list[Any]) -> ast.Binary:
        left, op, right = children
        return ast.Binary(op[1], left, right, _span(children), op[2])

    add = sub = mul = div = mod = _arith

    def attr(self, children: list[Any]) -> ast.Attr:
        return ast.Attr(children[0], children[2][1], _span(children))

    def index(self, children: list[Any]) -> ast.Index:
        return ast.Index(children[0], children[2], _span(children))

    def postfix(self, children: list[Any]) -> ast.Expr:  # "(" expr ")"
        expr: ast.Expr = children[1]
        return expr

    def string(self, children: list[_Token]) -> ast.Literal:
        token = children[0]
        return ast.Literal(unquote(token[1]), token[2])

    def number(self, children: list[_Token]) -> ast.Literal:
        text, span = children[0][1], children[0][2]
        # A whole number too long for a float is read as one (infinite), which the checker
        # refuses; int() would raise on 4,300 digits and take quadratic time before that.
        if "." in text or len(text) > MAX_INTEGER_DIGITS:
            return ast.Literal(float(text), span)
        return ast.Literal(int(text), span)

    def duration(self, children: list[_Token]) -> ast.DurationLit:
        return ast.DurationLit(children[0][1], children[0][2])

    def true(self, children: list[_Token]) -> ast.Literal:
        return ast.Literal(True, children[0][2])

    def false(self, children: list[_Token]) -> ast.Literal:
        return ast.Literal(False, children[0][2])

    def null(self, children: list[_Token]) -> ast.Literal:
        return ast.Literal(None, children[0][2])

    def name(self, children: list[_Token]) -> ast.Name:
        return ast.Name(children[0][1], children[0][2])

    def call(self, children: list[Any]) -> ast.Call:
        name, *args = _values(children)
        return ast.Call(name[1], tuple(args), _span(children))

    def list_lit(self, children: list[Any]) -> ast.ListLit:
        return ast.ListLit(tuple(_values(children)), _span(children))


def _logic(op: str, children: list[Any]) -> ast.Logic:
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
