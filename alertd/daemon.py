"""`alertd run`: one asyncio process holding the HTTP server, the engine and the dispatcher.

The daemon owns the lifecycle and the policies around the evaluation stack (the `Core`):

- start: check the config (a rules path naming no rule file, no tokens off loopback: exit 2),
  load the rules (broken rules: exit 1), build the channels (one that cannot send: exit 2),
  open the state (locked: a second daemon on the same state exits 2), write the development
  token if needed, bind the socket (exit 2 if it cannot), resume every pending notification
  and run the timers that fell due while it was down, then serve;
- backpressure: /v1/events answers 503 with Retry-After while the outbox backlog is at its
  bound (`server.max_outbox_backlog`) and once intake has stopped;
- the state: while it cannot be written (a full disk, a read-only file, a database server
  gone; see alertd.state_health), /readyz answers 503 with the reason and a write is tried
  every STATE_CHECK_INTERVAL, so that the daemon is ready again once it succeeds, without a
  restart and without waiting for an event (a load balancer sends none to a node that is not
  ready); a database server is asked as often whether it answers, so that an idle node's
  /readyz says so when it goes away;
- reload on SIGHUP, POST /v1/reload and (with `rules.watch`) file changes, one at a time: the
  new rules, templates and on-call file replace the old only if all are valid, otherwise the
  errors are logged as `file:line:col` and the old set keeps running;
- shutdown on SIGTERM or SIGINT, in this order: /readyz turns 503 while requests are still
  served for `server.shutdown_delay` (so a load balancer stops sending first), intake stops,
  in-flight requests finish, the dispatcher drains for `server.shutdown_grace`, and whatever is
  left stays pending in the outbox for the next start. A second signal skips the delay and the
  drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from alertd import logs, metrics
from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ConfigError, ServerSettings, Settings
from alertd.console import Console
from alertd.core import Core, ReloadOutcome, RuleProblem, RulesInvalid
from alertd.dsl import rule_path_problem
from alertd.engine.errors import StateStoreError
from alertd.oncall import oncall_path_problem
from alertd.respond.hooks import Hooks, setup_notes
from alertd.server.app import Api
from alertd.server.listener import HttpServer, bind, bound_port, connection_limits
from alertd.state_health import StateProblem
from alertd.watch import watch_rules

log = logging.getLogger("alertd.daemon")

EXIT_OK = 0
EXIT_RULES = 1  # the rules are invalid at start
EXIT_FAILED = 1  # the dispatcher died: exit non-zero so a supervisor restarts alertd
EXIT_CONFIG = 2

BACKLOG_RETRY_AFTER = 5.0  # seconds a client waits when the outbox is at its bound
DRAINING_RETRY_AFTER = 1.0  # another instance (or this one, restarted) will take it soon
STATE_CHECK_INTERVAL = 1.0  # seconds between writes tried while the state refuses them
DEV_TOKEN_FILE = "dev-token"


CoreFactory = Callable[[Settings, Clock], Core]


class Daemon:
    """Runs the whole process around a Core; answers the HTTP API's Control calls (readiness,
    load shedding, reloads). The API asks the core itself for everything else."""

    def __init__(
        self,
        settings: Settings,
        core_factory: CoreFactory,
        clock: Clock = SYSTEM_CLOCK,
        *,
        shared_port: int | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        """`shared_port`: listen there with SO_REUSEPORT, beside the other workers of
        `alertd run --workers` (alertd.commands.workers), instead of at `[server] listen`'s port.
        `on_ready` is called once the daemon listens."""
        self.settings = settings
        self.shared_port = shared_port
        self.on_ready = on_ready
        self.core_factory = core_factory
        self.clock = clock
        self.core: Core | None = None
        self.state = "starting"
        self.port: int | None = None
        self._stop = asyncio.Event()
        self._force = False
        self._forced = asyncio.Event()  # a second stop request: hurry
        self._taking_events = False
        self._reload_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- Control (what the HTTP API asks of the process) -------------------------------------

    def status(self) -> str:
        if self.state == "ready" and self.state_problem() is not None:
            return "unavailable"
        return self.state

    def state_problem(self) -> StateProblem | None:
        return None if self.core is None else self.core.state_problem()

    def retry_after(self) -> float | None:
        if not self._taking_events:
            return DRAINING_RETRY_AFTER
        if self._core.outbox_depth() >= self.settings.server.max_outbox_backlog:
            return BACKLOG_RETRY_AFTER
        return None

    async def reload(self, reason: str = "api") -> ReloadOutcome:
        """Reload rules and templates, one reload at a time.

        Whatever goes wrong while the new set is built (invalid rules, or an error the loader
        did not foresee) is a failed reload: logged, counted, and the old rules keep running.
        StateStoreError (the state could not be written) is raised: nothing was wrong with the
        rules, and another try may succeed.
        """
        async with self._reload_lock:
            try:
                count = await self._core.reload_rules()
            except RulesInvalid as invalid:
                return self._reload_failed(reason, invalid.problems)
            except StateStoreError:
                raise
            except Exception as error:  # a bug in loading: its traceback helps fix it
                return self._reload_failed(reason, [_unexpected_load_error(error)], error)
            metrics.RELOADS.labels("success").inc()
            metrics.LAST_RELOAD_SUCCESS.set(1)
            log.info("rules reloaded", extra={"trigger": reason, "rules": count})
            return ReloadOutcome(rules=count)

    async def _reload_when_possible(self, reason: str) -> None:
        """A reload no caller waits for (SIGHUP, a changed file): while the state refuses
        writes it is tried again every STATE_CHECK_INTERVAL, so that neither the signal nor
        the change is lost, and the file watcher does not die of it. The outage itself is
        logged once, by the core; this says once that the reload waits for it."""
        waiting = False
        while True:
            try:
                await self.reload(reason=reason)
                return
            except StateStoreError as error:
                if not waiting:
                    log.warning(
                        "the rules are not reloaded yet: the state store cannot be written; "
                        "the reload waits until it can",
                        extra={"trigger": reason, "reason": error.reason},
                    )
                    waiting = True
            await self.clock.sleep(STATE_CHECK_INTERVAL)

    def _reload_failed(
        self,
        reason: str,
        problems: Sequence[RuleProblem],
        unexpected: Exception | None = None,
    ) -> ReloadOutcome:
        metrics.RELOADS.labels("failure").inc()
        metrics.LAST_RELOAD_SUCCESS.set(0)
        log.error(
            "reload failed; the previous rules keep running",
            exc_info=unexpected,
            extra={"trigger": reason, "errors": [problem.text for problem in problems]},
        )
        return ReloadOutcome(rules=len(self._core.rules()), problems=problems)

    @property
    def _core(self) -> Core:
        if self.core is None:
            raise RuntimeError("the daemon has not started")
        return self.core

    # --- the process -------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin a graceful shutdown; a second request skips the dispatcher's drain."""
        if self._stop.is_set():
            if not self._force:
                log.warning("second stop signal: leaving pending notifications for next start")
            self._force = True
            self._forced.set()
        self._stop.set()

    async def run(self) -> int:
        """Serve until stopped. Returns the process exit code.

        Nothing is written (the development token, the state) until the config and the rules
        are known good.
        """
        try:
            check_startup_config(self.settings)
            self.core = self.core_factory(self.settings, self.clock)
        except ConfigError as error:
            log.error(str(error))
            return EXIT_CONFIG
        except RulesInvalid as invalid:
            for problem in invalid.problems:
                print(problem.text, file=sys.stderr)
            errors = len(invalid.problems)
            log.error("the rules are invalid; not starting", extra={"errors": errors})
            return EXIT_RULES
        metrics.LAST_RELOAD_SUCCESS.set(1)
        try:
            return await self._serve(api_server_settings(self.settings))
        finally:
            self.core.close()

    async def _serve(self, server_settings: ServerSettings) -> int:
        core = self._core
        try:
            if self.shared_port is None:
                sock = bind(server_settings.host, server_settings.port)
            else:
                sock = bind(server_settings.host, self.shared_port, reuse_port=True)
        except OSError as error:
            log.error(
                f"cannot listen on {server_settings.listen}: {error.strerror or error}",
                extra={"listen": server_settings.listen},
            )
            return EXIT_CONFIG
        self.port = bound_port(sock)
        try:
            hooks = Hooks.build(self.settings, core, self.clock)
        except OSError as error:
            log.error(f"cannot make the action links' secret: {error}")
            return EXIT_CONFIG
        api = Api(core, self, server_settings, self.clock, hooks)
        for note in setup_notes(self.settings):
            log.info(f"{note} (see docs/responding.md)")
        try:
            api.mount("/ui", Console(core, self.settings, server_settings, api.streams, self.clock))
        except OSError as error:
            log.error(f"cannot start the console: {error}")
            return EXIT_CONFIG
        http = HttpServer(
            api,
            sock,
            grace=self.settings.server.shutdown_grace,
            limits=connection_limits(server_settings),
        )
        await http.start()
        delivering = asyncio.create_task(core.deliver(), name="dispatcher")
        self._start_background()
        self._install_signals()
        self.state = "ready"
        self._taking_events = True
        log.info(
            "listening",
            extra={
                "address": f"http://{server_settings.listen.rpartition(':')[0]}:{self.port}",
                "port": self.port,
                "rules": len(core.rules()),
                "dry_run": self.settings.dispatch.dry_run,
            },
        )
        if self.on_ready is not None:
            self.on_ready()
        stopped = asyncio.create_task(self._stop.wait())
        await asyncio.wait([stopped, delivering], return_when=asyncio.FIRST_COMPLETED)
        failed = delivering.done() and not stopped.done()
        if failed:
            stopped.cancel()
            crash = None if delivering.cancelled() else delivering.exception()
            log.error("the dispatcher stopped unexpectedly; shutting down", exc_info=crash)
        api.streams.close()  # streams never end by themselves; clients reconnect elsewhere
        await self._shutdown(http, delivering)
        return EXIT_FAILED if failed else EXIT_OK

    async def _shutdown(self, http: HttpServer, delivering: asyncio.Task[None]) -> None:
        self.state = "draining"
        await self._shutdown_delay()
        self._taking_events = False
        log.info("shutting down: intake stopped, finishing requests in flight")
        await http.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        grace = 0.0 if self._force else self.settings.server.shutdown_grace
        pending_before = self._core.outbox_depth()
        if not delivering.done():
            log.info("draining notifications", extra={"grace_seconds": grace})
            await self._drain(grace)
        with contextlib.suppress(asyncio.CancelledError, Exception):  # logged above if it failed
            await delivering
        left = self._core.outbox_depth()
        log.info(
            "stopped",
            extra={"delivered_while_draining": max(0, pending_before - left), "pending": left},
        )
        self._remove_signals()

    async def _drain(self, grace: float) -> None:
        """The dispatcher's drain, cut short by a second stop request: then it stops at once
        (a drain of 0 s) and what it was waiting to send stays pending."""
        draining = asyncio.ensure_future(self._core.drain(grace))
        forced = asyncio.ensure_future(self._forced.wait())
        await asyncio.wait([draining, forced], return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if draining.done():
            draining.result()
            return
        draining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await draining
        await self._core.drain(0.0)

    async def _shutdown_delay(self) -> None:
        """Keep serving, /readyz answering 503, so load balancers stop sending before intake
        stops; a second stop request ends the wait."""
        delay = self.settings.server.shutdown_delay
        if delay <= 0 or self._force:
            return
        log.info(
            "shutting down: /readyz answers 503; still taking events for the shutdown delay",
            extra={"delay_seconds": delay},
        )
        waits = [
            asyncio.ensure_future(self.clock.sleep(delay)),
            asyncio.ensure_future(self._forced.wait()),
        ]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()

    def _start_background(self) -> None:
        self._spawn(self._sweep_forever(), "sweeper")
        self._spawn(self._check_state_forever(), "state-check")
        self._spawn(self._core.run_timers(), "timers")
        if self.settings.rules.watch:
            self._spawn(
                watch_rules(
                    self.settings.rules.paths,
                    self.settings.rules.templates,
                    lambda changed: self._reload_when_possible("watch"),
                    self._stop,
                    files=[] if self.settings.oncall.path is None else [self.settings.oncall.path],
                ),
                "watcher",
            )

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)  # kept only until it ends: every SIGHUP spawns one
        if not task.cancelled() and task.exception() is not None:
            log.error(f"{task.get_name()} failed", exc_info=task.exception())

    async def _sweep_forever(self) -> None:
        interval = self.settings.state.sweep_interval
        if interval <= 0:
            return
        while True:
            await self.clock.sleep(interval)
            try:
                await self._core.sweep()
            except StateStoreError:
                pass  # the state's outage, logged once by the core; the next sweep tries again
            except Exception:
                log.exception("window sweep failed; will try again")

    async def _check_state_forever(self) -> None:
        """While the state refuses writes, try one every STATE_CHECK_INTERVAL. A database
        server (PostgreSQL) is asked as often whether it answers, all the time: it can go
        away while nothing is written, and a load balancer should hear so from /readyz."""
        server = bool(self.settings.state.url)
        while True:
            await self.clock.sleep(STATE_CHECK_INTERVAL)
            if self._core.state_problem() is None and not server:
                continue
            try:
                await self._core.check_state()
            except StateStoreError:
                pass  # the outage goes on; the core logged its start
            except Exception:
                log.exception("cannot check whether the state takes writes; will try again")

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(signal.SIGTERM, self.request_stop)
            loop.add_signal_handler(signal.SIGINT, self.request_stop)
            loop.add_signal_handler(
                signal.SIGHUP, lambda: self._spawn(self._reload_when_possible("SIGHUP"), "reload")
            )

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)


