"""Reading recorded events: NDJSON, a JSON document or a YAML list, from a file or stdin (`-`).

The format is told by the file's suffix (.ndjson / .jsonl NDJSON, .yaml / .yml YAML, .json
JSON), else by the first character: `[` a JSON array, `{` JSON, anything else YAML. (A JSON typo
is never retried as YAML, where it would quietly mean something else.) JSON that starts with `{`
is one document (an object: one event) when it parses whole, else NDJSON, one object a line.
NDJSON is streamed line by line, so a day of a large fleet (millions of events) replays in
constant memory; a line that is not JSON is one bad event, reported with its index and line, and
the replay goes on. A document that cannot be read at all is an EventFileError.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alertd.ruletest.formats import DocumentError, load_json, load_yaml

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
YAML_SUFFIXES = (".yaml", ".yml")
_WHITESPACE = b" \t\r\n\xef\xbb\xbf"  # and a UTF-8 byte order mark


class EventFileError(Exception):
    """The events file cannot be opened or read as a whole; the message names the file."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as read: its 0-based index, the decoded value, or why it could not be decoded."""

    index: int
    event: object
    error: str | None = None
    line: int | None = None  # for NDJSON, where the event was in the file

    @property
    def where(self) -> str:
        return f"event {self.index}" + (f" (line {self.line})" if self.line else "")


def read_events(source: str, stdin: BinaryIO | None = None) -> Iterator[EventRecord]:
    """The events of a file, or of stdin when `source` is `-`. Raises EventFileError."""
    if source == "-":
        yield from _read_stream(stdin or sys.stdin.buffer, "<stdin>", suffix="")
        return
    path = Path(source)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise EventFileError(f"{source}: cannot read events: {exc.strerror}") from None
    with stream:
        yield from _read_stream(stream, source, suffix=path.suffix.lower())


def _read_stream(stream: BinaryIO, name: str, suffix: str) -> Iterator[EventRecord]:
    if suffix in NDJSON_SUFFIXES:
        yield from _ndjson(stream)
        return
    if suffix in YAML_SUFFIXES:
        yield from _document(stream.read(), name, as_yaml=True)
        return
    head = _peek(stream)
    if head == b"{":
        yield from _objects(stream, name)
    else:
        as_yaml = suffix != ".json" and head != b"["
        yield from _document(stream.read(), name, as_yaml=as_yaml)


def _peek(stream: BinaryIO) -> bytes:
    peek = getattr(stream, "peek", None)
    head: bytes = peek(4096) if peek is not None else b""
    return head.lstrip(_WHITESPACE)[:1]


def _objects(stream: BinaryIO, name: str) -> Iterator[EventRecord]:
    """JSON starting with `{`: one document if it parses whole, else NDJSON.

    The first line decides without reading further: whole on its own, the input is NDJSON (one
    object and nothing more reads the same either way), and is streamed. Otherwise the input is
    read whole: an object spread over lines, or NDJSON whose first line is bad, or, if no line
    is a JSON object on its own, one broken document, reported where it breaks.
    """
    head: list[bytes] = []
    for line in stream:
        head.append(line)
        if line.strip(_WHITESPACE):
            break
    if _is_object(head[-1]):
        yield from _ndjson(itertools.chain(head, stream))
        return
    data = b"".join(head) + stream.read()
    try:
        value = load_json(data)
    except DocumentError as exc:
        lines = data.splitlines(keepends=True)
        if not any(_is_object(line) for line in lines):
            raise EventFileError(exc.at(name)) from None
        yield from _ndjson(lines)
        return
    yield from _events(value, name, "JSON")


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(load_json(line), dict)
    except DocumentError:
        return False


def _ndjson(lines: Iterable[bytes]) -> Iterator[EventRecord]:
    index = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip(_WHITESPACE):
            continue
        try:
            yield EventRecord(index, load_json(line), line=number)
        except DocumentError as exc:
            yield EventRecord(index, None, exc.message, line=number)
        index += 1


def _document(data: bytes, name: str, as_yaml: bool) -> Iterator[EventRecord]:
    if not data.strip(_WHITESPACE):
        return
    try:
        value = load_yaml(_text(data, name)) if as_yaml else load_json(data)
    except DocumentError as exc:
        raise EventFileError(exc.at(name)) from None
    yield from _events(value, name, "YAML" if as_yaml else "JSON")


def _events(value: object, name: str, kind: str) -> Iterator[EventRecord]:
    """A list is the events; an object (a mapping) is one event."""
    if value is None:
        return
    if isinstance(value, dict):
        yield EventRecord(0, value)
        return
    if not isinstance(value, list):
        raise EventFileError(f"{name}: expected a list of events or one event, got a {kind} scalar")
    for index, event in enumerate(value):
        yield EventRecord(index, event)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None
