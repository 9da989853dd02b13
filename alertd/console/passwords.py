"""Password hashes for console sign-in: argon2id through argon2-cffi, the one module that
imports it.

`alertd passwd NAME` makes a hash (`hash_password`); the console checks a password against the
`password_hash` of a person in oncall.toml (`verify_password`). A hash costs around half a
second of CPU here, on purpose: callers on the event loop run it in a worker thread.
"""

from __future__ import annotations

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
        return _HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Checked when a name is unknown, so that a wrong name costs what a wrong password costs and the
# time of an answer does not tell which names exist: the hash of a random password nobody kept,
# made with the parameters `hash_password` uses (tests/console/test_passwords.py keeps them so).
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$LSpljvOdfqb5iRY9yKh4Zw"
    "$7MQL4tfCF0RLYgkZtOsleC2UPzXajJyujowgL2hKaA0"
)
