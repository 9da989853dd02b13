"""Who may call what: Bearer tokens, ingest or admin.

Tokens are compared in constant time: each configured token and the presented one are hashed to
the same length and every configured token is compared, so neither the position of a match nor
a token's length shows in the timing. A token never leaves this module: errors name the problem,
never the value.

Signed ingestion (`[server] ingest_hmac_secret`) is checked with `alertd.signing`, the scheme
alertd's own webhooks are signed with.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from enum import Enum


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


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _matches_any(presented: bytes, digests: list[bytes]) -> bool:
    found = False
    for digest in digests:  # no early exit: every token costs the same comparison
        found |= hmac.compare_digest(presented, digest)
    return found
