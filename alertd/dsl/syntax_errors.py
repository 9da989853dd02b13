"""Syntax errors, put in the words of the person who wrote the rule.

The parser (alertd/dsl/parser.py, the one module that imports Lark) hands over what Lark said
as plain data, a `Syntax` error: where, the terminal met (`RBRACE`) and the terminals the parser
would have taken, as written (`{'NAME', '(', 'not', ...}`). A fleet manager needs
`unexpected '}', expected an expression`, and a hint where one is obvious (`write '==' to
compare`, `did you mean 'notify'?`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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
    "by",
    "resolve",
    "escalate",
    "for",
    "forget",
    "absent",
    "group",
)
"""The words that start a clause, in the order the hint lists them."""

_ITEM_KEYWORDS = ("rule", "list", "macro")
_VALUE_TERMINALS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DURATION": "a duration",
}
# What can start an expression, as `Syntax.expected` writes it (with `-`, `not` and `null`).
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


class Following(NamedTuple):
    """Where the next top-level item starts, when a part of a file was parsed alone."""

    line: int
    column: int
    word: str


@dataclass(frozen=True, slots=True)
class Syntax:
    """A syntax error as the parser met it. `met` names the terminal it met (`NAME`, `STRING`,
    `KW_WITHIN`, `RBRACE`; `$END` at the end of the text) and `text` is what was written
    there; None and "" when no token starts at that character. `expected` is what the parser
    would have taken instead: keywords and punctuation as written, other terminals by name
    (NAME, STRING, NUMBER, DURATION, $END)."""

    line: int
    column: int
    met: str | None
    text: str
    expected: frozenset[str]


def explain(
    error: Syntax, path: str, lines: tuple[str, ...], following: Following | None
) -> RuleError:
    """The RuleError for a syntax error in the file `path` (its `lines`). With `following`,
    the text parsed was one item, and its end is where the next item starts."""
    line, column = max(error.line, 1), max(error.column, 1)
    width = 1
    if error.met is None:
        text = lines[line - 1] if line <= len(lines) else ""
        message, hint = _unexpected_character(text[column - 1 : column])
    else:
        words = set(error.expected)
        if error.met == "$END":
            if following is not None:  # the item ran into the next one: say so where that starts
                line, column, word = following
                found = f"'{word}'"
                width = len(word)
            else:
                found = "end of file"
                line, column = _end_of(lines)
        else:
            found = f"string {error.text}" if error.met == "STRING" else f"'{error.text}'"
            width = len(error.text)
        message = f"unexpected {found}, expected {_describe_expected(words)}"
        hint = _token_hint(error, words)
        if error.met == "$END" and following is not None and "}" in words:
            hint = "is a closing '}' missing before this line?"
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


def _token_hint(error: Syntax, words: set[str]) -> str | None:
    """A hint about the token met, given the words the parser would have taken."""
    value = error.text
    if value == "=" and "==" in words:
        return "write '==' to compare"
    if value in _COMPARISONS and not words & _COMPARISONS and "and" in words:
        return "comparisons cannot be chained: write a < b and b < c"
    # A word met where a clause or an item should start.
    if not value.isidentifier() or error.met == "STRING":
        return None
    if "when" in words:
        return did_you_mean(value, CLAUSE_KEYWORDS) or (
            "a rule's clauses are " + one_of(CLAUSE_KEYWORDS).replace(" or ", " and ")
        )
    if "rule" in words:
        return did_you_mean(value, _ITEM_KEYWORDS)
    return None


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
