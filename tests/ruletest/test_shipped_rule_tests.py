"""The unit tests shipped with the starter rules pass, and every starter rule has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main
from alertd.config import load_settings
from alertd.dsl import load_rules
from alertd.ruletest.unittests import find_test_files, parse_test_file

REPO = Path(__file__).resolve().parents[2]
RULE_TESTS = REPO / "rules" / "tests"


def test_the_shipped_rule_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["test-rule", "-c", str(REPO / "alertd.toml"), str(RULE_TESTS)])
    out = capsys.readouterr().out
    assert exit_code == 0, out
    assert "0 failed" in out


def test_every_shipped_rule_is_tested_firing() -> None:
    settings = load_settings(REPO / "alertd.toml")
    rules = load_rules(
        [REPO / "rules"], channels=settings.channel_names(), groups=settings.recipients.keys()
    )
    fired = {
        expected.rule
        for path in find_test_files([RULE_TESTS])
        for test in parse_test_file(path).tests
        for expected in test.expect
        if expected.decision == "fired"
    }
    untested = sorted({rule.id for rule in rules} - fired)
    assert untested == [], f"rules without a unit test in {RULE_TESTS}: {untested}"


def test_the_example_in_the_docs_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = (REPO / "docs" / "testing-rules.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    rules = REPO / "rules"
    example = example.replace("../common.rules", str(rules / "common.rules"))
    example = example.replace("../safety.rules", str(rules / "safety.rules"))
    (tmp_path / "example.yaml").write_text(example)
    exit_code = main(["test-rule", "-c", str(REPO / "alertd.toml"), str(tmp_path / "example.yaml")])
    assert exit_code == 0, capsys.readouterr().out
