"""Console passwords (alertd.console.passwords): argon2id hashes that check, and an unknown
name that costs what a known one does."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from alertd.console.passwords import (
    DUMMY_HASH,
    MIN_LENGTH,
    PasswordError,
    hash_password,
    verify_password,
)


def test_a_hash_checks_its_password_and_no_other() -> None:
    made = hash_password("correct horse")
    assert made.startswith("$argon2id$")
    assert verify_password(made, "correct horse")
    assert not verify_password(made, "correct horsE")
    assert not verify_password(None, "correct horse")
    assert not verify_password("not a hash", "correct horse")


def test_a_short_password_is_refused() -> None:
    with pytest.raises(PasswordError, match=f"at least {MIN_LENGTH} characters"):
        hash_password("x" * (MIN_LENGTH - 1))


def test_the_stand_in_for_an_unknown_name_costs_what_a_real_hash_does() -> None:
    """Made with today's parameters: were argon2-cffi's defaults to change, this fails, and
    DUMMY_HASH must be made again, or a wrong name would answer faster than a wrong password."""
    assert not PasswordHasher().check_needs_rehash(DUMMY_HASH)
    assert not PasswordHasher().check_needs_rehash(hash_password("correct horse"))
