"""The API contract, judged from outside: schemathesis fuzzes a real `alertd run` against the
description it serves at /openapi.json, and /metrics must read as valid Prometheus text.

Nothing here lists the operations: schemathesis tests whatever /openapi.json describes, so an
endpoint is covered as soon as it is described (tests/server/test_openapi.py makes sure every
route is). Its settings, tokens aside, are in tests/e2e/schemathesis.toml; docs/api.md says
how to run the same fuzzer by hand.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alertd.server.app import openapi_spec

from .conftest import ADMIN_TOKEN, INGEST_TOKEN, REPO, Alertd

pytestmark = pytest.mark.e2e

SCHEMATHESIS_CONFIG = REPO / "tests" / "e2e" / "schemathesis.toml"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


async def fuzz(url: str) -> tuple[int, str]:
    """Run schemathesis against the daemon at `url`: its exit code and its report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(SCHEMATHESIS_CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        # DELETE /v1/silences/{id} expires a silence (DESIGN.md "Silences", as Alertmanager
        # does): it stays readable as expired until retention. The stateful phase reads that as
        # use after free, and ignores a per-operation setting in the config file.
        "--exclude-checks",
        "use_after_free",
        "--no-color",
        cwd=REPO,  # the config names its hooks module from here
        env={**os.environ, "ALERTD_INGEST_TOKEN": INGEST_TOKEN, "ALERTD_ADMIN_TOKEN": ADMIN_TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 240)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def exposition_problems(text: str) -> list[str]:
    """What is wrong with a /metrics answer, read as Prometheus' text format."""
    problems: list[str] = []
    seen: set[str] = set()
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as error:
        return [f"not Prometheus text: {error}"]
    for family in families:
        if not METRIC_NAME.fullmatch(family.name) or not family.name.startswith("alertd_"):
            problems.append(f"{family.name}: not an alertd metric name")
        if family.name in seen:
            problems.append(f"{family.name}: exported twice")
        seen.add(family.name)
        if family.type == "unknown":
            problems.append(f"{family.name}: no TYPE")
        if not family.documentation.strip():
            problems.append(f"{family.name}: no HELP")
    if shutil.which("promtool"):
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
        )
        if lint.returncode or lint.stdout.strip() or lint.stderr.strip():
            problems.append(f"promtool: {(lint.stdout + lint.stderr).decode().strip()}")
    return problems


async def test_the_api_keeps_to_its_description_and_metrics_stay_valid(alertd: Alertd) -> None:
    code, report = await fuzz(alertd.url)
    assert code == 0, report

    operations = sum(  # schemathesis leaves out the description it reads itself
        method in METHODS
        for path, methods in openapi_spec()["paths"].items()
        if path != "/openapi.json"
        for method in methods
    )
    assert f"Operations:       {operations} selected / {operations} total" in report, report
    assert f"Tested: {operations}" in report, report
    generated = re.search(r"(\d+) generated, \1 passed", report)
    assert generated is not None and int(generated.group(1)) > 100 * operations, report

    async with alertd.client() as client:
        metrics = await client.get("/metrics")  # after the fuzzing: every label it brought out
    assert exposition_problems(metrics.text) == []


def test_the_metrics_check_finds_what_a_scraper_would_refuse() -> None:
    good = "# HELP alertd_x_total Things.\n# TYPE alertd_x_total counter\nalertd_x_total 1.0\n"
    assert exposition_problems(good) == []
    assert exposition_problems("alertd_x_total{ 1\n")[0].startswith("not Prometheus text")
    problems = exposition_problems("alertd_y 1\n")
    assert {"alertd_y: no TYPE", "alertd_y: no HELP"} <= set(problems)
