"""Every built-in function: normal use, null arguments, and arguments of the wrong kind."""

from typing import Any

import pytest

from alertd.clock import FakeClock
from alertd.dsl import functions
from tests.dsl.helpers import holds, value

BERLIN = {"latitude": 52.520008, "longitude": 13.404954}
HAMBURG = (53.551086, 9.993682)

# (expression, event, value, mismatches counted)
CASES: list[tuple[str, dict[str, Any], Any, int]] = [
    # exists
    ("exists(driver_id)", {"driver_id": 0}, True, 0),
    ("exists(driver_id)", {"driver_id": None}, False, 0),
    ("exists(driver_id)", {}, False, 0),
    ("exists(location.latitude)", {"location": BERLIN}, True, 0),
    # coalesce
    ('coalesce(driver_id, "unknown")', {}, "unknown", 0),
    ('coalesce(driver_id, "unknown")', {"driver_id": "D-1"}, "D-1", 0),
    ("coalesce(a, b, c)", {"c": 3}, 3, 0),
    # lower, upper
    ("lower(plate)", {"plate": "B-AB 12"}, "b-ab 12", 0),
    ("lower(plate)", {}, None, 0),
    ("lower(plate)", {"plate": 12}, None, 1),
    ("upper(plate)", {"plate": "b-ab"}, "B-AB", 0),
    ("upper(plate)", {"plate": ["b"]}, None, 1),
    # len
    ("len(plate)", {"plate": "abc"}, 3, 0),
    ("len(stops)", {"stops": [1, 2]}, 2, 0),
    ("len(meta)", {"meta": {"a": 1}}, 1, 0),
    ("len(stops)", {}, None, 0),
    ("len(stops)", {"stops": 12}, None, 1),
    # abs
    ("abs(g)", {"g": -0.8}, 0.8, 0),
    ("abs(g)", {"g": 3}, 3, 0),
    ("abs(g)", {"g": "x"}, None, 1),
    ("abs(g)", {}, None, 0),
    # min, max
    ("min(a, b)", {"a": 3, "b": 2.5}, 2.5, 0),
    ("max(a, b, 10)", {"a": 3, "b": 2.5}, 10, 0),
    ("min(readings)", {"readings": [4, 1, 9]}, 1, 0),
    ("max(readings)", {"readings": [4, 1, 9]}, 9, 0),
    ("max(readings)", {"readings": []}, None, 0),
    ("min(a, b)", {"a": 3}, None, 0),
    ("min(a, b)", {"a": 3, "b": "2"}, None, 1),
    ("max(readings)", {"readings": [1, "2"]}, None, 1),
    # round: halves away from zero
    ("round(x)", {"x": 2.5}, 3, 0),
    ("round(x)", {"x": -2.5}, -3, 0),
    ("round(x)", {"x": 2.4}, 2, 0),
    ("round(x, 2)", {"x": 3.14159}, 3.14, 0),
    ("round(x, 1)", {"x": -0.04}, 0.0, 0),
    ("round(x)", {"x": "2.5"}, None, 1),
    ("round(x, d)", {"x": 2.5, "d": 1.5}, None, 1),
    ("round(x)", {}, None, 0),
    # hour, weekday: the event time
    ("hour()", {"timestamp": "2026-03-01T23:30:00Z"}, 23, 0),
    ('hour("Europe/Berlin")', {"timestamp": "2026-03-01T23:30:00Z"}, 0, 0),
    ('hour("America/New_York")', {"timestamp": "2026-03-01T23:30:00+00:00"}, 18, 0),
    ("hour()", {"timestamp": "2026-03-01T23:30:00"}, None, 1),  # no zone: not a time
    ("hour()", {"timestamp": 1772407800}, 23, 0),  # epoch seconds
    ("hour()", {"timestamp": 1772407800000}, 23, 0),  # epoch milliseconds
    ("hour()", {"timestamp": "yesterday"}, None, 1),
    ("hour()", {"timestamp": True}, None, 1),
    ("weekday()", {"timestamp": "2026-03-01T23:30:00Z"}, 7, 0),  # a Sunday
    ('weekday("Europe/Berlin")', {"timestamp": "2026-03-01T23:30:00Z"}, 1, 0),  # Monday there
    ("weekday()", {"timestamp": "2026-03-02T08:00:00Z"}, 1, 0),
    # geocell: "LAT,LON" rounded to the digits
    ("geocell(location, 2)", {"location": BERLIN}, "52.52,13.40", 0),
    ("geocell(location, 0)", {"location": BERLIN}, "53,13", 0),
    (
        "geocell(location, 3)",
        {"location": {"lat": -33.8688, "lon": 151.2093}},
        "-33.869,151.209",
        0,
    ),
    ("geocell(location, 1)", {"location": {"lat": -0.01, "lng": 0.02}}, "0.0,0.0", 0),
    ("geocell(location, 2)", {}, None, 0),
    ("geocell(location, 2)", {"location": {"latitude": 52.5}}, None, 0),
    ("geocell(location, 2)", {"location": "Berlin"}, None, 1),
    ("geocell(location, 2)", {"location": {"latitude": "52", "longitude": 13}}, None, 1),
    # distance_km
    ("round(distance_km(location, 53.551086, 9.993682))", {"location": BERLIN}, 255, 0),
    ("distance_km(location, 52.520008, 13.404954)", {"location": BERLIN}, 0.0, 0),
    ("distance_km(location, 1, 2)", {}, None, 0),
    ("distance_km(location, lat, 2)", {"location": BERLIN, "lat": "x"}, None, 1),
]


