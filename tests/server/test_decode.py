"""Request bodies -> events, and the limits that keep one request cheap."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.server.asgi import HttpError
from alertd.server.decode import Limits, decode_events, decompress, invalid_batch, media_type

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
events = st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=4), max_size=8)


@settings(max_examples=150)
@given(events)
def test_json_array_and_ndjson_decode_to_the_same_events(batch: list[dict[str, Any]]) -> None:
    limits = Limits(max_json_depth=1000, max_string_length=1000)
    as_array = decode_events(orjson.dumps(batch), "application/json", limits)
    as_lines = decode_events(
        b"\n".join(orjson.dumps(e) for e in batch), "application/x-ndjson", limits
    )
    assert as_array.events == as_lines.events == batch
    assert as_array.errors == as_lines.errors == []


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=150)
@given(events, st.integers(1, 5))
def test_the_depth_limit_flags_exactly_the_events_nested_too_deep(
    batch: list[dict[str, Any]], limit: int
) -> None:
    limits = Limits(max_json_depth=limit)
    too_deep = [i for i, event in enumerate(batch) if depth(event) > limit]
    decoded = decode_events(orjson.dumps(batch), "application/json", limits)
    assert [d["index"] for d in decoded.errors] == too_deep
    assert all(decoded.events[i] == {} for i in too_deep)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("application/x-ndjson", "application/x-ndjson"),
        ("application/vnd.fleet+json", "application/vnd.fleet+json"),
    ],
)
def test_supported_media_types(header: str, kind: str) -> None:
    assert media_type(header) == kind


def test_gzip_round_trip_and_garbage() -> None:
    assert decompress(gzip.compress(b"[]"), "gzip", 10) == b"[]"
    assert decompress(b"[]", None, 10) == b"[]"
    with pytest.raises(HttpError) as caught:
        decompress(b"not gzip", "gzip", 10)
    assert caught.value.status == 400


def test_every_bad_item_is_listed_in_order_with_a_stand_in_in_its_place() -> None:
    body = b'{"a": [[["deep"]]]}\n{oops\n{"b": 1}\n7\n'
    decoded = decode_events(body, "application/x-ndjson", Limits(max_json_depth=2))
    assert decoded.events == [{}, {}, {"b": 1}, {}]
    assert [(e["index"], e["error"].split(":")[0]) for e in decoded.errors] == [
        (0, "nested deeper than 2 levels"),
        (1, "malformed JSON"),
        (3, "expected a JSON object, got a number"),
    ]


def test_every_ndjson_error_names_its_line_even_one_found_by_the_limits() -> None:
    body = b'\n{"a": [[["deep"]]]}\n\n{oops\n{"b": "long string"}\n'
    decoded = decode_events(
        body, "application/x-ndjson", Limits(max_json_depth=2, max_string_length=5)
    )
    assert [(e["index"], e["line"]) for e in decoded.errors] == [(0, 2), (1, 4), (2, 5)]
    assert decoded.lines == [2, 4, 5]


def test_json_errors_have_no_line() -> None:
    decoded = decode_events(
        b'[{"a": [[["deep"]]]}, 7]', "application/json", Limits(max_json_depth=2)
    )
    assert [sorted(e) for e in decoded.errors] == [["error", "index"], ["error", "index"]]
    assert decoded.located([{"index": 0, "error": "x"}]) == [{"index": 0, "error": "x"}]


@pytest.mark.parametrize("cut", [1, 4, 8, 20])
def test_a_gzip_body_cut_short_is_refused_even_if_only_its_trailer_is_missing(cut: int) -> None:
    whole = gzip.compress(b'{"type": "breakdown", "vehicle_id": "v-7"}')
    with pytest.raises(HttpError) as caught:
        decompress(whole[:-cut], "gzip", 1000)
    assert (caught.value.status, caught.value.message) == (
        400,
        "invalid gzip body: truncated (unexpected end of data); send the whole file",
    )


def test_concatenated_gzip_members_are_all_read_and_count_towards_the_limit() -> None:
    body = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"b": 2}\n')
    assert decompress(body, "gzip", 100) == b'{"a": 1}\n{"b": 2}\n'
    with pytest.raises(HttpError) as caught:
        decompress(body, "gzip", 15)
    assert caught.value.status == 413
    with pytest.raises(HttpError) as caught:
        decompress(body + b"junk", "gzip", 100)
    assert caught.value.status == 400


def test_invalid_utf8_is_a_clear_error() -> None:
    with pytest.raises(HttpError) as caught:
        decode_events(b'{"driver": "\xff\xfe"}', "application/json", Limits())
    assert (caught.value.status, caught.value.message) == (
        400,
        "not UTF-8 text: byte 12 starts no UTF-8 character",
    )
    decoded = decode_events(b'{"a": 1}\n{"b": "caf\xe9"}\n', "application/x-ndjson", Limits())
    assert decoded.errors == [
        {"index": 1, "line": 2, "error": "not UTF-8 text: byte 10 starts no UTF-8 character"}
    ]


def test_a_charset_other_than_utf8_is_415_in_one_sentence() -> None:
    with pytest.raises(HttpError) as caught:
        media_type("application/json; charset=latin-1")
    assert (caught.value.status, caught.value.message) == (
        415,
        "unsupported charset 'latin-1': send UTF-8",
    )


@pytest.mark.parametrize(
    ("bad", "total", "message"),
    [
        (1, 1, "1 of 1 event is invalid; nothing was accepted"),
        (1, 3, "1 of 3 events is invalid; nothing was accepted"),
        (2, 3, "2 of 3 events are invalid; nothing was accepted"),
    ],
)
def test_the_rejection_message_counts_in_good_english(bad: int, total: int, message: str) -> None:
    error = invalid_batch([{"index": i, "error": "x"} for i in range(bad)], total, "malformed")
    assert (error.status, error.message) == (400, message)
