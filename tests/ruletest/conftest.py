"""A small rule set and config for `alertd test-rule` tests, written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

RULES = """\
rule crit {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  notify   sms, email(managers)
}

rule many {
  name     "Multiple Safety Events"
  when     type == "safety_event"
  count    3 within 10m by vehicle_id
  notify   slack
}
"""

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

CONFIG = f"""\
[rules]
templates = "{TEMPLATES}"
[recipients]
managers = ["fleet-managers@example.com"]
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "safety.rules").write_text(RULES)
    (tmp_path / "alertd.toml").write_text(CONFIG)
    return tmp_path
