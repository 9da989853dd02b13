"""Password hashes for console sign-in: argon2id through argon2-cffi, the one module that
imports it.

`alertd passwd NAME` makes a hash (`hash_password`); the console checks a password against the
`password_hash` of a person in oncall.toml (`verify_password`). Hashing costs tens of
milliseconds of CPU on purpose: callers on the event loop run it in a worker thread.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's defaults (RFC 9106's second choice)

MIN_LENGTH = 8


class PasswordError(ValueError):
    """A password that cannot be used (too short, empty); the message says why."""


def hash_password(password: str) -> str:
    """The `password_hash` value for this password. Raises PasswordError."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password must have at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash; False for no hash or one that is not argon2.

    Always costs one hash computation, whether or not there is a hash to check."""
    try:
        return _HASHER.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy() -> str:
    """Checked when a name is unknown, so that a wrong name costs what a wrong password costs
    and the time of an answer does not tell which names exist. Made on first use: a hash
    takes most of a second on a busy machine."""
    return _HASHER.hash("alertd: no such person")


def is_password_hash(text: str) -> bool:
    """Whether `text` reads as an argon2 hash (as `alertd passwd` prints)."""
    try:
        _HASHER.check_needs_rehash(text)
    except InvalidHashError:
        return False
    return True
