"""`path:line:col: error: message`: the one way alertd writes a mistake found in a file."""

from alertd.diagnostics import format_error, where


def test_the_place_is_given_as_far_as_it_is_known() -> None:
    assert where("rules/a.rules", 3, 14) == "rules/a.rules:3:14"
    assert where("templates/sms/text.txt", 2) == "templates/sms/text.txt:2"
    assert where("alertd.toml") == "alertd.toml"
    assert where("alertd.toml", 0, 5) == "alertd.toml"  # a column without a line means nothing


def test_an_error_with_its_line_a_caret_and_a_hint() -> None:
    text = format_error(
        "fleet.rules", 2, 9, "unknown channel 'slak'", "did you mean 'slack'?",
        source_line=" notify slak\n", width=4,
    )  # fmt: skip
    assert text == (
        "fleet.rules:2:9: error: unknown channel 'slak'\n"
        " notify slak\n"
        "        ^^^^\n"
        "hint: did you mean 'slack'?"
    )


def test_the_caret_keeps_tabs_and_stays_on_the_line() -> None:
    text = format_error("f", 1, 3, "m", source_line="\tx yz", width=99)
    assert text.split("\n")[1:] == ["\tx yz", "\t ^^^"]


def test_without_a_source_line_or_a_path() -> None:
    assert format_error("f", 4, 1, "bad", "fix it") == "f:4:1: error: bad\nhint: fix it"
    assert format_error("", 0, 0, "the rules could not be loaded") == (
        "error: the rules could not be loaded"
    )
