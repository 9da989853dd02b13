"""`alertd run`: the daemon (see alertd.daemon) over the whole stack, on uvloop; with
`--workers N`, N of them on one port under a supervisor (alertd.commands.workers)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import sys
from collections.abc import Callable

from alertd import logs
from alertd.clock import Clock
from alertd.commands.workers import (
    READY,
    WORKER_ENV,
    Supervisor,
    worker_settings,
    workers_problem,
)
from alertd.config import Settings
from alertd.daemon import EXIT_CONFIG, Daemon
from alertd.pipeline import Pipeline

if sys.platform == "win32":  # uvloop does not run there; the standard loop does, a little slower
    _new_loop: Callable[[], asyncio.AbstractEventLoop] | None = None
else:
    import uvloop

    _new_loop = uvloop.new_event_loop


def main(settings: Settings, args: argparse.Namespace) -> int:
    logs.configure(settings.log, logs.secrets_of(settings))
    problem = workers_problem(settings, args.workers)
    if problem is not None:
        print(f"alertd: error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        if args.workers > 1:
            return runner.run(Supervisor(settings, args.config, args.workers).run())
        if args.worker is not None:
            return runner.run(_serve_as_worker(settings, args.worker))
        return runner.run(Daemon(settings, loaded_pipeline).run())


async def _serve_as_worker(settings: Settings, port: int) -> int:
    """One worker of `alertd run --workers`: a daemon on the shared port that tells the
    supervisor when it listens, and stops gracefully if the supervisor is gone."""
    number, _, fd = os.environ[WORKER_ENV].partition(":")
    logs.tag_records(worker=int(number))
    settings = worker_settings(settings, int(number))
    channel = socket.socket(fileno=int(fd))
    channel.setblocking(False)

    def ready() -> None:
        channel.send(READY)

    daemon = Daemon(settings, loaded_pipeline, shared_port=port, on_ready=ready)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            if channel.recv(1):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        loop.remove_reader(channel.fileno())
        daemon.request_stop()  # the supervisor's end closed: it died, and so do we, gently

    loop.add_reader(channel.fileno(), readable)
    try:
        return await daemon.run()
    finally:
        loop.remove_reader(channel.fileno())
        channel.close()


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