@pytest.mark.parametrize(("expr", "event", "expected", "counted"), CASES)
def test_builtin(expr: str, event: dict[str, Any], expected: Any, counted: int) -> None:
    result, mismatches = value(expr, event)
    assert (result, type(result), mismatches) == (expected, type(expected), counted)


def test_builtins_compose_in_conditions() -> None:
    event = {"location": BERLIN, "plate": "B-AB 12", "timestamp": "2026-03-01T02:00:00Z"}
    assert holds(
        'distance_km(location, 53.551086, 9.993682) > 200 and lower(plate) startswith "b-"', event
    ) == (True, 0)
    assert holds('hour("Europe/Berlin") >= 22 or hour("Europe/Berlin") < 6', event) == (True, 0)
    assert holds("len(plate) == 7", event) == (True, 0)


def test_the_event_time_falls_back_to_the_arrival_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(start=1_772_407_800.0)  # 2026-03-01T23:30:00Z
    monkeypatch.setattr(functions, "SYSTEM_CLOCK", clock)
    assert value("hour()", {}) == (23, 0)
    assert value('hour("Asia/Tokyo")', {}) == (8, 0)


def test_hour_reads_the_configured_timestamp_field() -> None:
    from alertd.dsl import compile_text

    (rule,) = compile_text("rule r { when hour() == 23 }", timestamp_field="event_time")
    assert rule.condition({"event_time": "2026-03-01T23:30:00Z"})
    assert not rule.condition({"event_time": "2026-03-01T22:30:00Z"})


@pytest.mark.parametrize("km", [0.1, 5, 255, 256, 20_000])
def test_distance_limits_compile_to_a_shortcut_that_agrees(km: float) -> None:
    near, far = holds(
        f"distance_km(location, {HAMBURG[0]}, {HAMBURG[1]}) < {km}", {"location": BERLIN}
    )
    assert near == far == 0 or (near, far) == (km > 255.3, 0)
    assert holds(
        f"{km} > distance_km(location, {HAMBURG[0]}, {HAMBURG[1]})", {"location": BERLIN}
    ) == (km > 255.3, 0)
    assert holds(f"distance_km(location, 1, 2) < {km}", {}) == (False, 0)
    assert holds(f"distance_km(location, 1, 2) < {km}", {"location": "x"}) == (False, 1)
