"""What schemathesis needs to know to fuzz alertd: how an NDJSON body is written.

The description gives `application/x-ndjson` bodies as an array of events; schemathesis writes
bodies only for the media types it knows, so without this it would skip every NDJSON case.
Loaded through `hooks` in tests/e2e/schemathesis.toml.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """One line per item. A value that is not a list (a negative case) has no NDJSON form: it
    is written as one line holding a JSON array, which no valid batch has."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, list):
        return json.dumps([value]).encode() + b"\n"
    return b"".join(json.dumps(item).encode() + b"\n" for item in value)
