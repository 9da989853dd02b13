"""How test-rule shows things to people: keys, colour on terminals only, progress."""

from __future__ import annotations

import io

import pytest

from alertd.clock import FakeClock
from alertd.engine.ruleset import RuleSet
from alertd.model import Decision
from alertd.ruletest.report import TextReport, format_key
from alertd.ruletest.terminal import Painter, Progress, wants_colour


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ((), "-"),
        (("v1", "d-7"), "v1, d-7"),
        (("v1", None, 3, True), "v1, null, 3, true"),
        (("52.52,13.40", " padded", "", "42"), '"52.52,13.40", " padded", "", "42"'),
        ((("a", "b"),), '["a","b"]'),
    ],
)
def test_keys_are_shown_bare_unless_they_could_be_misread(
    key: tuple[object, ...], shown: str
) -> None:
    assert format_key(key) == shown


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(Terminal())
    assert not wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(Terminal())


def test_decisions_are_coloured_by_kind() -> None:
    out = io.StringIO()
    report = TextReport(out, RuleSet([]), Painter(enabled=True))
    report.decision(Decision(0, "crit", "fired", ("v1",), 1_767_225_600.0), None)
    assert "\033[1;31mfired     \033[0m" in out.getvalue()


def test_progress_is_redrawn_as_time_passes_and_cleared_at_the_end() -> None:
    stream, clock = Terminal(), FakeClock()
    progress = Progress(stream, clock)
    for _ in range(Progress.CHECK_EVERY):
        progress.tick()
    assert stream.getvalue() == ""  # too soon to draw
    clock.advance(1.0)
    for _ in range(Progress.CHECK_EVERY):
        progress.tick()
    assert stream.getvalue() == "\r\033[K8,192 events, 8,192/s"
    progress.clear()
    assert stream.getvalue().endswith("\r\033[K")
