"""JSON for the whole package: the one module that imports orjson.

Its calls are re-exported, not wrapped: `jsonutil.loads` *is* `orjson.loads`, so the hot paths
(request bodies, outbox rows, log lines) pay nothing for going through here, and swapping the
library is one file. orjson was chosen for speed on the `/v1/events` hot path; it returns bytes
from `dumps` and raises `JSONDecodeError` (a `ValueError` with `msg`, `lineno`, `colno`).
"""

from __future__ import annotations

from orjson import OPT_NON_STR_KEYS, JSONDecodeError, dumps, loads

__all__ = ["OPT_NON_STR_KEYS", "JSONDecodeError", "dumps", "loads"]
