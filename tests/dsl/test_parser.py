"""The parser: rule text -> syntax tree, every node with the span of the text it was read from.

grammar.lark is the only description of the tokens: alertd has no lexer of its own any more, so
there is nothing to compare the grammar with. These tests pin what the grammar's contextual
lexing means to a rule writer, and that a node's span is exactly its text as written (what
`alertd check` underlines, and what an explanation of a condition quotes).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alertd.dsl import ast
from alertd.dsl.parser import _lark, _written, parse
from alertd.dsl.syntax_errors import CLAUSE_KEYWORDS
from tests.dsl.test_differential import condition_exprs, value_exprs
from tests.dsl.test_fuzz import STARTER

EXPRESSION_TYPES = (
    ast.Literal,
    ast.DurationLit,
    ast.ListLit,
    ast.Name,
    ast.Attr,
    ast.Index,
    ast.Unary,
    ast.Logic,
    ast.Binary,
    ast.Call,
)


def nodes(value: Any) -> list[Any]:
    """Every node of a tree (dataclasses with a span), parents first."""
    found: list[Any] = []
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple):
            stack.extend(reversed(value))
        elif is_dataclass(value):
            found.append(value)
            stack.extend(reversed([getattr(value, f.name) for f in fields(value)]))
    return found


def shape(value: Any) -> Any:
    """A tree without its spans, to compare what two texts mean."""
    if isinstance(value, list | tuple):
        return tuple(shape(v) for v in value)
    if is_dataclass(value):
        parts = [(f.name, shape(getattr(value, f.name))) for f in fields(value)]
        return (type(value).__name__, *[p for p in parts if not p[0].endswith("span")])
    return value


def parse_expression(text: str) -> Any:
    rule_file, errors = parse(f"macro m = {text}", "<test>")
    assert errors == [], (text, errors)
    (item,) = rule_file.items
    assert isinstance(item, ast.MacroDef)
    return item.body


def assert_spans_are_the_text(text: str) -> None:
    """Every expression node's span holds exactly that expression: read alone, its text is
    the same tree. Every clause's text starts with its keyword, every rule's ends with `}`."""
    rule_file, errors = parse(text, "<test>")
    assert errors == []
    for node in nodes(rule_file.items):
        written = rule_file.text(node.span)
        if isinstance(node, EXPRESSION_TYPES):
            assert shape(parse_expression(written)) == shape(node), (written, node)
        elif isinstance(node, ast.RuleDef):
            assert written.startswith("rule ") and written.endswith("}")
        elif hasattr(node, "keyword"):
            assert written.startswith(node.keyword), (written, node)
        elif isinstance(node, ast.Binary):
            assert rule_file.text(node.op_span) == node.op


def test_the_starter_rules_spans_are_their_text() -> None:
    assert_spans_are_the_text(STARTER)


def test_parentheses_belong_to_the_span_of_what_they_enclose() -> None:
    text = "rule r { when (speed > 120 or (x)) and not (a\n in harsh) }"
    rule_file, _ = parse(text, "<test>")
    (rule,) = rule_file.items
    assert isinstance(rule, ast.RuleDef)
    (when,) = rule.clauses
    assert isinstance(when, ast.WhenClause)
    condition = when.expr
    assert isinstance(condition, ast.Logic)
    assert rule_file.text(condition.span) == "(speed > 120 or (x)) and not (a\n in harsh)"
    assert [rule_file.text(item.span) for item in condition.items] == [
        "(speed > 120 or (x))",
        "not (a\n in harsh)",
    ]
    assert_spans_are_the_text(text)


@given(condition_exprs, value_exprs)
def test_generated_conditions_and_keys_spans_are_their_text(condition: str, key: str) -> None:
    assert_spans_are_the_text(f"rule r {{ when {condition}\n suppress 5m by {key}, {key} }}")


@given(st.lists(st.sampled_from(["a", "b", "(a and b)", "(a or b)", "not a"]), min_size=2))
def test_chains_of_and_or_keep_their_meaning_and_spans(items: list[str]) -> None:
    for op in ("and", "or"):
        assert_spans_are_the_text(f"rule r {{ when {f' {op} '.join(items)} }}")


def test_a_keyword_is_a_keyword_only_where_the_grammar_takes_it() -> None:
    text = (
        "rule rule { when name == 1 and count > 2 and location.in == 3 and rule == 4\n"
        "  and list[0] == macro and by.within == true\n"
        "  count 3 within 5m by name\n"
        '  labels { when = "w" } }'
    )
    rule_file, errors = parse(text, "<test>")
    assert errors == []
    names = {node.name for node in nodes(rule_file.items) if isinstance(node, ast.Name | ast.Attr)}
    assert names == {"name", "count", "location", "in", "rule", "list", "macro", "by", "within"}


def test_a_number_glued_to_letters_is_one_token() -> None:
    # A duration wherever it stands, so that `count 5m` is an error at `5m`, not at the `m`.
    body = parse_expression("5m > 1.5h30m")
    assert shape(body.left) == ("DurationLit", ("text", "5m"))
    _, (error,) = parse("rule r { when a == 1\n count 5m within 1m }", "f.rules")
    assert (error.line, error.column, error.message) == (
        2,
        8,
        "unexpected '5m', expected a number",
    )


def test_an_equals_sign_is_never_half_of_a_double_one() -> None:
    _, (error,) = parse('macro m == type == "x"', "f.rules")
    assert (error.column, error.message) == (9, "unexpected '==', expected '='")


def accepted_after(text: str) -> set[str]:
    """What the grammar takes after `text`, as error messages write it."""
    parser = _lark().parse_interactive(text)
    parser.exhaust_lexer()
    return {_written(terminal) for terminal in parser.accepts()}


def test_the_messages_know_every_clause_and_item_the_grammar_has() -> None:
    # A clause added to grammar.lark must be added to CLAUSE_KEYWORDS too, or syntax errors
    # would list it apart from "a clause" and the hint would not name it.
    assert accepted_after("rule r {") == {*CLAUSE_KEYWORDS, "}"}
    assert accepted_after("") == {"rule", "list", "macro", "$END"}
