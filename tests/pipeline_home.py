"""The daemon's folder for the pipeline's tests: one rule file, an optional on-call file and an
`alertd.toml` that sends for real (dry_run off) to addresses nothing listens on, so that each
notification stays in the outbox where a test can read it."""

from __future__ import annotations

from pathlib import Path

from alertd.clock import FakeClock
from alertd.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
WEBHOOK = """[channels.webhook]
url = "http://127.0.0.1:9/alerts"
"""
SMS = """[channels.sms]
account_sid = "AC0"
auth_token = "t"
from = "+15550100000"
to = ["+15550100002"]
"""


def write_home(
    home: Path,
    rule: str,
    *,
    oncall: str | None = None,
    state: str = "",
    channels: str = WEBHOOK + SMS,
    templates: Path = REPO / "templates",
) -> Path:
    """Write the rule, the on-call file (if any) and the config into `home`; return the
    config's path. `state` adds lines to the `[state]` table."""
    (home / "rules").mkdir(exist_ok=True)
    (home / "rules" / "vehicle.rules").write_text(rule)
    oncall_table = ""
    if oncall is not None:
        (home / "oncall.toml").write_text(oncall)
        oncall_table = '[oncall]\npath = "oncall.toml"\n'
    config = home / "alertd.toml"
    config.write_text(
        f"""[rules]
paths = ["rules"]
templates = "{templates}"
[state]
path = "var/alertd.db"
{state}{oncall_table}[dispatch]
dry_run = false
{channels}"""
    )
    return config


async def run_to(pipeline: Pipeline, clock: FakeClock, seconds: float) -> None:
    """Let `seconds` pass, running the timers as the daemon's loop would (which also notices
    a step of the wall clock)."""
    end = clock.monotonic() + seconds
    while True:
        due = await pipeline.next_timer_due()
        left = end - clock.monotonic()
        if due is None or due > pipeline.steady.now() + left:
            break
        clock.advance(max(0.0, due - pipeline.steady.now()))
        await pipeline.run_due_timers()
    clock.advance(max(0.0, end - clock.monotonic()))
