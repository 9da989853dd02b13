"""`alertd run`: the daemon (see alertd.daemon) over the whole stack, on uvloop."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Callable

from alertd import logs
from alertd.clock import Clock
from alertd.config import Settings
from alertd.daemon import Daemon
from alertd.pipeline import Pipeline

if sys.platform == "win32":  # uvloop does not run there; the standard loop does, a little slower
    _new_loop: Callable[[], asyncio.AbstractEventLoop] | None = None
else:
    import uvloop

    _new_loop = uvloop.new_event_loop


def main(settings: Settings, args: argparse.Namespace) -> int:
    logs.configure(settings.log, logs.secrets_of(settings))
    daemon = Daemon(settings, loaded_pipeline)
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        return runner.run(daemon.run())


def loaded_pipeline(settings: Settings, clock: Clock) -> Pipeline:
    """The pipeline, its rules compiled and its state opened; then the collector tuned."""
    pipeline = Pipeline(settings, clock)
    tune_garbage_collector()
    return pipeline


def tune_garbage_collector() -> None:
    """Leave what lives for the whole run (modules, compiled rules, open state) out of every
    collection, and let the young generation hold a batch's short-lived objects (decoded events,
    decisions, alerts) so they die before they are scanned and promoted: 14% less CPU per event
    on the SQLite store (bench/README.md, "Engine"). A process-wide setting, so it is made here,
    where the process starts, and not by the daemon that tests run in their own process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)
