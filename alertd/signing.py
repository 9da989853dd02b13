"""HMAC signing, one place for each scheme alertd speaks.

Requests: alertd signs the webhooks it sends, and checks signed ingestion (`[server]
ingest_hmac_secret`), with the same rule:

    X-Alertd-Timestamp: <unix seconds>
    X-Alertd-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The timestamp is inside what is signed, so a receiver that refuses stale timestamps (alertd
refuses any more than `TOLERANCE` seconds from its clock) cannot be sent a captured request again
later.

Tokens: a link that acts (an email's Acknowledge link, alertd.respond.links) carries a signed,
expiring token naming what it may do, `<base64url JSON>.<base64url HMAC-SHA256>`
(`sign_token`, `read_token`).

Secrets that need not be configured (the console's sessions, the links) are kept in a file of
the state folder, made once (`kept_secret`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alertd import jsonutil

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


def sign_token(secret: bytes, claims: Mapping[str, Any]) -> str:
    """A token holding `claims` (a JSON object), signed with `secret`."""
    body = _b64(jsonutil.dumps(dict(claims)))
    return f"{body}.{_b64(_mac(secret, body))}"


class BadToken(Exception):
    """A token that was not made with this secret, or was changed since (the message says
    which, for people to read)."""


def read_token(secret: bytes, token: str) -> dict[str, Any]:
    """The claims of a token made by `sign_token` with `secret`. Raises BadToken for anything
    else (the signature is compared in constant time, before the claims are read)."""
    body, dot, mac = token.partition(".")
    if not dot or not body or not mac:
        raise BadToken("it is not an alertd link (it may have been cut short)")
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except (binascii.Error, ValueError):
        raise BadToken("it is not an alertd link (it may have been cut short)") from None
    if not hmac.compare_digest(_mac(secret, body), given):
        raise BadToken("it was changed, or was not made by this alertd")
    try:
        claims = jsonutil.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise BadToken("it was not made by this alertd") from None
    if not isinstance(claims, dict):
        raise BadToken("it was not made by this alertd")
    return claims


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def kept_secret(configured: str, path: Path) -> bytes:
    """`configured` when set, else a random secret kept in `path` (made on first use, mode
    0600), so that what it signs outlives a restart. Raises OSError when that file cannot be
    read or made."""
    if configured:
        return configured.encode()
    with contextlib.suppress(FileNotFoundError):
        secret = path.read_bytes().strip()
        if len(secret) >= 32:
            path.chmod(0o600)
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secret + b"\n")
    temporary.replace(path)  # whole or not at all: a half-written secret is never read
    return secret
