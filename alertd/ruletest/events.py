"""Reading recorded events: NDJSON, a JSON array or a YAML list, from a file or stdin (`-`).

The format is told by the file's suffix (.ndjson / .jsonl, .yaml / .yml) or else by its first
character: `[` a JSON array, `{` NDJSON, anything else YAML. (A JSON typo is never retried as
YAML, where it would quietly mean something else.) NDJSON is
streamed line by line, so a day of a large fleet (millions of events) replays in constant
memory; a line that is not JSON is one bad event, reported with its index and line, and the
replay goes on. A JSON array or YAML document that cannot be read at all is an EventFileError.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
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
    if head.startswith(b"{"):
        yield from _ndjson(stream)
    else:
        yield from _document(stream.read(), name, as_yaml=not head.startswith(b"["))


def _peek(stream: BinaryIO) -> bytes:
    peek = getattr(stream, "peek", None)
    head: bytes = peek(4096) if peek is not None else b""
    return head.lstrip(_WHITESPACE)[:1]


def _ndjson(stream: BinaryIO) -> Iterator[EventRecord]:
    index = 0
    for number, line in enumerate(stream, start=1):
        if not line.strip(_WHITESPACE):
            continue
        try:
            yield EventRecord(index, load_json(line), line=number)
        except DocumentError as exc:
            yield EventRecord(index, None, exc.message, line=number)
        index += 1


def _document(data: bytes, name: str, as_yaml: bool) -> Iterator[EventRecord]:
    try:
        value = load_yaml(_text(data, name)) if as_yaml else load_json(data)
    except DocumentError as exc:
        raise EventFileError(exc.at(name)) from None
    if value is None:
        return
    if not isinstance(value, list):
        kind = "YAML" if as_yaml else "JSON"
        raise EventFileError(f"{name}: expected a list of events, got a {kind} {_kind(value)}")
    for index, event in enumerate(value):
        yield EventRecord(index, event)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def _kind(value: object) -> str:
    return "object" if isinstance(value, dict) else "scalar"
