"""The one HMAC signing scheme alertd speaks, both ways: it signs the webhooks it sends, and
checks signed ingestion (`[server] ingest_hmac_secret`) with the same rule.

    X-Alertd-Timestamp: <unix seconds>
    X-Alertd-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The timestamp is inside what is signed, so a receiver that refuses stale timestamps (alertd
refuses any more than `TOLERANCE` seconds from its clock) cannot be sent a captured request again
later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Alertd-Timestamp"
SIGNATURE_HEADER = "X-Alertd-Signature"
TOLERANCE = 300.0  # seconds between the sender's timestamp and the receiver's clock


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Alertd-Signature` value for a body sent at `timestamp` (unix seconds, as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_error(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why a signed request must be refused, or None when its signature is valid and fresh.

    `headers` has lower-cased names, as the server's request view gives them.
    """
    timestamp = headers.get(TIMESTAMP_HEADER.lower())
    signature = headers.get(SIGNATURE_HEADER.lower())
    if not timestamp or not signature:
        return f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header"
    try:
        sent_at = float(timestamp)
    except ValueError:
        return f"invalid {TIMESTAMP_HEADER} header"
    if not abs(now - sent_at) <= TOLERANCE:  # written so that a NaN timestamp is refused too
        return f"{TIMESTAMP_HEADER} is more than {TOLERANCE:.0f}s from the server's time"
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("latin-1")):
        return "signature does not match the body"
    return None
