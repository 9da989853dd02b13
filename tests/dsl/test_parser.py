"""alertd runs Lark's LALR tables with its own loop (alertd/dsl/parser.py) and asks Lark's own
parser only to explain a syntax error: the two must accept exactly the same texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from alertd.dsl.parser import _lark, _Refused, _tables
from tests.dsl.test_fuzz import STARTER, mutate, mutation, token_soup


def accepted_by_alertd(text: str) -> bool:
    try:
        _tables().run(text)
    except (_Refused, UnexpectedInput):
        return False
    return True


def accepted_by_lark(text: str) -> bool:
    try:
        _lark().parse(text)
    except UnexpectedInput:
        return False
    return True


def test_the_starter_rules_are_accepted_by_both() -> None:
    assert accepted_by_alertd(STARTER)
    assert accepted_by_lark(STARTER)


@settings(max_examples=300)
@given(token_soup.map(lambda text: "rule r { when " + text + " }"))
def test_both_accept_the_same_conditions(text: str) -> None:
    assert accepted_by_alertd(text) == accepted_by_lark(text), text


@settings(max_examples=300)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_both_accept_the_same_mutated_files(mutations: list[tuple[str, float, int, str]]) -> None:
    text = mutate(STARTER, mutations)
    assert accepted_by_alertd(text) == accepted_by_lark(text), text
