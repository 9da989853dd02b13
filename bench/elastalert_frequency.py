"""Time ElastAlert2's FrequencyRule.add_data per event (a helper of bench/engine_bench.py).

Runs under an interpreter that has elastalert2 installed, apart from alertd's own environment
(elastalert2 pins its own versions of libraries alertd uses):

    python elastalert_frequency.py EVENTS.ndjson REPEAT

EVENTS holds `{"vehicle_id": ..., "timestamp": ISO-8601}` lines. Timestamps are turned into
datetimes before timing, as ElastAlert does when it reads hits from Elasticsearch; then the
events go to `add_data` in pages of 10,000 (Elasticsearch's default result size), with the
rule `num_events: 3, timeframe: 10 minutes, query_key: vehicle_id`. Prints the median seconds
per event of REPEAT runs, in CPU time of this process, with the prepared events kept out of
the garbage collector's sight (gc.freeze): both as alertd's side of the comparison is measured.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from datetime import datetime, timedelta

from elastalert.ruletypes import FrequencyRule

PAGE = 10_000


def main() -> None:
    path, repeat = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as file:  # noqa: PTH123 -- runs outside alertd
        lines = [json.loads(line) for line in file]
    rule = {
        "num_events": 3,
        "timeframe": timedelta(minutes=10),
        "query_key": "vehicle_id",
        "timestamp_field": "@timestamp",
    }
    times = []
    for _ in range(repeat):
        # Fresh events each run: add_match rewrites a matched event's timestamp in place.
        events = [
            {
                "vehicle_id": line["vehicle_id"],
                "@timestamp": datetime.fromisoformat(line["timestamp"]),
            }
            for line in lines
        ]
        frequency = FrequencyRule(dict(rule))
        pages = [events[i : i + PAGE] for i in range(0, len(events), PAGE)]
        gc.collect()
        gc.freeze()
        start = time.process_time()
        for page in pages:
            frequency.add_data(page)
        times.append(time.process_time() - start)
        gc.unfreeze()
        matches = len(frequency.matches)
    print(f"matches {matches} seconds_per_event {statistics.median(times) / len(events)}")


if __name__ == "__main__":
    main()
