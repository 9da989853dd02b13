"""YAML read as JSON would read it: a plain scalar is the value of the same token in JSON."""

from __future__ import annotations

import pytest

from alertd import jsonutil, yamlutil
from alertd.ruletest.formats import DocumentError, load_yaml


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("-0", 0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("1e-400", 0.0),  # underflows to zero in JSON too
        ("true", True),
        ("false", False),
        ("null", None),
        ("~", None),
        ("", None),
    ],
)
def test_numbers_booleans_and_null_written_as_json_writes_them(scalar: str, value: object) -> None:
    assert yamlutil.load(f"v: {scalar}\n") == {"v": value}


@pytest.mark.parametrize(
    "token", ["42", "-0", "1.5", "1e3", "99999999999999999999", "12345678901234567890123"]
)
def test_a_number_has_the_value_and_type_the_daemon_would_decode(token: str) -> None:
    value = yamlutil.load(f"v: {token}\n")["v"]
    expected = jsonutil.loads(token)
    assert (value, type(value)) == (expected, type(expected))


@pytest.mark.parametrize(
    "scalar",
    [
        "+15550100002",  # a phone number: JSON has no leading +
        "+3",
        ".5",
        "1.",
        "-.5",
        ".inf",
        "-.inf",
        ".nan",
        "0123",  # YAML 1.1: octal 83
        "-012",
        "0o17",
        "12:30",  # YAML 1.1: sexagesimal 750
        "1:02:03.5",
        "0x1F",  # YAML 1.1: 31
        "0b101",
        "1_000",
        "01.5",
        "True",
        "TRUE",
        "False",
        "NO",
        "on",
        "Null",
        "NULL",
        "2026-01-01",
        "2026-01-01T10:00:00Z",
    ],
)
def test_what_json_would_not_read_as_a_number_boolean_or_null_stays_text(scalar: str) -> None:
    assert yamlutil.load(f"- {{v: {scalar}}}\n") == [{"v": scalar}]


def test_a_phone_number_stays_text_so_startswith_can_match() -> None:
    event = yamlutil.load("- {type: a, phone: +15550100002}\n")[0]
    assert event["phone"].startswith("+1")


@pytest.mark.parametrize("scalar", ["1e400", "-1e400"])
def test_a_number_too_large_to_be_finite_is_an_error_with_its_position(scalar: str) -> None:
    with pytest.raises(DocumentError) as caught:
        load_yaml(f"- {{type: a}}\n- {{type: b, speed: {scalar}}}\n")
    assert caught.value.line == 2
    assert "out of range" in caught.value.message
    assert scalar in caught.value.message


def test_quoted_scalars_are_always_text() -> None:
    assert yamlutil.load("v: ['42', \"true\", 'null']\n") == {"v": ["42", "true", "null"]}