def _unexpected_load_error(error: Exception) -> RuleProblem:
    """An error the rule loader raised that is not a RuleError, shaped like one."""
    return RuleProblem("", 0, 0, f"the rules could not be loaded: {type(error).__name__}: {error}")


def check_startup_config(settings: Settings) -> None:
    """What `alertd run` refuses to start with, beyond what loading the config checked: a
    rules path that names no rule file or an on-call file that is not there (exit 2, as
    `alertd check` says), and no tokens on an address that is not loopback. Raises
    ConfigError. (A channel table that cannot send is refused by the pipeline, before it
    opens the state.)"""
    for path in settings.rules.paths:
        problem = rule_path_problem(path)
        if problem is not None:
            raise ConfigError(f"{path}: {problem} (from {settings.source} [rules] paths)")
    unreadable = oncall_path_problem(settings)
    if unreadable is not None:
        raise ConfigError(unreadable)
    server = settings.server
    if not (server.ingest_tokens or server.admin_tokens or _is_loopback(server.host)):
        raise ConfigError(
            f"{settings.source}: [server] listen = {server.listen!r} is not loopback, and no "
            "ingest_tokens or admin_tokens are configured: set ALERTD_INGEST_TOKEN and "
            "ALERTD_ADMIN_TOKEN (or the tokens in the file)"
        )


