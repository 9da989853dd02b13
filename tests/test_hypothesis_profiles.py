"""CI runs hypothesis derandomized; HYPOTHESIS_PROFILE=long runs fresh, random, many more."""

import os
import subprocess
import sys
from pathlib import Path

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
