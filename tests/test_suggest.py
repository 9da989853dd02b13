"""Did you mean: one rule for every mistyped name, in the rule files, the config and the API."""

import pytest

from alertd.suggest import aside, closest, did_you_mean


@pytest.mark.parametrize(
    ("word", "choices", "meant"),
    [
        ("bu", ["by"], "by"),  # one letter changed, even in a two-letter word
        ("saftey", ["safety", "severity"], "safety"),  # two neighbours swapped
        ("slak", ["sms", "slack", "email"], "slack"),  # a letter left out
        ("notiffy", ["notify", "name"], "notify"),  # a letter added
        ("warn", ["debug", "info", "warning", "error", "critical"], "warning"),  # most letters
        ("max_inflight", ["max_inflight_requests", "max_body_bytes"], "max_inflight_requests"),
        ("Email", ["email", "sms"], "email"),  # case aside
        ("HIGH", ["low", "high"], "high"),
        ("geoclel", ["geocell", "exists", "lower"], "geocell"),
    ],
)
def test_a_close_name_is_suggested(word: str, choices: list[str], meant: str) -> None:
    assert closest(word, choices) == meant


@pytest.mark.parametrize(
    ("word", "choices"),
    [
        ("yaml", ["json", "text"]),
        ("critical", ["low", "medium", "high", "urgent"]),
        ("frobnicate", ["abs", "coalesce", "exists", "lower"]),
        ("x", ["a", "b"]),  # a one-letter name is one slip from every other
        ("engine_on", []),
    ],
)
def test_nothing_is_suggested_when_no_name_is_close(word: str, choices: list[str]) -> None:
    assert closest(word, choices) is None


def test_the_most_similar_of_several_close_names_wins() -> None:
    assert closest("chanel", ["channel", "channels", "chance"]) == "channel"
    # Equally similar: the first in sorted order, whatever order the choices came in.
    assert closest("ab", ["ax", "ay"]) == closest("ab", ["ay", "ax"]) == "ax"


def test_the_hint_and_the_aside_say_the_same() -> None:
    assert did_you_mean("listn", ["listen"]) == "did you mean 'listen'?"
    assert aside("listn", ["listen"]) == " (did you mean 'listen'?)"
    assert did_you_mean("zzz", ["listen"]) is None
    assert aside("zzz", ["listen"]) == ""
