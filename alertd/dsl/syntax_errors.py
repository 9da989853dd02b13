"""Lark's syntax errors, put in the words of the person who wrote the rule.

Lark says what it met and which terminals it would have taken (`Token('RBRACE', '}')`,
`{'NAME', 'LPAR', '__ANON_3', ...}`); a fleet manager needs `unexpected '}', expected an
expression`, and a hint where one is obvious (`write '==' to compare`, `did you mean
'notify'?`). Only Lark's public interface is read: the error's `token`, `line` and `column`,
its interactive parser's `accepts()` (what the parser takes at that point: the error's own
`expected` is blurred by LALR's merged states), and the grammar's terminals (`get_terminal`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from alertd.dsl.errors import RuleError, one_of
from alertd.suggest import did_you_mean

CLAUSE_KEYWORDS = (
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
"""The words that start a clause, in the order the hint lists them."""

_ITEM_KEYWORDS = ("rule", "list", "macro")
_VALUE_TERMINALS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DURATION": "a duration",
}
# What can start an expression, as `_words` writes it (with `-`, `not` and `null`).
_EXPRESSION_START = {"NAME", "STRING", "NUMBER", "DURATION", "true", "false", "(", "["}
_OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "contains", "and", "or", "+", "*"}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
# Said once as "an operator": the operators, and what can follow a value in their place.
_OPERATOR_WORDS = {
    *_OPERATORS,
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


# A regular expression that matches one text: letters, digits and escaped characters, then
# at most a word boundary or a negative lookahead.
_FIXED_TEXT = re.compile(r"((?:\w|\\\W|[=<>!])+)(?:\\b|\(\?![^()]*\))?")


class Following(NamedTuple):
    """Where the next top-level item starts, when a part of a file was parsed alone."""

    line: int
    column: int
    word: str


def explain(
    exc: UnexpectedInput,
    parser: Lark,
    path: str,
    lines: tuple[str, ...],
    following: Following | None,
) -> RuleError:
    """The RuleError for a syntax error of `parser` in the file `path` (its `lines`). With
    `following`, the text parsed was one item, and its end is where the next item starts."""
    line, column = max(exc.line, 1), max(exc.column, 1)
    width = 1
    hint: str | None = None
    if isinstance(exc, UnexpectedCharacters):
        text = lines[line - 1] if line <= len(lines) else ""
        message, hint = _unexpected_character(text[column - 1 : column])
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        words = _words(parser, exc.accepts or exc.expected)
        expected = _describe_expected(words)
        if token.type == "$END":
            if following is not None:  # the item ran into the next one: say so where that starts
                line, column, word = following
                found = f"'{word}'"
                width = len(word)
            else:
                found = "end of file"
                line, column = _end_of(lines)
        else:
            found = f"string {token}" if token.type == "STRING" else f"'{token}'"
            width = len(token)
        message = f"unexpected {found}, expected {expected}"
        hint = _token_hint(token, words)
        if token.type == "$END" and following is not None and "}" in words:
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
    if not char.isprintable():
        return f"unexpected character {char!r}", None
    return f"unexpected character '{char}'", None


def _token_hint(token: Token, words: set[str]) -> str | None:
    """A hint about the token met, given the words the parser would have taken."""
    value = str(token)
    if value == "=" and "==" in words:
        return "write '==' to compare"
    if value in _COMPARISONS and not words & _COMPARISONS and "and" in words:
        return "comparisons cannot be chained: write a < b and b < c"
    # A word met where a clause or an item should start.
    if not value.isidentifier() or token.type == "STRING":
        return None
    if "when" in words:
        return did_you_mean(value, CLAUSE_KEYWORDS) or (
            "a rule's clauses are " + one_of(CLAUSE_KEYWORDS).replace(" or ", " and ")
        )
    if "rule" in words:
        return did_you_mean(value, _ITEM_KEYWORDS)
    return None


def _words(parser: Lark, terminals: Iterable[str]) -> set[str]:
    """The terminals as written: a keyword as its word, punctuation as itself, a terminal
    that matches many texts (NAME, STRING, ...) and $END by its name."""
    return {_written(parser, name) for name in terminals}


@cache
def _written(parser: Lark, terminal: str) -> str:
    """A terminal that matches one text as that text (`"=="`; `/when\\b/`, `/=(?!=)/`: the
    assertions after it only say where it ends), any other by its name."""
    if terminal == "$END":
        return terminal
    pattern = parser.get_terminal(terminal).pattern
    if pattern.type == "str":
        return str(pattern.value)
    fixed = _FIXED_TEXT.fullmatch(pattern.value)
    return fixed.group(1).replace("\\", "") if fixed else terminal


def _describe_expected(words: set[str]) -> str:
    """What the parser would have taken, in a few words: `an expression`, `an operator`, `a
    clause`, `'rule', 'list' or 'macro'`, and what is left, by name or as written."""
    parts: list[str] = []
    if len(words & _EXPRESSION_START) >= 4:
        parts.append("an expression")
        words = words - _EXPRESSION_START - {"-", "not", "null"}
    if len(words & _OPERATORS) >= 4:
        parts.append("an operator")
        words = words - _OPERATOR_WORDS
    if len(words & set(CLAUSE_KEYWORDS)) >= 4:
        parts.append("a clause")
        words = words - set(CLAUSE_KEYWORDS)
    if len(words & {"and", "or"}) == 1:
        # After a condition, whether the parser still takes `and` depends on how far it had
        # reduced; naming `or` alone only confuses.
        words = words - {"and", "or"}
    if set(_ITEM_KEYWORDS) <= words:
        parts.append("'rule', 'list' or 'macro'")
        words = words - {*_ITEM_KEYWORDS, "$END"}
    for word in sorted(words):
        if word == "$END":
            parts.append("end of file")
        else:
            parts.append(_VALUE_TERMINALS.get(word, f"'{word}'"))
    return one_of(parts) if parts else "something else"
