"""`alertd run --workers N` (alertd.commands.run): N daemons on one port, one machine's cores.

One alertd process uses one core. On PostgreSQL, every daemon given the same `[state] url` is a
node of one service (the database decides which node pages, sends and runs each timer), so N
processes on one machine are N nodes. The supervisor (this module, the parent process) serves
nothing itself:

- it refuses to start them on SQLite (one process per state file; exit 2), checks what a
  daemon checks before it opens anything (exit 2), and makes the files each daemon would make
  on first use (the development token, the secrets that sign action links and console
  sessions) once, so that every worker reads the same ones;
- each worker is a node of its own: its own outcome journal and name in the claims
  (`worker_settings`);
- it reserves the port (a socket bound with SO_REUSEPORT that never listens: port 0 is chosen
  once, and the port stays this service's while a worker restarts), and starts each worker as
  `alertd run --worker PORT`, which binds the same port with SO_REUSEPORT: the kernel spreads
  new connections over the workers that listen;
- a worker that dies is logged and started again, after a pause that doubles (1 s to 30 s)
  while workers keep failing to start; but when a worker cannot start before any ever did
  (invalid rules, a database that refuses the daemon), the supervisor stops the others and
  exits with that worker's code, as `alertd run` would;
- SIGTERM or SIGINT is passed to every worker once (each drains as a daemon does: its
  in-flight requests, then its deliveries for `shutdown_grace`), and the supervisor exits when
  they all have; a second signal is passed on too (the workers skip their drain). SIGHUP is
  passed on (each worker reloads).

Each worker holds one end of a socket pair whose other end the supervisor keeps: it writes one
byte there once it listens, and stops gracefully when the supervisor's end closes (the
supervisor was killed), so no worker outlives its supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, replace

from alertd.config import ConfigError, Settings
from alertd.console.session import session_secret
from alertd.daemon import EXIT_CONFIG, EXIT_OK, api_server_settings, check_startup_config
from alertd.respond.links import link_secret

log = logging.getLogger("alertd.workers")

FIRST_PAUSE = 1.0  # seconds before a dead worker is started again
LONGEST_PAUSE = 30.0  # the pause doubles up to this while restarted workers fail to start
READY = b"r"  # what a worker writes to its end of the socket pair once it listens


def workers_problem(settings: Settings, workers: int) -> str | None:
    """Why `alertd run --workers N` cannot run N workers with these settings, or None."""
    if workers <= 1:
        return None
    if not settings.state.url:
        return (
            f"--workers {workers} needs the state in PostgreSQL ([state] url in "
            f"{settings.source}): a SQLite state file is one daemon's; run one daemon, or "
            "see docs/scaling.md"
        )
    if not hasattr(socket, "SO_REUSEPORT"):
        return f"--workers {workers}: this system has no SO_REUSEPORT; run one daemon per port"
    return None


def make_shared_files(settings: Settings) -> None:
    """Make, once and before any worker starts, what each daemon makes on first use in its
    state folder when the config does not give it: the development token, the action links'
    secret and the console's session secret. Workers starting together would each make
    their own, and a link one signed (or a session it began) would fail at another. Raises
    OSError."""
    api_server_settings(settings)
    link_secret(settings)
    session_secret(settings.server.session_secret, settings.state.path.parent)


def worker_settings(settings: Settings, number: int) -> Settings:
    """Worker `number`'s settings: `[state] path` with its number in the name, so that its
    outcome journal (beside that path) and its name in the database's claims are its own
    (alertd.notify.outbox), and the same across its restarts; the folder, with the secrets
    and the development token, stays the one all workers share."""
    path = settings.state.path
    own = path.with_name(f"{path.stem}.worker{number}{path.suffix}")
    return replace(settings, state=replace(settings.state, path=own))


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT that does not listen: it keeps the port
    for the workers (which bind it too) and learns it when `port` is 0. Raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Worker:
    """One worker process: its number, its process and the supervisor's end of its pair."""

    number: int
    process: asyncio.subprocess.Process | None = None
    channel: socket.socket | None = None
    ready: bool = False
    restarts: int = 0


