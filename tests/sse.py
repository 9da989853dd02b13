"""A text/event-stream read in tests, from a sync (TestClient) or an async (httpx) client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any


class EventReader:
    """Fed a stream's lines one at a time; gives each event as {"event", "id", "data"} when its
    blank line ends it (keepalive comments skipped)."""

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}

    def line(self, line: str) -> dict[str, Any] | None:
        if not line:
            fields, self._fields = self._fields, {}
            if "data" not in fields:
                return None
            fields["data"] = json.loads(fields["data"])
            return fields
        if not line.startswith(":"):
            name, _, value = line.partition(":")
            self._fields[name] = value.removeprefix(" ")
        return None


def events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    reader = EventReader()
    for line in lines:
        if (event := reader.line(line)) is not None:
            yield event


async def events_of(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    reader = EventReader()
    async for line in lines:
        if (event := reader.line(line)) is not None:
            yield event
