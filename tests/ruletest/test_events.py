"""Reading recorded events: NDJSON, JSON arrays and YAML lists, from files or stdin."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from alertd.ruletest.events import EventFileError, EventRecord, read_events


def read(tmp_path: Path, name: str, content: str | bytes) -> list[EventRecord]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return list(read_events(str(path)))


def test_ndjson_skips_blank_lines_and_reports_a_bad_line_with_its_index(tmp_path: Path) -> None:
    records = read(tmp_path, "e.ndjson", '{"n": 1}\n\n  \nnot json\r\n{"n": 2}\n')
    assert [(r.index, r.event, r.line) for r in records] == [
        (0, {"n": 1}, 1),
        (1, None, 4),
        (2, {"n": 2}, 5),
    ]
    assert records[1].error == "invalid JSON: invalid literal, expected 'null'"
    assert records[1].where == "event 1 (line 4)"


def test_a_json_array(tmp_path: Path) -> None:
    records = read(tmp_path, "e.json", ' \n[{"n": 1}, 2]')
    assert [(r.index, r.event, r.error) for r in records] == [(0, {"n": 1}, None), (1, 2, None)]


def test_a_yaml_list_keeps_times_as_strings_and_country_codes_as_text(tmp_path: Path) -> None:
    records = read(
        tmp_path,
        "e.yaml",
        "- type: safety_event\n  timestamp: 2026-01-01T10:00:00Z\n  country: NO\n  ok: true\n",
    )
    assert [r.event for r in records] == [
        {"type": "safety_event", "timestamp": "2026-01-01T10:00:00Z", "country": "NO", "ok": True}
    ]


def test_yaml_ids_with_leading_zeros_and_times_of_day_stay_text(tmp_path: Path) -> None:
    records = read(tmp_path, "e.yaml", "- {vehicle_id: 0123, shift: 12:30, unit: 0x1F, n: 7}\n")
    assert [r.event for r in records] == [
        {"vehicle_id": "0123", "shift": "12:30", "unit": "0x1F", "n": 7}
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"n": 1}\n{"n": 2}\n', [{"n": 1}, {"n": 2}]),
        ('[{"n": 1}]', [{"n": 1}]),
        ("- n: 1\n", [{"n": 1}]),
        ("\ufeff- n: 1\n", [{"n": 1}]),
        ("", []),
    ],
)
def test_the_format_is_told_by_the_first_character(
    tmp_path: Path, content: str, expected: list[object]
) -> None:
    assert [r.event for r in read(tmp_path, "events.txt", content)] == expected


@pytest.mark.parametrize("name", ["event.json", "event.txt", "-"])
def test_one_pretty_printed_object_is_one_event(tmp_path: Path, name: str) -> None:
    content = b'{\n  "type": "breakdown",\n  "vehicle_id": "v-7"\n}\n'
    if name == "-":
        records = list(read_events("-", stdin=io.BufferedReader(io.BytesIO(content))))  # type: ignore[arg-type]
    else:
        records = read(tmp_path, name, content)
    assert [(r.index, r.event, r.error) for r in records] == [
        (0, {"type": "breakdown", "vehicle_id": "v-7"}, None)
    ]


def test_json_lines_in_a_json_file_are_read_as_ndjson_even_if_the_first_is_bad(
    tmp_path: Path,
) -> None:
    records = read(tmp_path, "e.json", '{"n": 1}\n{"n": 2}\n')
    assert [r.event for r in records] == [{"n": 1}, {"n": 2}]
    records = read(tmp_path, "e.json", '{"n": \n{"n": 2}\n')
    assert [(r.index, r.event, r.line) for r in records] == [(0, None, 1), (1, {"n": 2}, 2)]


def test_a_pretty_printed_array_in_a_json_file(tmp_path: Path) -> None:
    records = read(tmp_path, "e.json", '[\n  {"n": 1},\n  {"n": 2}\n]\n')
    assert [r.event for r in records] == [{"n": 1}, {"n": 2}]


def test_stdin_is_read_when_the_source_is_a_dash() -> None:
    stdin = io.BufferedReader(io.BytesIO(b'{"n": 1}\n{"n": 2}\n'))  # type: ignore[arg-type]
    assert [r.event for r in read_events("-", stdin=stdin)] == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "e.json",
            '[{"n": 1},\n {"n": }]',
            "e.json:2:8: invalid JSON: unexpected character, expected a JSON value",
        ),
        (
            "e.yaml",
            "- n: [1, 2\n- n: 3\n",
            "e.yaml:2:4: invalid YAML: expected ',' or ']', but got ':'",
        ),
        (
            "e.yaml",
            "just text\n",
            "e.yaml: expected a list of events or one event, got a YAML scalar",
        ),
        ("e.json", "7", "e.json: expected a list of events or one event, got a JSON scalar"),
        ("e.json", "- n: 1\n", "e.json:1:2: invalid JSON: no digit after sign"),
        (
            "e.json",
            '{\n  "n": 1,\n  "m": 2,\n}\n',
            "e.json:3:9: invalid JSON: trailing comma is not allowed",
        ),
        ("e.json", '{"n": 1}', None),  # one object is one event
        ("e.yaml", "n: 1\n", None),
        ("e.yaml", b"- n: \xff\n", "e.yaml: not UTF-8 text (byte 5)"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_an_error(
    tmp_path: Path, name: str, content: str | bytes, message: str | None
) -> None:
    if message is None:
        assert [r.event for r in read(tmp_path, name, content)] == [{"n": 1}]
        return
    with pytest.raises(EventFileError) as caught:
        read(tmp_path, name, content)
    assert str(caught.value) == f"{tmp_path}/{message}"


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EventFileError, match="cannot read events: No such file or directory"):
        list(read_events(str(tmp_path / "nope.ndjson")))
