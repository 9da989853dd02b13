"""`matches` runs RE2: linear time on any event text, and a dialect without backtracking."""

from __future__ import annotations

from typing import Any

import pytest

from alertd.dsl.regex import PatternError, compile_pattern
from tests.dsl.helpers import holds


@pytest.mark.timeout(30)
def test_a_pattern_that_backtracks_in_python_takes_linear_time_on_hostile_text() -> None:
    # Python's re takes about a minute on 30 characters here, and doubles with each one more.
    plate = "a" * 100_000 + "!"
    assert holds('plate matches "^(a+)+$"', {"plate": plate}) == (False, 0)
    assert holds('plate matches "(x+x+)+y"', {"plate": "x" * 100_000}) == (False, 0)


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        # plain text, anchored or not, runs as a string method: the same answers as RE2
        ("^Depot ", "Depot 12", True),
        ("^Depot ", "Old Depot 12", False),
        ("-tmp$", "plate-tmp", True),
        ("-tmp$", "plate-tmp\n", False),  # RE2's $ is the end of the text, not before a \n
        ("^B-1$", "B-1", True),
        ("^B-1$", "B-12", False),
        ("mid", "amidst", True),
        ("", "anything", True),
        ("^$", "", True),
        # the rest runs in RE2
        (r"^B-[A-Z]{2} \d+$", "B-AB 123", True),
        ("(?i)^b-", "B-1", True),
        (r"\d", "٣", False),  # \d, \w, \s and \b are ASCII in RE2
        (r"\pN", "٣", True),  # Unicode classes are written \pN, \p{Greek}
        ("^.$", "é", True),  # . is one character, not one byte
        ("a", "x\ud800a", True),  # a lone surrogate in event text is no error
    ],
)
def test_the_dialect(pattern: str, text: str, found: bool) -> None:
    assert compile_pattern(pattern)(text) is found


@pytest.mark.parametrize("pattern", ["^Depot", "tmp$", "mid", "^B-1$", "a+"])
@pytest.mark.parametrize("value", [5, None, ["mid"], {"mid": 1}, True])
def test_a_search_refuses_anything_but_text(pattern: str, value: Any) -> None:
    # The fast path relies on Python refusing other kinds: it then asks the checked path.
    with pytest.raises((AttributeError, TypeError)):
        compile_pattern(pattern)(value)


def test_matches_on_other_kinds_is_false_and_counted() -> None:
    for pattern in ("^Depot", "a+"):
        assert holds(f'plate matches "{pattern}"', {"plate": ["Depot"]}) == (False, 1)
        assert holds(f'plate matches "{pattern}"', {}) == (False, 0)


@pytest.mark.parametrize(
    ("pattern", "message", "fragment", "hint"),
    [
        (r"(a)\1", r"invalid escape sequence: \1", r"\1", "backreferences"),
        ("(?P<x>a)(?P=x)", "invalid perl operator: (?P", "(?P=", "backreferences"),
        ("(?=a)", "invalid perl operator: (?=", "(?=", "lookahead"),
        ("(?<!a)b", "invalid perl operator: (?<!", "(?<!", "lookbehind"),
        ("a{1001}", "invalid repetition size: {1001}", "{1001}", None),
        ("(a", "missing ): (a", "(a", None),
    ],
)
def test_patterns_re2_refuses(pattern: str, message: str, fragment: str, hint: str | None) -> None:
    with pytest.raises(PatternError) as info:
        compile_pattern(pattern)
    assert info.value.message == message
    assert info.value.fragment == fragment
    assert info.value.offset == pattern.find(fragment)
    assert (info.value.hint or "").startswith(hint or "")
