"""Without Chromium, the browser tests skip on a developer's machine, saying why, and fail in
CI: a CI run that could not drive a browser must not pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e

FLAGS = ["-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=-ra", "-q"]


def run_without_chromium(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["ALERTD_CHROMIUM"] = "/nonexistent/chromium"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/console/test_browser.py",
            "-k",
            "dark_mode",
            *FLAGS,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_chromium_a_developer_run_skips_and_says_why() -> None:
    done = run_without_chromium(ci=False)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "no Chromium at /nonexistent/chromium (apt-get install chromium)" in done.stdout


def test_without_chromium_a_ci_run_fails() -> None:
    done = run_without_chromium(ci=True)
    assert done.returncode == 1, done.stdout
    assert "cannot run in CI: browser tests: no Chromium" in done.stdout
