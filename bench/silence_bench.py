"""Silences: how long asking "does a silence cover this alert?" takes as silences pile up.

A fleet with vehicles in the workshop has one silence per vehicle (`vehicle_id=v-N`, some with
`rule=...` too), plus a few regex ones (`depot=~"north|east"`). Every fired alert asks
`Silences.covering(alert, now)`. The index (alertd/silences/index.py) files each silence under
its first equality, so an alert is tested against the silences of its own vehicle and the few
with no equality; the baseline tests every silence in turn (the oldest first, stopping at the
first that covers, as the index answers). Both answer the same for every alert (checked).

    .venv/bin/python -m bench.silence_bench                 # 0, 10, 100, 1,000, 10,000 silences
    flock /work/bench.lock .venv/bin/python -m bench.silence_bench --alerts 20000 --repeat 5

Figures are the median of `--repeat` repeats of CPU time per alert, the two sides taking turns.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

from alertd.model import Alert
from alertd.oncall import Matcher
from alertd.silences.index import SilenceIndex
from alertd.silences.matchers import covers
from alertd.silences.model import Silence

VEHICLES = 5_000
CHECKED = 500  # alerts for which both sides' answers are compared
RULES = ("critical_safety_event", "harsh_braking", "low_fuel", "speeding", "breakdown")
DEPOTS = ("north", "south", "east", "west")


def silences(count: int, regex_share: float, seed: int = 7) -> list[Silence]:
    """`count` silences: one vehicle each (a third of them one rule of it too), but for
    `regex_share` of them a regex on a depot with a rule; all active from 0 to 10^10."""
    rng = random.Random(seed)
    made = []
    every = round(1 / regex_share) if regex_share else 0
    for number in range(count):
        if every and number % every == every - 1:
            matchers = (
                Matcher("depot", rng.choice(("north|east", "south.*"))[:9], regex=True),
                Matcher("rule", rng.choice(RULES)),
            )
        else:
            vehicle = Matcher("vehicle_id", f"v-{rng.randrange(VEHICLES)}")
            rule = (Matcher("rule", rng.choice(RULES)),) if number % 3 == 0 else ()
            matchers = (vehicle, *rule)
        made.append(Silence(f"S{number:08d}", matchers, 0.0, 1e10, "bench", "", 0.0, 0.0))
    return made


def alerts(count: int, seed: int = 11) -> list[Alert]:
    rng = random.Random(seed)
    return [
        Alert(
            id=f"A{number:08d}",
            rule_id=rng.choice(RULES),
            rule_name="",
            priority="high",
            key=(),
            event={
                "type": "safety_event",
                "vehicle_id": f"v-{rng.randrange(VEHICLES)}",
                "depot": rng.choice(DEPOTS),
                "driver_id": f"d-{rng.randrange(8000)}",
            },
            fired_at=0.0,
            received_at=0.0,
        )
        for number in range(count)
    ]


def naive(made: list[Silence]) -> Callable[[Alert, float], Silence | None]:
    def covering(alert: Alert, now: float) -> Silence | None:
        for silence in made:  # oldest first, as made
            if silence.starts_at <= now < silence.ends_at and covers(silence.matchers, alert):
                return silence
        return None

    return covering


def cpu_per_alert(covering: Callable[[Alert, float], Silence | None], batch: list[Alert]) -> float:
    started = time.process_time()
    for alert in batch:
        covering(alert, 1.0)
    return (time.process_time() - started) / len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--silences", type=int, nargs="+", default=[0, 10, 100, 1_000, 10_000])
    parser.add_argument(
        "--regex-share", type=float, nargs="+", default=[0.0, 0.05], help="of the silences"
    )
    args = parser.parse_args()
    batch = alerts(args.alerts)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for share in args.regex_share:
        print(f"\n{share:.0%} of the silences a depot regex with a rule, the rest one vehicle each")
        print(f"{'silences':>9}  {'index':>10}  {'every one':>10}  {'ratio':>7}  covered")
        for count in args.silences:
            run(batch, count, share, args.repeat)


def run(batch: list[Alert], count: int, share: float, repeat: int) -> None:
    made = silences(count, share)
    index = SilenceIndex(made)
    scan = naive(made)
    for alert in batch[:CHECKED]:  # both answer alike
        assert index.covering(alert, 1.0) == scan(alert, 1.0), alert
    covered = sum(index.covering(alert, 1.0) is not None for alert in batch)
    # The scan costs ~count x more per alert: it runs on fewer alerts, so it ends.
    scanned_batch = batch[: max(200, len(batch) * 10 // max(10, count))]
    fast: list[float] = []
    slow: list[float] = []
    for _ in range(repeat):
        fast.append(cpu_per_alert(index.covering, batch))
        slow.append(cpu_per_alert(scan, scanned_batch))
    indexed, scanned = statistics.median(fast), statistics.median(slow)
    print(
        f"{count:>9,}  {indexed * 1e6:>8.2f}us  {scanned * 1e6:>8.2f}us  "
        f"{scanned / indexed:>6.1f}x  {covered / len(batch):.1%}"
    )


if __name__ == "__main__":
    main()
