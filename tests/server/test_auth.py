"""Tokens: who may call what."""

from __future__ import annotations

from alertd.server.auth import Role, TokenAuth, bearer_token


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
