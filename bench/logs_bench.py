"""The CPU one structured log line costs: alertd's JSON lines against the logging module's floor.

    .venv/bin/python bench/logs_bench.py [--lines 20000] [--runs 5]

The daemon writes one line per alert ("alert fired") and one per delivery attempt
("... notification ... sent"); this emits the two in turn, with the fields the pipeline and
the dispatcher give them, through `alertd.logs.configure` with five configured secrets, onto
stderr redirected to a file (as under systemd or a container runtime: not a terminal).
The baseline, in the same run and onto the same file: the same records through a bare
`logging.StreamHandler` with the `%(message)s` format and the logging module's defaults.
Figures are the median of the runs' CPU time per line, the two taking turns in each run.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alertd import logs  # noqa: E402
from alertd.config import LogSettings  # noqa: E402

SECRETS = ["in-token-1234", "ad-token-1234", "hook-secret-1234", "xoxb-1234-5678", "tw-1234"]
STDLIB_DEFAULTS = {
    name: getattr(logging, name)
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
}


def emit_lines(n: int) -> None:
    """n lines, half "alert fired" and half "notification sent", as the daemon logs them."""
    alerts = logging.getLogger("alertd.pipeline")
    dispatch = logging.getLogger("alertd.notify.dispatcher")
    for i in range(n // 2):
        alert_id = f"01KBENCH{i:018d}"
        alerts.info(
            "alert fired",
            extra={
                "alert_id": alert_id,
                "rule": "critical_safety_event",
                "priority": "urgent",
                "key": (f"V-{i}", "D-4"),
                "suppressed_count": 0,
                "channels": ["webhook"],
            },
        )
        dispatch.info(
            "%s notification %s to %r sent (attempt %d): %s",
            "webhook",
            f"{alert_id}.1",
            "https://hooks.example.com/alertd",
            1,
            "HTTP 200",
            extra={
                "notification_id": f"{alert_id}.1",
                "alert_id": alert_id,
                "channel": "webhook",
                "outcome": "sent",
                "attempt": 1,
                "error": None,
            },
        )


def configure_alertd() -> None:
    logs.configure(LogSettings(level="info", format="json"), SECRETS)


def configure_stdlib() -> None:
    for name, value in STDLIB_DEFAULTS.items():
        setattr(logging, name, value)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def cpu_per_line(configure: Callable[[], None], n: int) -> float:
    configure()
    emit_lines(200)  # warm up
    start = time.process_time()
    emit_lines(n)
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"stdlib": [], "alertd": []}
    with tempfile.TemporaryDirectory() as folder:
        saved = os.dup(2)
        sink = os.open(Path(folder) / "stderr.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(sink, 2)  # stderr is a file, as under a service manager
        try:
            for _ in range(args.runs):
                results["stdlib"].append(cpu_per_line(configure_stdlib, args.lines))
                results["alertd"].append(cpu_per_line(configure_alertd, args.lines))
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
        lines = (Path(folder) / "stderr.log").read_text().count("\n")
    expected = (args.lines + 200) * 2 * args.runs
    if lines != expected:
        raise SystemExit(f"lost log lines: {lines} written of {expected}")
    stdlib, alertd = (statistics.median(results[k]) * 1e6 for k in ("stdlib", "alertd"))
    print(f"{args.lines} lines, median of {args.runs} runs, CPU per line")
    print(f"  logging defaults, %(message)s, StreamHandler : {stdlib:6.2f} µs")
    print(f"  alertd JSON line, redacted                   : {alertd:6.2f} µs")
    print(f"  ratio                                        : {alertd / stdlib:6.2f}x")
    print("  runs, alertd: " + ", ".join(f"{r * 1e6:.2f}" for r in results["alertd"]))


if __name__ == "__main__":
    main()