class Supervisor:
    """Starts, watches and stops the workers. Event loop only."""

    def __init__(self, settings: Settings, config: str | None, workers: int) -> None:
        self.settings = settings
        self.config = config
        self.workers = [_Worker(number) for number in range(1, workers + 1)]
        self.port = 0
        self._failed: int | None = None  # a worker's exit code that stops the supervisor
        self._any_ready = False
        self._pause = FIRST_PAUSE
        self._stopped = asyncio.Event()  # set when stopping: a pause before a restart ends

    async def run(self) -> int:
        """Run the workers until stopped; return the exit code."""
        try:
            check_startup_config(self.settings)
            make_shared_files(self.settings)
        except ConfigError as error:
            log.error(str(error))
            return EXIT_CONFIG
        except OSError as error:
            log.error(f"cannot make the workers' secrets: {error}")
            return EXIT_CONFIG
        server = self.settings.server
        try:
            reserved = reserve_port(server.host, server.port)
        except OSError as error:
            log.error(
                f"cannot listen on {server.listen}: {error.strerror or error}",
                extra={"listen": server.listen},
            )
            return EXIT_CONFIG
        with reserved:
            self.port = reserved.getsockname()[1]
            log.info(
                "starting workers",
                extra={"workers": len(self.workers), "port": self.port},
            )
            self._install_signals()
            try:
                await asyncio.gather(*(self._keep(worker) for worker in self.workers))
            finally:
                self._remove_signals()
        if self._failed is not None:
            return self._failed
        codes = [w.process.returncode for w in self.workers if w.process is not None]
        log.info("workers stopped", extra={"exit_codes": codes})
        return EXIT_OK if all(code == EXIT_OK for code in codes) else 1

    async def _keep(self, worker: _Worker) -> None:
        """Run one worker, and again each time it dies, until the supervisor stops."""
        while not self._stopped.is_set():
            code = await self._run_once(worker)
            if self._stopped.is_set():
                break
            if not worker.ready and not self._any_ready:
                log.error(
                    "a worker could not start; stopping the others",
                    extra={"worker": worker.number, "exit_code": code},
                )
                self._failed = code or 1
                self._stop(signal.SIGTERM)
                break
            pause = FIRST_PAUSE if worker.ready else self._pause
            self._pause = FIRST_PAUSE if worker.ready else min(self._pause * 2, LONGEST_PAUSE)
            worker.restarts += 1
            log.error(
                "a worker exited; starting it again",
                extra={
                    "worker": worker.number,
                    "pid": worker.process.pid if worker.process else None,
                    "exit_code": code,
                    "restart_in_seconds": pause,
                    "restarts": worker.restarts,
                },
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), pause)

    async def _run_once(self, worker: _Worker) -> int:
        """Start the worker, note when it is ready, and return its exit code."""
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "alertd", "run", "--worker", str(self.port)]
        if self.config is not None:
            command += ["-c", self.config]
        try:
            worker.process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=worker_environment(worker.number, theirs.fileno()),
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor alone
            )
        finally:
            theirs.close()
        worker.channel, worker.ready = ours, False
        log.info("worker started", extra={"worker": worker.number, "pid": worker.process.pid})
        readiness = asyncio.create_task(self._await_ready(worker, ours))
        try:
            return await worker.process.wait()
        finally:
            readiness.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await readiness
            ours.close()
            worker.channel = None

    async def _await_ready(self, worker: _Worker, channel: socket.socket) -> None:
        channel.setblocking(False)
        data = await asyncio.get_running_loop().sock_recv(channel, 1)
        if data == READY:
            worker.ready = self._any_ready = True

    # --- signals ---------------------------------------------------------------------------

    def _stop(self, sig: signal.Signals) -> None:
        """Stop restarting workers, and pass `sig` to each one running."""
        self._stopped.set()
        self._forward(sig)

    def _forward(self, sig: signal.Signals) -> None:
        for worker in self.workers:
            process = worker.process
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_stop_signal, sig)
            loop.add_signal_handler(signal.SIGHUP, self._forward, signal.SIGHUP)

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if not self._stopped.is_set():
            log.info("stopping the workers", extra={"signal": sig.name})
        self._stop(signal.SIGTERM)  # a second one tells the workers to hurry

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)


WORKER_ENV = "ALERTD_WORKER"  # "NUMBER:FD": the worker's number and its end of the pair


def worker_environment(number: int, fd: int) -> dict[str, str]:
    """The worker's environment: the supervisor's, and which worker it is."""
    return {**os.environ, WORKER_ENV: f"{number}:{fd}"}
