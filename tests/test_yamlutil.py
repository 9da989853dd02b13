"""YAML read as JSON would read it: YAML 1.2 scalars, not YAML 1.1's."""

from __future__ import annotations

import math

import pytest

from alertd import yamlutil


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("0", 0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        (".5", 0.5),
        (".inf", float("inf")),
        ("-.inf", float("-inf")),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
    ],
)
def test_numbers_booleans_and_null_written_as_json_writes_them(scalar: str, value: object) -> None:
    assert yamlutil.load(f"v: {scalar}\n") == {"v": value}


@pytest.mark.parametrize(
    "scalar",
    [
        "0123",  # YAML 1.1: octal 83
        "-012",
        "0o17",
        "12:30",  # YAML 1.1: sexagesimal 750
        "1:02:03.5",
        "0x1F",  # YAML 1.1: 31
        "0b101",
        "1_000",
        "01.5",
        "NO",
        "on",
        "2026-01-01",
        "2026-01-01T10:00:00Z",
    ],
)
def test_what_yaml_11_read_as_numbers_times_or_booleans_stays_text(scalar: str) -> None:
    assert yamlutil.load(f"- {{v: {scalar}}}\n") == [{"v": scalar}]


def test_nan_is_still_a_float() -> None:
    value = yamlutil.load("v: .nan\n")["v"]
    assert isinstance(value, float)
    assert math.isnan(value)
