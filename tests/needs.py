"""What to do when a test needs something this machine lacks (a browser, libfaketime, a
PostgreSQL server): skip, saying how to get it; but fail in CI (where `CI` is set), so that a
CI run that could not run a test cannot pass unnoticed."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(what: str) -> NoReturn:
    """Skip (or, in CI, fail) the running test: `what` says what is missing and how to get it."""
    if os.environ.get("CI"):
        pytest.fail(f"cannot run in CI: {what}")
    pytest.skip(what)
