"""What a refused or failed batch costs the daemon, against a valid one, with many live windows.

    .venv/bin/python bench/rollback_bench.py [--windows 100000] [--repeat 30]

The daemon's stack (alertd.pipeline, on a real SQLite file) first takes `--windows` events of
distinct vehicles for a counting rule that never reaches its count, so the store holds that many
live windows. Then, in turns, it measures one batch of one event of a new vehicle through
`Pipeline.ingest`:

  valid     accepted and committed (the baseline);
  invalid   refused for its timestamp (400): anyone with an ingest token can send these;
  failed    valid, but its evaluation raises once it has changed its window (a bug, or the disk
            failing under the savepoint): the batch's savepoint rolls back.

It prints the median wall time of each and its ratio to the valid batch's. A rollback that
costs what the batch touched keeps both ratios near 1 whatever the number of windows; one that
reads every window back grows with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alertd.clock import FakeClock  # noqa: E402
from alertd.config import load_settings  # noqa: E402
from alertd.engine.engine import Engine  # noqa: E402
from alertd.pipeline import Pipeline  # noqa: E402

RULE = """rule many_stops {
  name  "Many stops"
  when  type == "stop"
  count 100000 within 1d by vehicle_id
  notify webhook
}
"""


def pipeline_in(home: Path, clock: FakeClock) -> Pipeline:
    (home / "rules").mkdir()
    (home / "rules" / "stops.rules").write_text(RULE)
    (home / "alertd.toml").write_text(
        f"""[rules]
paths = ["rules"]
templates = "{ROOT / "templates"}"
[state]
path = "var/alertd.db"
[dispatch]
dry_run = true
"""
    )
    return Pipeline(load_settings(home / "alertd.toml"), clock)


class Failure(Exception):
    pass


async def measure(windows: int, repeat: int) -> dict[str, list[float]]:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as folder:
        pipeline = pipeline_in(Path(folder), clock)
        for start in range(0, windows, 1000):
            batch = [
                {"type": "stop", "vehicle_id": f"v{n}"}
                for n in range(start, min(start + 1000, windows))
            ]
            await pipeline.ingest(batch, clock.now())
        evaluate = Engine._evaluate
        failing = False

        def evaluate_then_fail(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            decisions = evaluate(engine, *args, **kwargs)
            if failing:
                raise Failure("after changing the window")
            return decisions

        Engine._evaluate = evaluate_then_fail  # type: ignore[method-assign]
        times: dict[str, list[float]] = {"valid": [], "invalid": [], "failed": []}
        for n in range(repeat):
            for kind, spent in times.items():
                event: dict[str, Any] = {"type": "stop", "vehicle_id": f"new-{kind}-{n}"}
                if kind == "invalid":
                    event["timestamp"] = "yesterday"
                failing = kind == "failed"
                started = time.perf_counter()
                with contextlib.suppress(Exception):
                    await pipeline.ingest([event], clock.now())
                spent.append(time.perf_counter() - started)
        Engine._evaluate = evaluate  # type: ignore[method-assign]
        assert pipeline.store.size().count_windows == windows + repeat
        pipeline.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # each failed batch logs its traceback
    times = asyncio.run(measure(args.windows, args.repeat))
    valid = statistics.median(times["valid"])
    print(f"{args.windows:,} live windows, median of {args.repeat} batches of one event each")
    for kind, values in times.items():
        median = statistics.median(values)
        print(f"  {kind:8} {median * 1000:9.2f} ms   {median / valid:8.2f}x the valid batch")


if __name__ == "__main__":
    main()
