"""Request bodies -> events: a JSON object, a JSON array of objects, or NDJSON.

A batch is accepted whole or not at all, so decoding collects every bad item (with its 0-based
index) and leaves an empty stand-in in its place, so that the caller can still check the good
items (their timestamps, say) and list every bad one in a single answer.

Limits keep one request from costing unbounded memory or time: body size (checked while
reading), decompressed size, events per batch, nesting depth and string length. The checks are
written so that a well-formed batch pays little for them: a body shorter than the string limit
cannot hold a long string, and one with fewer brackets than the depth limit cannot nest too
deep, so neither walk runs.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from alertd import jsonutil
from alertd.metrics import Rejection
from alertd.server.asgi import HttpError

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
MAX_DETAILS = 100  # item errors listed in one 400 answer; the message gives the full count


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_events: int = 10_000
    max_json_depth: int = 32
    max_string_length: int = 65_536


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; HttpError 415 if unsupported."""
    if not content_type:
        raise _unsupported("missing Content-Type")
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value.strip('"').lower() not in ("utf-8", "utf8"):
            raise HttpError(
                415, f"unsupported charset {value!r}: send UTF-8", reason="unsupported_media_type"
            )
    if kind in JSON_TYPES or kind in NDJSON_TYPES or (kind.endswith("+json") and "/" in kind):
        return kind
    raise _unsupported(f"unsupported Content-Type {kind!r}")


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo `Content-Encoding: gzip`, refusing anything that inflates past `limit` bytes.

    A body must hold whole gzip members (several, as `cat a.gz b.gz` makes, are read one after
    the other): one cut short, even by only its checksum trailer, is refused, never half-read.
    """
    if not encoding or encoding.strip().lower() == "identity":
        return body
    if encoding.strip().lower() != "gzip":
        raise HttpError(
            415,
            f"unsupported Content-Encoding {encoding!r}; send gzip or identity",
            reason="unsupported_media_type",
        )
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise HttpError(400, f"invalid gzip body: {exc}", reason="malformed") from None
        size += len(data)
        if size > limit or inflater.unconsumed_tail:
            raise HttpError(413, f"decompressed body exceeds {limit} bytes", reason="too_large")
        if not inflater.eof:
            raise HttpError(
                400,
                "invalid gzip body: truncated (unexpected end of data); send the whole file",
                reason="malformed",
            )
        parts.append(data)
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)


@dataclass(frozen=True, slots=True)
class Batch:
    """A decoded body: `events` in order, with `{}` standing in for each bad item; `errors`
    lists the bad items (`{index, error}`, NDJSON adds `line`) in index order; `lines` holds
    each event's 1-based line for NDJSON, None for JSON; `malformed` says whether any item was
    not a JSON object at all (the others broke a limit: too deep, a string too long)."""

    events: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    lines: list[int] | None = None
    malformed: bool = False

    def located(self, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`errors` about these events (`{index, ...}`) with each one's line, for NDJSON, so
        that every error in an NDJSON answer names its line, whatever found it."""
        if self.lines is None:
            return errors
        lines = self.lines
        return [
            {"index": error["index"], "line": lines[error["index"]], **error} for error in errors
        ]


def decode_events(body: bytes, kind: str, limits: Limits) -> Batch:
    """The events in a body of media type `kind`, and its bad items.

    Raises HttpError 400 when the body as a whole cannot be read, 413 when it holds too many
    events.
    """
    lines = None
    if kind in NDJSON_TYPES:
        events, errors, lines = _decode_ndjson(body, limits)
    else:
        events, errors = _decode_json(body, limits)
    batch = Batch(events, errors, lines, malformed=bool(errors))
    too_big = check_limits(events, body, limits)  # stand-ins are empty: never flagged twice
    if too_big:
        for error in too_big:
            events[error["index"]] = {}
        errors = sorted(errors + batch.located(too_big), key=lambda error: int(error["index"]))
        batch = Batch(events, errors, lines, batch.malformed)
    return batch


def invalid_batch(errors: list[dict[str, Any]], total: int, reason: Rejection) -> HttpError:
    """The all-or-nothing 400 answer for a batch with bad items."""
    total = max(total, len(errors))
    noun = "event" if total == 1 else "events"
    verb = "is" if len(errors) == 1 else "are"
    return HttpError(
        400,
        f"{len(errors)} of {total} {noun} {verb} invalid; nothing was accepted",
        details=errors[:MAX_DETAILS],
        reason=reason,
        events=total,
    )


