"""Shared test settings: the hypothesis profiles.

Hypothesis runs the `ci` profile unless the HYPOTHESIS_PROFILE environment variable names
another:

- `ci` (the default, what CI runs): derandomized, so every run tries the same examples and a
  failure in CI is a failure on every machine;
- `long`: fresh random examples on every run, 20 times as many as `ci`, to find what `ci`'s
  fixed examples never reach. A failure prints the example and a `@reproduce_failure` blob,
  and the example database (.hypothesis/) replays it first on the next run:

      HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/dsl

A test that sets its own number of examples writes it as `examples(n)` (tests/examples.py),
so that a longer profile scales it too; every test's time limit (pytest-timeout) grows alike.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.examples import CI_EXAMPLES, scale
from tests.postgres import postgres_url  # noqa: F401  (a fixture for every test)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=20 * CI_EXAMPLES,
    derandomize=False,  # said outright: under CI=true hypothesis's own default derandomizes
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under a longer profile, each test's time limit grows with its number of examples."""
    factor = scale()
    if factor == 1:
        return
    default = float(config.getini("timeout") or 0)
    for item in items:
        marker = item.get_closest_marker("timeout")
        seconds = float(marker.args[0]) if marker is not None and marker.args else default
        if seconds:
            item.add_marker(pytest.mark.timeout(seconds * factor), append=False)
