"""The HTTP API: routes, authentication, request limits and the JSON answers of DESIGN.md.

The app knows nothing of rules, stores or channels: it asks a `Core` (alertd.core: the pipeline
in production, a fake in tests) for data, which it shapes into JSON with alertd.server.views,
and a `Control` (the daemon) about readiness, load shedding and reloads; so the whole HTTP
contract is testable on its own. Every route is
listed in `ROUTES` below and described in openapi.yaml; a test keeps the two equal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import resources
from typing import Any, Protocol

from alertd import jsonutil, metrics, suggest, yamlutil
from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ServerSettings
from alertd.core import Core, ReloadOutcome
from alertd.engine.errors import WHY, InvalidBatch, InvalidEvent, StateStoreError
from alertd.engine.state import ALERT_STATUSES, AlertQuery
from alertd.incidents import Action, ActionRefused
from alertd.model import PRIORITIES
from alertd.respond.answers import HookAnswer
from alertd.respond.hooks import Hooks
from alertd.server.asgi import (
    BodyBudget,
    ClientGone,
    HttpError,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    json_response,
)
from alertd.server.auth import Role, TokenAuth
from alertd.server.decode import (
    Batch,
    Limits,
    check_limits,
    decode_events,
    decompress,
    invalid_batch,
    json_problem,
    media_type,
)
from alertd.server.stream import Streams
from alertd.server.views import (
    acted_view,
    alert_detail_view,
    alert_view,
    invalid_event_details,
    problem_view,
    rule_view,
    silence_expired_view,
    silence_view,
    state_problem_view,
    what_if_view,
)
from alertd.signing import signature_error
from alertd.silences import SILENCE_STATES, InvalidSilence, SilenceRefused
from alertd.state_health import StateProblem

log = logging.getLogger("alertd.server")

DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_ADMIN_BODY = 64 * 1024
MAX_HOOK_BODY = 64 * 1024  # a provider's webhook: a form of a few fields
STORE_RETRY_AFTER = 1.0  # seconds: the state was locked; the next try may well succeed
OUTAGE_RETRY_AFTER = 5.0  # seconds: the state cannot be written (a full disk ...) for a while
# A page's `next` is the id (a ULID) of its last alert. 26 Crockford base32 digits, and the first
# at most 7: a ULID is 128 bits, so `ZZZ...` is not one (it would sort after every id).
CURSOR = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
EPOCH_SECONDS = re.compile(r"[0-9]{1,11}(\.[0-9]{1,9})?")  # ASCII digits only, unlike str.isdigit
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIMIT = re.compile(r"[0-9]{1,4}")


class Control(Protocol):
    """What the API asks of the process that runs it (the daemon); the rest it asks the core."""

    def status(self) -> str:
        """`ready` when events are being taken; otherwise `starting`, `draining`, or
        `unavailable` (the state cannot be written: `state_problem` says why)."""
        ...

    def state_problem(self) -> StateProblem | None:
        """Why the state cannot be written now, or None."""
        ...

    def retry_after(self) -> float | None:
        """Seconds a client should wait when ingestion is shedding load, else None."""
        ...

    async def reload(self) -> ReloadOutcome:
        """Reload the rules and templates; a refused set keeps the running one."""
        ...


Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # `{name}` marks a path parameter
    role: Role | None  # None: no token needed
    handler: Handler = field(compare=False)


class Api:
    """The ASGI application."""

    def __init__(
        self,
        core: Core,
        control: Control,
        settings: ServerSettings,
        clock: Clock = SYSTEM_CLOCK,
        hooks: Hooks | None = None,
    ) -> None:
        self.core = core
        self.hooks = hooks
        self.control = control
        self.settings = settings
        self.clock = clock
        self.auth = TokenAuth(settings.ingest_tokens, settings.admin_tokens)
        self.limits = Limits(
            max_body_bytes=settings.max_body_bytes,
            max_batch_events=settings.max_batch_events,
            max_json_depth=settings.max_json_depth,
            max_string_length=settings.max_string_length,
        )
        self.inflight = 0  # POST /v1/events with their body read, until answered
        self.bodies = BodyBudget(settings.max_reading_bytes)
        self.streams = Streams(core, clock)
        self._mounts: list[tuple[str, Callable[[Scope, Receive, Send], Awaitable[None]]]] = []
        self.routes: tuple[Route, ...] = (
            Route("POST", "/v1/events", Role.INGEST, self.post_events),
            Route("GET", "/v1/alerts", Role.ADMIN, self.get_alerts),
            Route("GET", "/v1/alerts/stream", Role.ADMIN, self.get_alert_stream),
            Route("GET", "/v1/alerts/{id}", Role.ADMIN, self.get_alert),
            Route("POST", "/v1/alerts/{id}/ack", Role.ADMIN, self.post_ack),
            Route("POST", "/v1/alerts/{id}/unack", Role.ADMIN, self.post_unack),
            Route("POST", "/v1/alerts/{id}/resolve", Role.ADMIN, self.post_resolve),
            Route("POST", "/v1/alerts/{id}/escalate", Role.ADMIN, self.post_escalate),
            Route("POST", "/v1/hooks/twilio", None, self.post_twilio),
            Route("POST", "/v1/hooks/slack", None, self.post_slack),
            Route("GET", "/v1/act/{token}", None, self.get_action_link),
            Route("POST", "/v1/act/{token}", None, self.post_action_link),
            Route("POST", "/v1/silences", Role.ADMIN, self.post_silence),
            Route("GET", "/v1/silences", Role.ADMIN, self.get_silences),
            Route("GET", "/v1/silences/{id}", Role.ADMIN, self.get_silence),
            Route("DELETE", "/v1/silences/{id}", Role.ADMIN, self.delete_silence),
            Route("GET", "/v1/rules", Role.ADMIN, self.get_rules),
            Route("POST", "/v1/explain", Role.ADMIN, self.post_explain),
            Route("POST", "/v1/reload", Role.ADMIN, self.post_reload),
            Route("GET", "/healthz", None, self.get_healthz),
            Route("GET", "/readyz", None, self.get_readyz),
            Route("GET", "/metrics", None, self.get_metrics),
            Route("GET", "/openapi.json", None, self.get_openapi),
        )
        self._router = _Router(self.routes)

    def mount(self, prefix: str, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        """Serve `prefix` and every path under it with another ASGI app (the console)."""
        self._mounts.append((prefix, app))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is the daemon's job; websockets are not served
            return
        for prefix, app in self._mounts:
            if scope["path"] == prefix or scope["path"].startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        request = Request.from_scope(scope, receive, self.settings.body_timeout)
        started = self.clock.monotonic()
        route_label = "unmatched"
        try:
            route = self._router.match(request)
            route_label = route.path
            if route.role is not None:
                self._authorize(request, route.role)
            try:
                response = await route.handler(request)
            except StateStoreError as error:  # logged once per outage, where it failed
                raise _unavailable(
                    f"alertd cannot use its state right now ({WHY[error.reason]}); retry later",
                    STORE_RETRY_AFTER if error.reason == "busy" else OUTAGE_RETRY_AFTER,
                    reason="unavailable",
                ) from None
        except HttpError as error:
            response = error.response()
            if route_label == "/v1/events":
                _count_rejection(error)
        except ClientGone:
            return
        except Exception:
            log.exception("internal error", extra={"method": request.method, "path": route_label})
            response = HttpError(500, "internal error; see the daemon's log").response()
        try:
            if not await request.discard_rest():
                response.headers += (("Connection", "close"),)
        except ClientGone:
            return
        await response.send(send)
        metrics.observe_request(route_label, response.status, self.clock.monotonic() - started)

    def _authorize(self, request: Request, needed: Role) -> None:
        role = self.auth.role(request.headers.get("authorization"))
        if role is None:
            raise HttpError(
                401,
                "missing or invalid Bearer token",
                headers=[("WWW-Authenticate", 'Bearer realm="alertd"')],
                reason="unauthorized",
            )
        if needed is Role.ADMIN and role is not Role.ADMIN:
            raise HttpError(403, "this call needs an admin token")

    # --- ingestion ---------------------------------------------------------------------------

    async def post_events(self, request: Request) -> Response:
        """A batch of events: 202 once recorded. Its body is read before it takes one of the
        `max_inflight_requests` slots (a body still arriving costs its connection and its bytes,
        which `bodies` bounds, not a slot). Whether to shed load is asked before the body is
        read (a request let in then is finished, even if a shutdown begins meanwhile), the
        slots are counted before and after."""
        self._shed_load(self.control.retry_after())
        limits = self.limits
        kind = media_type(request.headers.get("content-type"))
        body = await request.read_body(limits.max_body_bytes, self.bodies)
        self._shed_load(None)
        self.inflight += 1
        try:
            if self.settings.ingest_hmac_secret:
                problem = signature_error(
                    self.settings.ingest_hmac_secret, request.headers, body, self.clock.now()
                )
                if problem:
                    raise HttpError(401, problem, reason="bad_signature")
            body = decompress(body, request.headers.get("content-encoding"), limits.max_body_bytes)
            batch = decode_events(body, kind, limits)
            if batch.errors:
                raise self._refusal(batch, self.clock.now())
            events = batch.events
            try:
                alert_ids = await self.core.ingest(events, self.clock.now())
            except InvalidBatch as invalid:
                located = batch.located(invalid_event_details(invalid.errors))
                raise invalid_batch(located, len(events), "invalid_event") from None
        finally:
            self.inflight -= 1
        metrics.EVENTS_RECEIVED.inc(len(events))
        return json_response(202, {"accepted": len(events), "alerts": alert_ids})

    def _shed_load(self, retry_after: float | None) -> None:
        """503 with Retry-After when the daemon sheds load (`retry_after`), or every in-flight
        slot is taken."""
        if retry_after is None and self.inflight >= self.settings.max_inflight_requests:
            retry_after = 1.0
        if retry_after is not None:
            raise _unavailable("alertd is shedding load; retry later", retry_after)

    def _refusal(self, batch: Batch, received_at: float) -> HttpError:
        """The 400 for a batch with items that cannot be decoded, listing the items the core
        would refuse among the rest too."""
        bad = {error["index"] for error in batch.errors}
        rest = [index for index in range(len(batch.events)) if index not in bad]
        found = self.core.invalid_events([batch.events[i] for i in rest], received_at)
        errors = batch.errors + batch.located(
            invalid_event_details((rest[index], error) for index, error in found)
        )
        errors.sort(key=lambda error: int(error["index"]))
        return invalid_batch(
            errors, len(batch.events), "malformed" if batch.malformed else "invalid_event"
        )

    # --- alerts and rules --------------------------------------------------------------------

    async def get_alerts(self, request: Request) -> Response:
        page = await self.core.alerts(_alert_query(request.query))
        alerts = [alert_view(record) for record in page.records]
        return json_response(200, {"alerts": alerts, "next": page.next_cursor})

    async def get_alert(self, request: Request) -> Response:
        detail = await self.core.alert(request.path_params["id"])
        if detail is None:
            raise HttpError(404, "no such alert")
        return json_response(200, alert_detail_view(detail))

    async def post_ack(self, request: Request) -> Response:
        return await self._act(request, "ack")

    async def post_unack(self, request: Request) -> Response:
        return await self._act(request, "unack")

    async def post_resolve(self, request: Request) -> Response:
        return await self._act(request, "resolve")

    async def post_escalate(self, request: Request) -> Response:
        return await self._act(request, "escalate")

    async def _act(self, request: Request, action: Action) -> Response:
        """200 with the alert and whether the action changed it (a repeat does not); 404 for
        no such alert; 409 when the action does not apply to it as it is."""
        body = await request.read_body(MAX_ADMIN_BODY)
        if body.strip():
            _require_json(request.headers.get("content-type"))
        by, via = _actor(body)
        alert_id = request.path_params["id"]
        try:
            acted = await self.core.act(alert_id, action, by, via)
        except ActionRefused as refused:
            raise HttpError(409, f"alert {alert_id}: {refused.message}") from None
        if acted is None:
            raise HttpError(404, "no such alert")
        return json_response(200, acted_view(acted))

    # --- answering a page where it lands (alertd.respond) -------------------------------------

    async def post_twilio(self, request: Request) -> Response:
        """A reply to an alert SMS; nothing is done without Twilio's signature."""
        body = await request.read_body(MAX_HOOK_BODY)
        if self.hooks is None:
            raise HttpError(403, "replies by SMS are not set up here")
        query = request.query_string.decode("latin-1")
        return _hook_response(await self.hooks.sms.answer(body, request.headers, query))

    async def post_slack(self, request: Request) -> Response:
        """A click on a Slack message's button; nothing is done without Slack's signature."""
        body = await request.read_body(MAX_HOOK_BODY)
        if self.hooks is None:
            raise HttpError(401, "Slack buttons are not set up here")
        return _hook_response(await self.hooks.slack.answer(body, request.headers))

    async def get_action_link(self, request: Request) -> Response:
        """An email's Acknowledge or Resolve link: a page with a button; changes nothing."""
        if self.hooks is None:
            raise HttpError(403, "action links are not set up here")
        return _hook_response(await self.hooks.links.show(request.path_params["token"]))

    async def post_action_link(self, request: Request) -> Response:
        """The button of that page: does what the link says."""
        await request.read_body(MAX_HOOK_BODY)
        if self.hooks is None:
            raise HttpError(403, "action links are not set up here")
        return _hook_response(await self.hooks.links.act(request.path_params["token"]))

    async def get_alert_stream(self, request: Request) -> Response:
        stream = self.streams.answer(request.headers, request.query)
        stream.receive = request.receive
        return stream

    # --- silences ----------------------------------------------------------------------------

    async def post_silence(self, request: Request) -> Response:
        """201 {"id"} once the silence is stored (it silences from then on); 400 with every
        problem in `details` ({"field", "error"}), storing nothing."""
        body = await request.read_body(MAX_ADMIN_BODY)
        _require_json(request.headers.get("content-type"), SILENCE_EXAMPLE)
        try:
            data = jsonutil.loads(body)
        except jsonutil.JSONDecodeError as exc:
            raise HttpError(400, json_problem(exc, body)) from None
        if not isinstance(data, dict):
            raise HttpError(400, f"expected a JSON object: {SILENCE_EXAMPLE}")
        try:
            listed = await self.core.add_silence(data)
        except InvalidSilence as invalid:
            raise HttpError(
                400,
                "the silence is invalid; nothing was stored",
                details=[{"field": p.field, "error": p.error} for p in invalid.problems],
            ) from None
        silence_id = listed.silence.id
        return json_response(201, {"id": silence_id}, [("Location", f"/v1/silences/{silence_id}")])

    async def get_silences(self, request: Request) -> Response:
        query = request.query
        _refuse_unknown("query parameter", query, ("state",))
        given = _one(query, "state")
        state = next((state for state in SILENCE_STATES if state == given), None)
        if given is not None and state is None:
            raise _bad_query("state", f"one of {', '.join(SILENCE_STATES)}")
        listed = await self.core.silences_listed(state)
        return json_response(200, {"silences": [silence_view(item) for item in listed]})

    async def get_silence(self, request: Request) -> Response:
        listed = await self.core.silence(request.path_params["id"])
        if listed is None:
            raise HttpError(404, "no such silence")
        return json_response(200, silence_view(listed))

    async def delete_silence(self, request: Request) -> Response:
        """Expire the silence: 200 with it as it is now and whether that changed it."""
        silence_id = request.path_params["id"]
        try:
            expired = await self.core.expire_silence(silence_id)
        except SilenceRefused as refused:
            raise HttpError(409, str(refused)) from None
        if expired is None:
            raise HttpError(404, "no such silence")
        return json_response(200, silence_expired_view(expired))

    async def get_rules(self, request: Request) -> Response:
        return json_response(200, {"rules": [rule_view(rule) for rule in self.core.rules()]})

    async def post_explain(self, request: Request) -> Response:
        """What one event would do now: every rule of its scope, against the running rules and
        their live windows, and why it would fire or not. Changes nothing."""
        _require_json(request.headers.get("content-type"), "one event, a JSON object")
        body = await request.read_body(self.limits.max_body_bytes)
        try:
            event = jsonutil.loads(body)
        except jsonutil.JSONDecodeError as exc:
            raise HttpError(400, json_problem(exc, body)) from None
        if not isinstance(event, dict):
            raise HttpError(400, "expected one event: a JSON object")
        too_big = check_limits([event], body, self.limits)
        if too_big:
            raise HttpError(400, "the event is invalid", details=too_big)
        try:
            asked = await self.core.explain(event, self.clock.now())
        except InvalidEvent as invalid:
            details = invalid_event_details([(0, invalid)])
            raise HttpError(400, "the event is invalid", details=details) from None
        return json_response(200, what_if_view(asked))

    async def post_reload(self, request: Request) -> Response:
        outcome = await self.control.reload()
        if not outcome.ok:
            raise HttpError(
                422,
                "the new rules are invalid; the previous rules keep running",
                details=[problem_view(problem) for problem in outcome.problems],
            )
        return json_response(200, {"status": "reloaded", "rules": outcome.rules})

    # --- operations --------------------------------------------------------------------------

    async def get_healthz(self, request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def get_readyz(self, request: Request) -> Response:
        status = self.control.status()
        body: dict[str, Any] = {"status": status}
        problem = self.control.state_problem()
        if problem is not None:  # while draining too: it is why events cannot be taken
            body["state"] = state_problem_view(problem)
        return json_response(200 if status == "ready" else 503, body)

    async def get_metrics(self, request: Request) -> Response:
        return Response(200, metrics.exposition(), metrics.CONTENT_TYPE)

    async def get_openapi(self, request: Request) -> Response:
        return Response(200, self.openapi_json)

    @cached_property
    def openapi_json(self) -> bytes:
        return jsonutil.dumps(openapi_spec())


def _hook_response(answer: HookAnswer) -> Response:
    return Response(answer.status, answer.body, answer.content_type, answer.headers)


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI description shipped beside this module."""
    text = resources.files("alertd.server").joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yamlutil.load(text)
    return spec


class _Router:
    """Exact paths by dictionary; `{param}` paths by segment comparison (there are only two)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: list[tuple[list[str], dict[str, Route]]] = []
        for route in routes:
            if "{" in route.path:
                segments = route.path.strip("/").split("/")
                for known, methods in self._dynamic:
                    if known == segments:
                        methods[route.method] = route
                        break
                else:
                    self._dynamic.append((segments, {route.method: route}))
            else:
                self._static.setdefault(route.path, {})[route.method] = route

    def match(self, request: Request) -> Route:
        methods = self._static.get(request.path)
        if methods is None:
            methods = self._match_dynamic(request)
        route = methods.get(request.method)
        if route is None:
            allow = ", ".join(sorted(methods))
            raise HttpError(405, f"method not allowed; use {allow}", headers=[("Allow", allow)])
        return route

    def _match_dynamic(self, request: Request) -> dict[str, Route]:
        parts = request.path.strip("/").split("/")
        for segments, methods in self._dynamic:
            if len(segments) != len(parts):
                continue
            params: dict[str, str] = {}
            for pattern, part in zip(segments, parts, strict=True):
                if pattern.startswith("{"):
                    if not part:
                        break
                    params[pattern[1:-1]] = part
                elif pattern != part:
                    break
            else:
                request.path_params = params
                return methods
        raise HttpError(404, "no such endpoint; see GET /openapi.json")


ALERT_QUERY_PARAMETERS = ("rule", "priority", "status", "since", "limit", "cursor")


def _alert_query(query: Mapping[str, list[str]]) -> AlertQuery:
    _refuse_unknown("query parameter", query, ALERT_QUERY_PARAMETERS)

    def one(name: str) -> str | None:
        return _one(query, name)

    priority = one("priority")
    if priority is not None and priority not in PRIORITIES:
        raise _bad_query("priority", f"one of {', '.join(PRIORITIES)}")
    status = one("status")
    if status is not None and status not in ALERT_STATUSES:
        raise _bad_query("status", f"one of {', '.join(ALERT_STATUSES)}")
    limit_text = one("limit")
    limit = DEFAULT_PAGE
    if limit_text is not None:
        if not LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_PAGE:
            raise _bad_query("limit", f"a whole number from 1 to {MAX_PAGE}")
        limit = int(limit_text)
    cursor = one("cursor")
    if cursor is not None and not CURSOR.fullmatch(cursor):
        raise _bad_query("cursor", "the `next` of a previous page")
    return AlertQuery(
        rule=one("rule"),
        priority=priority,
        status=status,
        since=_time_param("since", one("since")),
        limit=limit,
        cursor=cursor,
    )


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    """The parameter's value; given twice or empty, it is refused rather than guessed at
    (`rule=a&rule=b` is not "a or b", `rule=` is not "any rule")."""
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise _bad_query(name, "one value, given once")
    if not values[0]:
        raise _bad_query(name, "a value (leave the parameter out for no filter)")
    return values[0]


def _time_param(name: str, text: str | None) -> float | None:
    """Epoch seconds (at most 11 digits: a 13-digit millisecond value is refused, not read as a
    date in the year 50,000) or ISO-8601 with a zone; a time before 1970 means from the start."""
    if text is None:
        return None
    if EPOCH_SECONDS.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_query(name, "ISO-8601 (2026-01-01T10:00:00Z) or epoch seconds") from None
    if moment.tzinfo is None:
        raise _bad_query(name, "a time with a zone, such as 2026-01-01T10:00:00Z")
    # Subtracting keeps the zone's offset as a difference, so year 1 at +14:00 cannot overflow.
    return max(0.0, (moment - EPOCH).total_seconds())


ACTOR_EXAMPLE = '{"by": "<who handled it>"}'
SILENCE_EXAMPLE = (
    '{"matchers": [{"name": "vehicle_id", "value": "v-9"}], "ends_at": "2026-12-01T18:00:00Z", '
    '"created_by": "<who>", "comment": "<why>"}'
)


def _require_json(content_type: str | None, example: str = ACTOR_EXAMPLE) -> None:
    kind = (content_type or "").partition(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise HttpError(
            415, f"unsupported Content-Type {kind or '(none)'!r}: send application/json, {example}"
        )


API_VIAS = ("api", "cli")
"""What a caller of the API may say it is: itself, or `alertd` on the command line."""


def _actor(body: bytes) -> tuple[str, str]:
    """Who acts (`by`; "" for no one, shown as null) and through what (`via`, default api)."""
    if not body.strip():
        return "", "api"
    try:
        data = jsonutil.loads(body)
    except jsonutil.JSONDecodeError as exc:
        raise HttpError(400, json_problem(exc, body)) from None
    if not isinstance(data, dict) or not isinstance(data.get("by", ""), str):
        raise HttpError(400, f"expected {ACTOR_EXAMPLE}")
    _refuse_unknown("field", data, ("by", "via"))
    via = data.get("via", "api")
    if via not in API_VIAS:
        raise HttpError(400, f"field 'via': expected one of {', '.join(API_VIAS)}, got {via!r}")
    by: str = data.get("by", "")
    return by, via


def _refuse_unknown(what: str, given: Iterable[str], known: Sequence[str]) -> None:
    """HttpError 400 naming the first name in `given` that is not `known`: a typo such as
    `?rulez=` or `{"who": ...}` would otherwise be ignored and answered as if it were absent."""
    for name in given:
        if name not in known:
            raise HttpError(
                400,
                f"unknown {what} {name!r}{suggest.aside(name, known)}; known: {', '.join(known)}",
            )


def _bad_query(name: str, expected: str) -> HttpError:
    return HttpError(400, f"query parameter {name!r}: expected {expected}")


def _unavailable(
    message: str, retry_after: float, reason: metrics.Rejection = "overloaded"
) -> HttpError:
    seconds = max(1, round(retry_after))
    return HttpError(503, message, headers=[("Retry-After", str(seconds))], reason=reason)


def _count_rejection(error: HttpError) -> None:
    """Count a refused POST /v1/events by its reason, and log it with the items at fault."""
    if error.reason is None:  # not a refusal of the events (405 for a GET, ...)
        return
    metrics.INGEST_REJECTIONS.labels(error.reason).inc()
    if error.events:
        metrics.EVENTS_REJECTED.labels(error.reason).inc(error.events)
    # Shedding load is counted, not logged: a line per refused request would add to the load.
    level = logging.DEBUG if error.status == 503 else logging.INFO
    extra: dict[str, Any] = {"status": error.status, "reason": error.reason, "error": error.message}
    if error.details:
        extra["details"] = list(error.details)
    log.log(level, "events rejected", extra=extra)
