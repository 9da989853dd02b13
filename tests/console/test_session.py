"""Console sessions (alertd.console.session): signed, expiring, bound to a credential; the
secret kept across restarts; CSRF tokens per session."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.console.session import SESSION_COOKIE, Sessions, cookies, session_secret

SECRET = b"s" * 64


def session_cookie(set_cookie: str) -> str:
    """The `Cookie` header a browser sends back for a Set-Cookie value."""
    return set_cookie.partition(";")[0]


def test_a_session_reads_back_until_it_expires() -> None:
    clock = FakeClock()
    sessions = Sessions(SECRET, lifetime=3600, secure=False, clock=clock)
    user, set_cookie = sessions.open("person:alice", "Alice Martin", "$argon2id$hash")
    back = sessions.read(session_cookie(set_cookie))
    assert back == user
    assert (back.person, back.actor, back.name) == ("alice", "alice", "Alice Martin")
    clock.advance(3599)
    assert sessions.read(session_cookie(set_cookie)) == user
    clock.advance(1)
    assert sessions.read(session_cookie(set_cookie)) is None


def test_a_token_session_is_recorded_by_the_name_given() -> None:
    sessions = Sessions(SECRET, lifetime=60, secure=False, clock=FakeClock())
    user, _ = sessions.open("token", "Dana", "admin-token")
    assert (user.person, user.actor) == (None, "Dana")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-1] + ("0" if value[-1] != "0" else "1"),  # the signature
        lambda value: "f" + value[1:],  # the payload (it starts with "e", for "{")
        lambda value: value.partition(".")[0],  # no signature
        lambda value: "",
    ],
)
def test_a_forged_or_damaged_cookie_is_no_session(tamper: object) -> None:
    sessions = Sessions(SECRET, lifetime=60, secure=False, clock=FakeClock())
    _user, set_cookie = sessions.open("person:alice", "Alice", "hash")
    name, _, value = session_cookie(set_cookie).partition("=")
    assert sessions.read(f"{name}={tamper(value)}") is None  # type: ignore[operator]


def test_another_secret_does_not_read_a_session() -> None:
    _user, set_cookie = Sessions(SECRET, 60, False, FakeClock()).open("person:a", "A", "hash")
    other = Sessions(b"o" * 64, 60, False, FakeClock())
    assert other.read(session_cookie(set_cookie)) is None


@pytest.mark.parametrize("secure", [False, True])
def test_the_cookie_is_httponly_strict_for_the_console_and_secure_over_https(
    secure: bool,
) -> None:
    sessions = Sessions(SECRET, lifetime=7200, secure=secure, clock=FakeClock())
    _user, set_cookie = sessions.open("person:alice", "Alice", "hash")
    flags = [flag.strip() for flag in set_cookie.split(";")[1:]]
    assert {"HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=7200"} <= set(flags)
    assert ("Secure" in flags) is secure
    assert sessions.close().startswith(f"{SESSION_COOKIE}=;")
    assert "Max-Age=0" in sessions.close()


def test_the_binding_follows_the_credential_and_csrf_tokens_the_session() -> None:
    sessions = Sessions(SECRET, lifetime=60, secure=False, clock=FakeClock())
    one, _ = sessions.open("person:alice", "Alice", "hash-1")
    two, _ = sessions.open("person:alice", "Alice", "hash-1")
    assert one.binding == sessions.binding("hash-1") != sessions.binding("hash-2")
    assert "hash-1" not in one.binding
    assert sessions.csrf_token(one) != sessions.csrf_token(two)
    assert sessions.same(sessions.csrf_token(one), sessions.csrf_token(one))
    assert not sessions.same(None, sessions.csrf_token(one))


def test_the_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    first = session_secret("", folder)
    path = folder / "session-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret("", folder) == first
    assert len(first) >= 32
    assert session_secret("configured-secret", folder) == b"configured-secret"


def test_cookies_are_read_by_name() -> None:
    assert cookies('a=1; alertd_session="x.y"; a=2') == {"a": "1", "alertd_session": "x.y"}
    assert cookies(None) == {}
