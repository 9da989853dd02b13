"""Who may call what: Bearer tokens (ingest or admin) and optional HMAC-signed ingestion.

Tokens are compared in constant time: each configured token and the presented one are hashed to
the same length and every configured token is compared, so neither the position of a match nor
a token's length shows in the timing. A token never leaves this module: errors name the problem,
never the value.

Signed ingestion, for upstreams that sign what they send, uses the same scheme as alertd's own
webhooks: `X-Alertd-Timestamp: <unix seconds>` and
`X-Alertd-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`; a timestamp more than
`SIGNATURE_TOLERANCE` seconds from now is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from enum import Enum

TIMESTAMP_HEADER = "x-alertd-timestamp"
SIGNATURE_HEADER = "x-alertd-signature"
SIGNATURE_TOLERANCE = 300.0  # seconds


class Role(Enum):
    """What a token may do. Admin tokens may also ingest; ingest tokens may do nothing else."""

    INGEST = "ingest"
    ADMIN = "admin"


class TokenAuth:
    """Maps an `Authorization` header to the caller's role, or None."""

    def __init__(self, ingest_tokens: Iterable[str], admin_tokens: Iterable[str]) -> None:
        self._ingest = [_digest(t) for t in ingest_tokens if t]
        self._admin = [_digest(t) for t in admin_tokens if t]

    def role(self, authorization: str | None) -> Role | None:
        token = bearer_token(authorization)
        if token is None:
            return None
        presented = _digest(token)
        is_admin = _matches_any(presented, self._admin)
        is_ingest = _matches_any(presented, self._ingest)
        if is_admin:
            return Role.ADMIN
        return Role.INGEST if is_ingest else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Alertd-Signature` value for a body sent at `timestamp` (unix seconds, as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_error(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why a signed request must be refused, or None when its signature is valid and fresh."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        return f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header"
    try:
        sent_at = float(timestamp)
    except ValueError:
        return f"invalid {TIMESTAMP_HEADER} header"
    if abs(now - sent_at) > SIGNATURE_TOLERANCE:
        return f"{TIMESTAMP_HEADER} is more than {SIGNATURE_TOLERANCE:.0f}s from the server's time"
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("latin-1")):
        return "signature does not match the body"
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _matches_any(presented: bytes, digests: list[bytes]) -> bool:
    found = False
    for digest in digests:  # no early exit: every token costs the same comparison
        found |= hmac.compare_digest(presented, digest)
    return found
