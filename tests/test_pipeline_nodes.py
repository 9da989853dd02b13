"""Several daemons ("nodes") on one PostgreSQL database, in-process: each a Pipeline of its
own, with its own connections and its own windows in memory, taking events at the same time.
A key pages once whichever node took its events; a counting window counts every node's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.config import load_settings
from alertd.engine.state import AlertQuery
from alertd.pipeline import Pipeline
from tests.pipeline_home import write_home

RULES = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  suppress 10m by vehicle_id
  notify   webhook
}

rule overspeed {
  name     "Repeated Overspeed"
  when     type == "overspeed"
  priority medium
  count    4 within 10m by vehicle_id
  notify   webhook
}
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def nodes(tmp_path: Path, clock: FakeClock, postgres_url: str) -> Iterator[list[Pipeline]]:
    """Three nodes on one database, each in a folder of its own (its outcome journal)."""
    made = []
    for n in range(3):
        home = tmp_path / f"node{n}"
        home.mkdir()
        config = write_home(home, RULES, state=f'url = "{postgres_url}"\n')
        made.append(Pipeline(load_settings(config), clock))
    yield made
    for node in made:
        node.close()


def event(kind: str, vehicle: str, n: int = 0) -> dict[str, object]:
    return {"type": kind, "vehicle_id": vehicle, "n": n}


async def test_nodes_taking_events_of_one_key_at_once_page_once(
    nodes: list[Pipeline], clock: FakeClock
) -> None:
    now = clock.now()
    answers = await asyncio.gather(
        *(
            node.ingest([event("breakdown", "v1", n), event("breakdown", f"other-{n}")], now)
            for n in range(10)
            for node in nodes
        )
    )
    fired = [alert for alerts in answers for alert in alerts]
    page = await nodes[0].alerts(AlertQuery(rule="breakdown"))
    assert len(page.records) == 1 + 10  # v1 once, and each other-N once
    assert len(fired) == 11
    keys = sorted(record.alert.key for record in page.records)
    assert keys.count(("v1",)) == 1


async def test_a_counting_window_counts_every_nodes_matches(
    nodes: list[Pipeline], clock: FakeClock
) -> None:
    now = clock.now()
    first = await asyncio.gather(
        *(node.ingest([event("overspeed", "v7", n)], now) for n, node in enumerate(nodes))
    )
    assert list(first) == [[], [], []]  # three matches: below four
    (alert_id,) = await nodes[1].ingest([event("overspeed", "v7", 3)], now + 1)
    record = (await nodes[2].alerts(AlertQuery(rule="overspeed"))).records
    assert [r.alert.id for r in record] == [alert_id]
    assert sorted(e["n"] for e in record[0].alert.count_events) == [0, 1, 2, 3]


async def test_a_node_that_was_idle_reads_what_the_others_wrote(
    nodes: list[Pipeline], clock: FakeClock
) -> None:
    """The windows a node holds in memory from before are not trusted: another node changed
    them since."""
    now = clock.now()
    assert await nodes[0].ingest([event("breakdown", "v9")], now)  # node 0 knows v9 fired
    clock.advance(601)  # the suppression is over
    assert await nodes[1].ingest([event("breakdown", "v9")], now + 601)  # pages again
    # node 0's memory still says v9 fired at `now`: it must read node 1's newer window
    assert await nodes[0].ingest([event("breakdown", "v9")], now + 602) == []


def _windows_in_memory(node: Pipeline) -> int:
    store = node.store
    return len(store.suppressions("breakdown")) + len(store.count_windows("overspeed"))


async def test_a_window_another_node_swept_is_neither_kept_nor_trusted(
    nodes: list[Pipeline], clock: FakeClock
) -> None:
    """Windows stay in a node's memory only for the transaction that held their keys: what
    another node swept (or changed) meanwhile is read again, and memory stays bounded."""
    a, b, _ = nodes
    now = clock.now()
    assert await b.ingest([event("breakdown", "v5"), event("overspeed", "v5")], now)
    assert _windows_in_memory(b) == 0  # written and committed: not kept
    clock.advance(700)  # both windows expire (10 minutes)
    assert await a.ingest([event("breakdown", "v6")], now + 700)  # a's horizon moves on
    await a.sweep()
    rows = b.store.connection.execute(
        "SELECT count(*) FROM suppression WHERE key LIKE '%v5%'"
    ).fetchone()
    assert rows[0] == 0  # a evicted v5's windows
    # b took v5's events before: it pages again, counting nothing from before
    assert len(await b.ingest([event("breakdown", "v5"), event("overspeed", "v5")], now + 701)) == 1
    assert _windows_in_memory(b) == 0
    assert _windows_in_memory(a) == 0