def _decode_json(body: bytes, limits: Limits) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        data = jsonutil.loads(body)
    except jsonutil.JSONDecodeError as exc:
        raise HttpError(400, json_problem(exc, body), reason="malformed") from None
    if isinstance(data, dict):
        return [data], []
    if not isinstance(data, list):
        raise HttpError(400, "expected a JSON object or an array of objects", reason="malformed")
    _check_batch_length(len(data), limits)
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            errors.append(
                {"index": index, "error": f"expected a JSON object, got {_json_type(item)}"}
            )
            data[index] = {}
    return data, errors


def _decode_ndjson(
    body: bytes, limits: Limits
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    lines = body.split(b"\n")
    if len(lines) > limits.max_batch_events:
        # Cheap upper bound first; blank lines are rare, so count precisely only when needed.
        _check_batch_length(sum(1 for line in lines if line.strip()), limits)
    events: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    numbers: list[int] = []
    loads = jsonutil.loads
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            continue
        numbers.append(number)
        index = len(events)  # a bad line keeps its place with a stand-in, so indexes stay true
        try:
            item = loads(line)
        except jsonutil.JSONDecodeError as exc:
            errors.append({"index": index, "line": number, "error": json_problem(exc, line)})
            events.append({})
            continue
        if not isinstance(item, dict):
            problem = f"expected a JSON object, got {_json_type(item)}"
            errors.append({"index": index, "line": number, "error": problem})
            events.append({})
            continue
        events.append(item)
    return events, errors, numbers


def json_problem(error: jsonutil.JSONDecodeError, data: bytes) -> str:
    """What is wrong with JSON text, said for a sender (orjson words bad UTF-8 as about a `str`)."""
    if "UTF-8" in error.msg:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"not UTF-8 text: byte {bad.start} starts no UTF-8 character"
    return f"malformed JSON: {error}"


def _check_batch_length(length: int, limits: Limits) -> None:
    if length > limits.max_batch_events:
        raise HttpError(
            413,
            f"batch of {length} events exceeds the limit of {limits.max_batch_events}; "
            "split it into smaller requests",
            reason="too_large",
            events=length,
        )


def check_limits(events: list[dict[str, Any]], body: bytes, limits: Limits) -> list[dict[str, Any]]:
    """Per-event errors for nesting deeper than max_json_depth or strings over the length limit."""
    check_strings = len(body) > limits.max_string_length
    check_depth = body.count(b"{") + body.count(b"[") > limits.max_json_depth
    if not (check_strings or check_depth):
        return []
    max_depth = limits.max_json_depth if check_depth else 1 << 30
    max_string = limits.max_string_length if check_strings else 1 << 62
    errors: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        problem = _check_value(event, max_depth, max_string)
        if problem:
            errors.append({"index": index, "error": problem.format(limits=limits)})
    return errors


def _check_value(value: Any, depth_left: int, max_string: int) -> str | None:
    """A message template if `value` nests deeper than `depth_left` or holds a long string."""
    if isinstance(value, str):
        return _STRING_TOO_LONG if len(value) > max_string else None
    if isinstance(value, dict):
        if depth_left <= 0:
            return _TOO_DEEP
        for key, item in value.items():
            if len(key) > max_string:
                return _STRING_TOO_LONG
            if isinstance(item, dict | list | str):
                problem = _check_value(item, depth_left - 1, max_string)
                if problem:
                    return problem
        return None
    if isinstance(value, list):
        if depth_left <= 0:
            return _TOO_DEEP
        for item in value:
            if isinstance(item, dict | list | str):
                problem = _check_value(item, depth_left - 1, max_string)
                if problem:
                    return problem
    return None


_TOO_DEEP = "nested deeper than {limits.max_json_depth} levels"
_STRING_TOO_LONG = "holds a string longer than {limits.max_string_length} characters"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"  # pragma: no cover


def _unsupported(message: str) -> HttpError:
    return HttpError(
        415,
        f"{message}: send application/json (an object or an array of objects) "
        "or application/x-ndjson (one object per line)",
        reason="unsupported_media_type",
    )
