"""`alertd run`: the daemon (see alertd.daemon) over the whole stack, on uvloop."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from alertd import logs
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
    daemon = Daemon(settings, Pipeline)
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        return runner.run(daemon.run())
