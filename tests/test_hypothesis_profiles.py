"""CI runs hypothesis derandomized; HYPOTHESIS_PROFILE=long runs fresh, random, many more."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples import scale

ROOT = Path(__file__).resolve().parents[1]
SHOW = (
    "import tests.conftest\n"
    "from hypothesis import settings\n"
    "from tests.examples import examples\n"
    "print(settings().derandomize, settings().max_examples, examples(300))\n"
)


def active_profile(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_without_a_profile_the_examples_are_the_same_on_every_run() -> None:
    assert active_profile() == "True 100 300"


def test_the_long_profile_runs_random_examples_twenty_times_as_many() -> None:
    assert active_profile(HYPOTHESIS_PROFILE="long") == "False 2000 6000"


def test_a_tests_time_limit_grows_with_its_examples(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("timeout")
    default = float(request.config.getini("timeout"))
    limit = float(marker.args[0]) if marker is not None else default
    assert limit == default * scale()


def test_under_the_long_profile_too() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    test = f"{Path(__file__).relative_to(ROOT)}::test_a_tests_time_limit_grows_with_its_examples"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n0", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env={**environment, "HYPOTHESIS_PROFILE": "long"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
