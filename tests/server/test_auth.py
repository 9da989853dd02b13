"""Tokens and request signatures."""

from __future__ import annotations

from alertd.server.auth import Role, TokenAuth, bearer_token, sign, signature_error


def test_roles_by_token() -> None:
    auth = TokenAuth(ingest_tokens=["i1", "i2"], admin_tokens=["a1"])
    assert auth.role("Bearer i2") is Role.INGEST
    assert auth.role("bearer a1") is Role.ADMIN
    assert auth.role("Bearer a") is None
    assert auth.role(None) is None


def test_empty_tokens_never_match() -> None:
    auth = TokenAuth(ingest_tokens=[""], admin_tokens=[""])
    assert auth.role("Bearer ") is None
    assert auth.role("Bearer x") is None


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer  abc ") == "abc"
    assert bearer_token("Token abc") is None
    assert bearer_token("Bearer") is None


def test_signatures_bind_the_body_and_the_time() -> None:
    body = b'{"type": "breakdown"}'
    headers = {"x-alertd-timestamp": "1000", "x-alertd-signature": sign("s", "1000", body)}
    assert signature_error("s", headers, body, now=1100) is None
    assert signature_error("s", headers, body + b" ", now=1100) == (
        "signature does not match the body"
    )
    assert signature_error("other", headers, body, now=1100) is not None
    assert "from the server's time" in (signature_error("s", headers, body, now=2000) or "")
    assert "missing" in (signature_error("s", {}, body, now=1000) or "")