def api_server_settings(settings: Settings) -> ServerSettings:
    """The server settings with a development token when none is configured.

    Without tokens, a daemon on loopback gets one random token for both roles, kept in
    `<state folder>/dev-token` so it stays the same across restarts, and printed at start
    (anywhere else, `check_startup_config` has refused to run without tokens).
    """
    server = settings.server
    if server.ingest_tokens or server.admin_tokens:
        if not server.admin_tokens:
            log.warning("no admin token configured: admin endpoints refuse every call")
        return server
    path = settings.state.path.parent / DEV_TOKEN_FILE
    token = _dev_token(path)
    logs.redact([token])
    print(
        f"alertd: no tokens configured; development token (ingest and admin): {token}\n"
        f"alertd: it is kept in {path}; configure real tokens before exposing alertd",
        file=sys.stderr,
        flush=True,
    )
    return replace(server, ingest_tokens=(token,), admin_tokens=(token,))


def _dev_token(path: Path) -> str:
    with contextlib.suppress(OSError):
        token = path.read_text(encoding="utf-8").strip()
        if token:
            path.chmod(0o600)  # a file from an older alertd or a copy may be readable by all
            return token
    token = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # touch keeps the mode of a file that exists
    path.write_text(token + "\n", encoding="utf-8")
    return token


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
