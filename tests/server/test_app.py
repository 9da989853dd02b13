"""The HTTP contract of DESIGN.md, over real TCP, against a fake backend."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from alertd import metrics
from alertd.clock import FakeClock
from alertd.engine.state import AlertQuery
from alertd.server.asgi import DISCARD_LIMIT
from alertd.signing import sign

from ..test_signing import KNOWN_BODY, KNOWN_SECRET, KNOWN_SIGNATURE, KNOWN_TIMESTAMP
from ..waiting import until
from .conftest import ADMIN, ALERT, INGEST, INGEST_TOKEN, Served, ServeFactory

REPO = Path(__file__).resolve().parents[2]
EVENT = {"type": "safety_event", "vehicle_id": "v1", "severity": "critical"}


def ndjson(*events: object) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


# --- POST /v1/events: the three body forms ------------------------------------------------------


async def test_one_object_is_a_batch_of_one(served: Served) -> None:
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "alerts": []}
    assert served.backend.batches == [[EVENT]]


async def test_an_array_is_evaluated_as_one_batch_and_fired_alert_ids_come_back(
    served: Served,
) -> None:
    events = [EVENT, {**EVENT, "fire": True}, {**EVENT, "vehicle_id": "v2"}]
    response = await served.client.post("/v1/events", json=events, headers=INGEST)
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "alerts": ["alert-1"]}
    assert served.backend.batches == [events]


async def test_ndjson_skips_blank_lines(served: Served) -> None:
    body = ndjson(EVENT, {**EVENT, "vehicle_id": "v2"}) + b"\n  \n" + ndjson({"type": "trip"})
    response = await served.client.post(
        "/v1/events",
        content=body,
        headers={**INGEST, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    assert [e.get("vehicle_id") for e in served.backend.batches[0]] == ["v1", "v2", None]


async def test_gzip_bodies_are_accepted(served: Served) -> None:
    response = await served.client.post(
        "/v1/events",
        content=gzip.compress(orjson.dumps([EVENT, EVENT])),
        headers={**INGEST, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202
    assert response.json()["accepted"] == 2


async def test_an_empty_array_accepts_nothing_and_is_not_an_error(served: Served) -> None:
    response = await served.client.post("/v1/events", json=[], headers=INGEST)
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "alerts": []}


# --- all or nothing: 400 with per-item details ------------------------------------------------


async def test_malformed_json_is_rejected_whole(served: Served) -> None:
    response = await served.client.post(
        "/v1/events",
        content=b'[{"type": "a"}, {"type": ',
        headers={**INGEST, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")
    assert served.backend.batches == []


async def test_one_bad_item_rejects_the_batch_and_names_its_index(served: Served) -> None:
    response = await served.client.post(
        "/v1/events", json=[EVENT, EVENT, "not an event", EVENT, 7], headers=INGEST
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "2 of 5 events are invalid; nothing was accepted",
        "details": [
            {"index": 2, "error": "expected a JSON object, got a string"},
            {"index": 4, "error": "expected a JSON object, got a number"},
        ],
    }
    assert served.backend.batches == []


async def test_ndjson_errors_name_the_event_index_and_the_line(served: Served) -> None:
    body = ndjson(EVENT) + b"\n" + b"{oops\n" + ndjson([1, 2])
    response = await served.client.post(
        "/v1/events", content=body, headers={**INGEST, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert [(d["index"], d["line"]) for d in details] == [(1, 3), (2, 4)]
    assert details[0]["error"].startswith("malformed JSON")
    assert details[1]["error"] == "expected a JSON object, got an array"
    assert served.backend.batches == []


async def test_events_the_engine_cannot_evaluate_reject_the_batch(served: Served) -> None:
    events = [EVENT, {**EVENT, "timestamp": "bad"}]
    response = await served.client.post("/v1/events", json=events, headers=INGEST)
    assert response.status_code == 400
    assert response.json()["details"] == [{"index": 1, "error": "timestamp: cannot parse 'bad'"}]
    assert served.backend.batches == []


async def test_undecodable_items_and_items_the_backend_refuses_are_all_listed(
    served: Served,
) -> None:
    body = ndjson({**EVENT, "timestamp": "bad"}) + b"{oops\n" + ndjson(EVENT, 7)
    body += ndjson({**EVENT, "timestamp": "bad"})
    response = await served.client.post(
        "/v1/events", content=body, headers={**INGEST, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "4 of 5 events are invalid; nothing was accepted"
    assert [(d["index"], d["line"], d["error"][:14]) for d in answer["details"]] == [
        (0, 1, "timestamp: can"),
        (1, 2, "malformed JSON"),
        (3, 4, "expected a JSO"),
        (4, 5, "timestamp: can"),
    ]
    assert served.backend.batches == []


async def test_ndjson_events_the_engine_cannot_evaluate_are_named_by_their_line(
    served: Served,
) -> None:
    body = ndjson(EVENT) + b"\n\n" + ndjson({**EVENT, "timestamp": "bad"})
    response = await served.client.post(
        "/v1/events", content=body, headers={**INGEST, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"index": 1, "line": 4, "error": "timestamp: cannot parse 'bad'"}
    ]
    assert served.backend.batches == []


async def test_a_top_level_scalar_is_not_a_batch(served: Served) -> None:
    response = await served.client.post("/v1/events", json="hello", headers=INGEST)
    assert response.status_code == 400
    assert response.json()["error"] == "expected a JSON object or an array of objects"


# --- authentication -----------------------------------------------------------------------------


async def test_no_token_is_401_with_a_bearer_challenge(served: Served) -> None:
    response = await served.client.post("/v1/events", json=EVENT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert served.backend.batches == []


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {INGEST_TOKEN}x", INGEST_TOKEN, f"Basic {INGEST_TOKEN}", "Bearer"],
)
async def test_a_wrong_token_is_401_and_is_never_echoed(
    served: Served, authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="alertd")
    response = await served.client.post(
        "/v1/events", json=EVENT, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert INGEST_TOKEN not in response.text
    assert INGEST_TOKEN not in caplog.text


async def test_an_ingest_token_cannot_call_admin_endpoints(served: Served) -> None:
    for method, path in [
        ("GET", "/v1/alerts"),
        ("GET", f"/v1/alerts/{ALERT['id']}"),
        ("POST", f"/v1/alerts/{ALERT['id']}/ack"),
        ("POST", f"/v1/alerts/{ALERT['id']}/unack"),
        ("POST", f"/v1/alerts/{ALERT['id']}/resolve"),
        ("POST", f"/v1/alerts/{ALERT['id']}/escalate"),
        ("GET", "/v1/rules"),
        ("POST", "/v1/reload"),
    ]:
        response = await served.client.request(method, path, headers=INGEST)
        assert response.status_code == 403, path
        assert response.json() == {"error": "this call needs an admin token", "details": []}
    assert served.backend.acts == []


async def test_an_admin_token_may_also_ingest(served: Served) -> None:
    response = await served.client.post("/v1/events", json=EVENT, headers=ADMIN)
    assert response.status_code == 202


async def test_operational_endpoints_need_no_token(served: Served) -> None:
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"]:
        assert (await served.client.get(path)).status_code == 200, path


# --- signed ingestion ---------------------------------------------------------------------------


SECRET = "upstream-signing-secret"


def signed(body: bytes, timestamp: float, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(timestamp))
    return {
        **INGEST,
        "Content-Type": "application/json",
        "X-Alertd-Timestamp": stamp,
        "X-Alertd-Signature": sign(secret, stamp, body),
    }


async def test_signed_ingestion_accepts_a_valid_signature(serve: ServeFactory) -> None:
    async with serve(ingest_hmac_secret=SECRET) as served:
        body = orjson.dumps(EVENT)
        now = served.api.clock.now()
        response = await served.client.post("/v1/events", content=body, headers=signed(body, now))
        assert response.status_code == 202


async def test_signed_ingestion_accepts_a_signature_computed_outside_alertd(
    serve: ServeFactory,
) -> None:
    """The upstream's side of the scheme, as the README states it, with a value from OpenSSL."""
    async with serve(clock=FakeClock(float(KNOWN_TIMESTAMP)), ingest_hmac_secret=KNOWN_SECRET) as s:
        headers = {**INGEST, "Content-Type": "application/json"}
        headers["X-Alertd-Timestamp"] = KNOWN_TIMESTAMP
        headers["X-Alertd-Signature"] = KNOWN_SIGNATURE
        response = await s.client.post("/v1/events", content=KNOWN_BODY, headers=headers)
        assert response.status_code == 202
        headers["X-Alertd-Signature"] = KNOWN_SIGNATURE[:-1] + "0"
        response = await s.client.post("/v1/events", content=KNOWN_BODY, headers=headers)
        assert response.status_code == 401
        assert s.backend.batches == [[{"type": "breakdown", "vehicle_id": "v-7"}]]


async def test_signed_ingestion_refuses_missing_wrong_and_stale_signatures(
    serve: ServeFactory,
) -> None:
    async with serve(ingest_hmac_secret=SECRET) as served:
        body = orjson.dumps(EVENT)
        now = served.api.clock.now()
        cases = {
            "unsigned": {**INGEST, "Content-Type": "application/json"},
            "wrong secret": signed(body, now, secret="guess"),
            "stale": signed(body, now - 3600),
            "other body": signed(b"{}", now),
        }
        before = rejected("bad_signature")
        for name, headers in cases.items():
            response = await served.client.post("/v1/events", content=body, headers=headers)
            assert response.status_code == 401, name
            assert SECRET not in response.text
        assert served.backend.batches == []
        assert rejected("bad_signature")[0] - before[0] == len(cases)


# --- limits -------------------------------------------------------------------------------------


async def test_a_body_over_the_size_limit_is_413(serve: ServeFactory) -> None:
    async with serve(max_body_bytes=1000) as served:
        response = await served.client.post("/v1/events", json=[EVENT] * 100, headers=INGEST)
        assert response.status_code == 413
        assert response.json() == {"error": "request body exceeds 1000 bytes", "details": []}
        after = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
        assert after.status_code == 202
        assert served.backend.batches == [[EVENT]]


async def raw_exchange(served: Served, head: bytes, body: bytes = b"") -> bytes:
    """Send a request as bytes, all of it, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection(
        served.client.base_url.host, served.client.base_url.port
    )
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


async def test_refusals_before_the_body_is_read_reach_a_client_that_closes(
    serve: ServeFactory,
) -> None:
    """A refusal decided from the headers alone (no token, too long) waits for the body, as a
    client that sends `Connection: close` and its whole body before reading would otherwise be
    reset by the server closing on unread data, and lose the answer."""
    body = b" " * (8 * 1024 * 1024)
    async with serve(max_body_bytes=1000) as served:
        for token, status in [("wrong", 401), (INGEST_TOKEN, 413)]:
            head = (
                f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            answer = await raw_exchange(served, head, body)
            assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:100]


async def test_a_client_waiting_for_100_continue_is_refused_without_sending_its_body(
    serve: ServeFactory,
) -> None:
    async with serve(max_body_bytes=1000) as served:
        head = (
            "POST /v1/events HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {INGEST_TOKEN}\r\nContent-Type: application/json\r\n"
            "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"
        ).encode()
        answer = await raw_exchange(served, head)  # no body: it is refused, and the server closes
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
        assert b"100 Continue" not in answer
        assert b"connection: close" in answer.lower()


async def test_a_body_declared_too_big_to_be_worth_reading_is_refused_at_once(
    serve: ServeFactory,
) -> None:
    async with serve(max_body_bytes=1000) as served:
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {DISCARD_LIMIT + 1}\r\n\r\n"
        ).encode()
        answer = await raw_exchange(served, head, b"[")  # the server closes without the rest
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
        assert b"connection: close" in answer.lower()


async def test_a_body_that_does_not_arrive_in_time_is_408(serve: ServeFactory) -> None:
    async with serve(body_timeout=0.5) as served:
        before = rejected("timeout")
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST_TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        answer = await raw_exchange(served, head, b'[{"type": ')  # and nothing more
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
        assert b"connection: close" in answer.lower()
        assert b"did not arrive within 0.5 s ([server] body_timeout)" in answer
        assert rejected("timeout")[0] - before[0] == 1
        assert served.backend.batches == []


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(
    serve: ServeFactory,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(200):
            yield orjson.dumps(EVENT) + b","
        yield b"{}]"

    async with serve(max_body_bytes=1000) as served:
        response = await served.client.post(
            "/v1/events",
            content=chunks(),
            headers={**INGEST, "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert served.backend.batches == []


async def test_a_gzip_bomb_is_413(serve: ServeFactory) -> None:
    async with serve(max_body_bytes=10_000) as served:
        bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
        assert len(bomb) < 10_000
        response = await served.client.post(
            "/v1/events",
            content=bomb,
            headers={**INGEST, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 413
        assert response.json() == {"error": "decompressed body exceeds 10000 bytes", "details": []}


async def test_too_many_events_in_one_batch_is_413(serve: ServeFactory) -> None:
    async with serve(max_batch_events=3) as served:
        response = await served.client.post("/v1/events", json=[EVENT] * 4, headers=INGEST)
        assert response.status_code == 413
        assert "batch of 4 events exceeds the limit of 3" in response.json()["error"]
        body = ndjson(*[EVENT] * 4)
        response = await served.client.post(
            "/v1/events", content=body, headers={**INGEST, "Content-Type": "application/x-ndjson"}
        )
        assert response.status_code == 413


async def test_nesting_and_string_limits_name_the_offending_events(serve: ServeFactory) -> None:
    async with serve(max_json_depth=3, max_string_length=10) as served:
        deep = {"a": {"b": {"c": {"d": 1}}}}
        ok = {"a": {"b": {"c": 1}}, "s": "0123456789"}
        long = {"s": "01234567890"}
        long_key = {"k" * 11: 1}
        response = await served.client.post(
            "/v1/events", json=[ok, deep, long, long_key], headers=INGEST
        )
        assert response.status_code == 400
        assert response.json()["details"] == [
            {"index": 1, "error": "nested deeper than 3 levels"},
            {"index": 2, "error": "holds a string longer than 10 characters"},
            {"index": 3, "error": "holds a string longer than 10 characters"},
        ]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Content-Type": "text/plain"}, "unsupported Content-Type 'text/plain'"),
        ({}, "missing Content-Type"),
        ({"Content-Type": "application/json; charset=latin-1"}, "unsupported charset"),
        ({"Content-Type": "application/json", "Content-Encoding": "br"}, "Content-Encoding"),
    ],
)
async def test_unsupported_media_is_415(
    served: Served, headers: dict[str, str], message: str
) -> None:
    response = await served.client.post(
        "/v1/events", content=orjson.dumps(EVENT), headers={**INGEST, **headers}
    )
    assert response.status_code == 415
    assert message in response.json()["error"]


# --- backpressure -------------------------------------------------------------------------------


async def test_shedding_load_is_503_with_retry_after(served: Served) -> None:
    served.backend.shedding = 4.2
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "4"
    assert served.backend.batches == []


async def test_requests_being_recorded_over_the_bound_are_503(serve: ServeFactory) -> None:
    async with serve(max_inflight_requests=1) as served:
        served.backend.gate = asyncio.Event()  # the first batch is being recorded, and stays
        first = asyncio.create_task(served.client.post("/v1/events", json=EVENT, headers=INGEST))
        await until(lambda: served.api.inflight > 0, "the first request to be in flight")
        async with httpx.AsyncClient(base_url=served.client.base_url) as other:
            refused = await other.post("/v1/events", json=EVENT, headers=INGEST)
        served.backend.gate.set()
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert (await first).status_code == 202
        assert served.backend.batches == [[EVENT]]


def _slow_body(release: asyncio.Event, first: bytes = b'{"type": ') -> AsyncIterator[bytes]:
    async def parts() -> AsyncIterator[bytes]:
        yield first
        await release.wait()
        yield b'"slow"}'

    return parts()


async def test_a_body_still_arriving_takes_no_in_flight_slot(serve: ServeFactory) -> None:
    """A sender stalled mid-body costs its connection, its body_timeout and the bytes it sent,
    not a slot: with one slot, another sender's POST is taken meanwhile, and so is the slow one
    once its body is in."""
    async with serve(max_inflight_requests=1) as served:
        release = asyncio.Event()
        slow = asyncio.create_task(
            served.client.post(
                "/v1/events",
                content=_slow_body(release),
                headers={**INGEST, "Content-Type": "application/json"},
            )
        )
        await until(lambda: served.api.bodies.used > 0, "the slow body to be arriving")
        assert served.api.inflight == 0
        async with httpx.AsyncClient(base_url=served.client.base_url) as other:
            taken = await other.post("/v1/events", json=EVENT, headers=INGEST)
        release.set()
        assert taken.status_code == 202
        assert (await slow).status_code == 202
        assert served.backend.batches == [[EVENT], [{"type": "slow"}]]
        assert (served.api.bodies.used, served.api.inflight) == (0, 0)


async def test_bodies_arriving_past_the_bytes_read_at_once_are_503(serve: ServeFactory) -> None:
    """The memory bodies still arriving hold is bounded, all connections together: past
    max_reading_bytes a body is refused (503, Retry-After), and the bytes come back once read."""
    held = b'{"type": "x", "pad": "' + b"p" * 40
    async with serve(max_body_bytes=100, max_reading_bytes=100) as served:
        release = asyncio.Event()
        slow = asyncio.create_task(
            served.client.post(
                "/v1/events",
                content=_slow_body(release, held),
                headers={**INGEST, "Content-Type": "application/json"},
            )
        )
        await until(lambda: served.api.bodies.used == len(held), "the slow body to be arriving")
        async with httpx.AsyncClient(base_url=served.client.base_url) as other:
            refused = await other.post(
                "/v1/events", json={**EVENT, "pad": "q" * 20}, headers=INGEST
            )
            release.set()
            assert (await slow).status_code == 400  # its JSON is cut short: read, then refused
            taken = await other.post("/v1/events", json={**EVENT, "pad": "q" * 20}, headers=INGEST)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "too many request bodies" in refused.json()["error"]
        assert taken.status_code == 202
        assert served.api.bodies.used == 0


# --- readiness, health, metrics -----------------------------------------------------------------


async def test_readyz_is_503_while_draining_and_healthz_stays_200(served: Served) -> None:
    assert (await served.client.get("/readyz")).json() == {"status": "ready"}
    served.backend.state = "draining"
    response = await served.client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}
    assert (await served.client.get("/healthz")).status_code == 200


async def test_metrics_count_accepted_events(served: Served) -> None:
    await served.client.post("/v1/events", json=[EVENT] * 3, headers=INGEST)
    response = await served.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "alertd_events_received_total" in response.text
    assert 'alertd_http_requests_total{route="/v1/events",status="202"}' in response.text


def rejected(reason: str) -> tuple[float, float]:
    """(requests, events) refused so far for `reason`."""
    requests = metrics.REGISTRY.get_sample_value(
        "alertd_ingest_rejections_total", {"reason": reason}
    )
    events = metrics.REGISTRY.get_sample_value("alertd_events_rejected_total", {"reason": reason})
    return requests or 0.0, events or 0.0


async def test_each_refusal_is_counted_and_logged_under_its_reason(
    serve: ServeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alertd.server")
    json_headers = {**INGEST, "Content-Type": "application/json"}
    big = b"[" + b"{}," * 600 + b"{}]"
    cases: list[tuple[str, dict[str, Any], int, tuple[float, float]]] = [
        ("unauthorized", {"json": EVENT}, 401, (1, 0)),
        ("unsupported_media_type", {"content": b"{}", "headers": {**INGEST}}, 415, (1, 0)),
        ("too_large", {"content": big, "headers": json_headers}, 413, (1, 0)),
        ("too_large", {"json": [EVENT] * 11, "headers": INGEST}, 413, (1, 11)),
        ("malformed", {"content": b"[{", "headers": json_headers}, 400, (1, 0)),
        ("malformed", {"json": [EVENT, 1, EVENT], "headers": INGEST}, 400, (1, 3)),
        ("invalid_event", {"json": [EVENT, {"timestamp": "bad"}], "headers": INGEST}, 400, (1, 2)),
    ]
    async with serve(max_body_bytes=1000, max_batch_events=10) as served:
        for reason, request, status, (requests, events) in cases:
            before = rejected(reason)
            caplog.clear()
            response = await served.client.post("/v1/events", **request)
            assert response.status_code == status, (reason, response.text)
            after = rejected(reason)
            assert (after[0] - before[0], after[1] - before[1]) == (requests, events), reason
            (line,) = [r for r in caplog.records if r.getMessage() == "events rejected"]
            assert (line.reason, line.status) == (reason, status)  # type: ignore[attr-defined]
            if response.json()["details"]:
                assert line.details == response.json()["details"]  # type: ignore[attr-defined]
        served.backend.shedding = 5.0
        before = rejected("overloaded")
        assert (
            await served.client.post("/v1/events", json=EVENT, headers=INGEST)
        ).status_code == 503
        assert rejected("overloaded")[0] - before[0] == 1
        assert served.backend.batches == []


async def test_every_reason_is_exported_from_the_start_and_documented(served: Served) -> None:
    text = (await served.client.get("/metrics")).text
    docs = (REPO / "docs" / "api.md").read_text()
    for reason in metrics.REJECTIONS:
        assert f'alertd_ingest_rejections_total{{reason="{reason}"}}' in text, reason
        assert f"`{reason}`" in docs, reason


# --- alerts, rules, reload ----------------------------------------------------------------------


async def test_list_alerts_passes_filters_and_paging(served: Served) -> None:
    response = await served.client.get(
        "/v1/alerts",
        params={
            "rule": "critical_safety_event",
            "priority": "urgent",
            "status": "acked",
            "since": "2026-01-01T00:00:00Z",
            "limit": "10",
            "cursor": "01JH0000000000000000000000",
        },
        headers=ADMIN,
    )
    assert response.status_code == 200
    assert response.json()["next"] is None
    assert served.backend.queries == [
        AlertQuery(
            rule="critical_safety_event",
            priority="urgent",
            status="acked",
            since=1767225600.0,
            limit=10,
            cursor="01JH0000000000000000000000",
        )
    ]


@pytest.mark.parametrize(
    ("since", "seconds"),
    [
        ("1767225600", 1767225600.0),
        ("1767225600.25", 1767225600.25),
        ("2026-01-01T01:00:00+01:00", 1767225600.0),
        ("1969-07-20T20:17:00Z", 0.0),  # before the first alert there can be: from the start
        ("0001-01-01T00:00:00+14:00", 0.0),
    ],
)
async def test_since_reads_epoch_seconds_and_zoned_iso_times(
    served: Served, since: str, seconds: float
) -> None:
    response = await served.client.get("/v1/alerts", params={"since": since}, headers=ADMIN)
    assert response.status_code == 200
    assert served.backend.queries[-1].since == seconds


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("priority=critical", "query parameter 'priority': expected one of low, medium"),
        ("status=open", "query parameter 'status': expected one of firing, acked, resolved, sil"),
        ("limit=0", "query parameter 'limit': expected a whole number from 1 to 1000"),
        ("limit=5000", "query parameter 'limit'"),
        ("since=yesterday", "query parameter 'since': expected ISO-8601"),
        ("since=2026-01-01T00:00:00", "query parameter 'since': expected a time with a zone"),
        ("since=nan", "query parameter 'since': expected ISO-8601"),
        ("since=inf", "query parameter 'since': expected ISO-8601"),
        ("since=1e300", "query parameter 'since': expected ISO-8601"),
        ("since=1767225600000", "query parameter 'since': expected ISO-8601"),  # milliseconds
        ("limit=%C2%B2", "query parameter 'limit': expected a whole number"),  # "²".isdigit()
        ("cursor=zzz", "query parameter 'cursor': expected the `next` of a previous page"),
        ("cursor=01jh0000000000000000000000", "query parameter 'cursor'"),
        ("cursor=ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "query parameter 'cursor'"),
        ("cursor=80000000000000000000000000", "query parameter 'cursor'"),
        ("cursor=01JH00000000000000000000000", "query parameter 'cursor'"),
        ("cursor=", "query parameter 'cursor'"),
        ("rule=a&rule=b", "query parameter 'rule': expected one value, given once"),
        ("rule=", "query parameter 'rule': expected a value (leave the parameter out"),
        ("priority=high&priority=low", "query parameter 'priority': expected one value"),
    ],
)
async def test_bad_alert_filters_are_400(served: Served, query: str, message: str) -> None:
    response = await served.client.get(f"/v1/alerts?{query}", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


async def test_an_unknown_query_parameter_is_400_naming_it_not_ignored(served: Served) -> None:
    response = await served.client.get("/v1/alerts?rulez=x&limit=5", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "unknown query parameter 'rulez' (did you mean 'rule'?); "
        "known: rule, priority, status, since, limit, cursor"
    )
    far = await served.client.get("/v1/alerts?vehicle=v1", headers=ADMIN)
    assert far.status_code == 400
    assert far.json()["error"].startswith("unknown query parameter 'vehicle'; known: rule,")
    assert served.backend.queries == []


async def test_one_alert_with_its_delivery_states(served: Served) -> None:
    response = await served.client.get(f"/v1/alerts/{ALERT['id']}", headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == ALERT
    missing = await served.client.get("/v1/alerts/nope", headers=ADMIN)
    assert missing.status_code == 404


async def test_ack_records_who_handled_it(served: Served) -> None:
    response = await served.client.post(
        f"/v1/alerts/{ALERT['id']}/ack",
        json={"by": "dispatcher-7"},
        headers=ADMIN,
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["acked_by"], answer["acked_via"]) == (
        "acked",
        "dispatcher-7",
        "api",
    )
    assert (answer["changed"], answer["message"]) == (True, "acked by dispatcher-7")
    assert served.backend.acts == [(ALERT["id"], "ack", "dispatcher-7", "api")]
    bare = await served.client.post(f"/v1/alerts/{ALERT['id']}/ack", headers=ADMIN)
    assert bare.status_code == 200
    assert served.backend.acts[-1] == (ALERT["id"], "ack", "", "api")
    bad = await served.client.post(f"/v1/alerts/{ALERT['id']}/ack", json={"by": 7}, headers=ADMIN)
    assert bad.status_code == 400
    missing = await served.client.post("/v1/alerts/nope/ack", headers=ADMIN)
    assert missing.status_code == 404


@pytest.mark.parametrize("action", ["ack", "unack", "resolve"])
async def test_each_action_goes_to_the_core_with_who_and_through_what(
    served: Served, action: str
) -> None:
    response = await served.client.post(
        f"/v1/alerts/{ALERT['id']}/{action}", json={"by": "ana", "via": "cli"}, headers=ADMIN
    )
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert served.backend.acts == [(ALERT["id"], action, "ana", "cli")]


async def test_a_repeat_is_200_and_says_nothing_changed(served: Served) -> None:
    response = await served.client.post(
        f"/v1/alerts/{ALERT['id']}/resolve", json={"by": "again"}, headers=ADMIN
    )
    assert response.status_code == 200
    assert (response.json()["changed"], response.json()["message"]) == (
        False,
        "already resolveed; nothing changed",
    )


async def test_an_action_that_does_not_apply_is_409_saying_why(served: Served) -> None:
    response = await served.client.post(f"/v1/alerts/{ALERT['id']}/escalate", headers=ADMIN)
    assert response.status_code == 409
    assert response.json() == {
        "error": f"alert {ALERT['id']}: it has no escalation policy",
        "details": [],
    }


async def test_an_action_may_only_say_it_came_through_the_api_or_the_cli(served: Served) -> None:
    response = await served.client.post(
        f"/v1/alerts/{ALERT['id']}/ack", json={"by": "x", "via": "sms"}, headers=ADMIN
    )
    assert response.status_code == 400
    assert response.json()["error"] == "field 'via': expected one of api, cli, got 'sms'"
    assert served.backend.acts == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"who": "x"}, "unknown field 'who'; known: by, via"),
        ({"by": "x", "bu": "y"}, "unknown field 'bu' (did you mean 'by'?); known: by, via"),
    ],
)
async def test_an_unknown_key_in_an_ack_is_400_naming_it(
    served: Served, body: dict[str, str], message: str
) -> None:
    response = await served.client.post(f"/v1/alerts/{ALERT['id']}/ack", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["error"] == message
    assert served.backend.acts == []


async def test_an_ack_body_that_is_not_json_is_415(served: Served) -> None:
    response = await served.client.post(
        f"/v1/alerts/{ALERT['id']}/ack",
        content=b"dispatcher-7",
        headers={**ADMIN, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"].startswith(
        "unsupported Content-Type 'text/plain': send application/json"
    )
    assert served.backend.acts == []


async def test_rules_and_a_good_reload(served: Served) -> None:
    rules = await served.client.get("/v1/rules", headers=ADMIN)
    assert rules.json()["rules"][0]["id"] == "critical_safety_event"
    reload = await served.client.post("/v1/reload", headers=ADMIN)
    assert reload.status_code == 200
    assert reload.json() == {"status": "reloaded", "rules": 1}


async def test_a_broken_reload_is_422_with_every_error(served: Served) -> None:
    error = {
        "path": "rules/fleet.rules",
        "line": 3,
        "column": 14,
        "message": "expected ')'",
        "text": "rules/fleet.rules:3:14: error: expected ')'",
    }
    served.backend.reload_errors = [error]
    response = await served.client.post("/v1/reload", headers=ADMIN)
    assert response.status_code == 422
    assert response.json() == {
        "error": "the new rules are invalid; the previous rules keep running",
        "details": [error],
    }


# --- routing and failures -----------------------------------------------------------------------


async def test_unknown_paths_are_404_and_wrong_methods_405(served: Served) -> None:
    assert (await served.client.get("/v2/events", headers=ADMIN)).status_code == 404
    assert (await served.client.get("/v1/alerts/a/b/c", headers=ADMIN)).status_code == 404
    response = await served.client.get("/v1/events", headers=INGEST)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_backend_failure_is_500_and_the_server_keeps_serving(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served.backend.fail_with = RuntimeError("disk on fire")
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 500
    assert "disk on fire" not in response.text
    assert "disk on fire" in caplog.text
    served.backend.fail_with = None
    assert (await served.client.post("/v1/events", json=EVENT, headers=INGEST)).status_code == 202


async def test_explain_answers_every_rule_of_the_events_scope_and_why(served: Served) -> None:
    client = served.client
    event = {"type": "location_update", "vehicle_id": "v1", "speed_kmh": "0"}
    answer = await client.post("/v1/explain", json=event, headers=ADMIN)
    assert answer.status_code == 200
    (breakdown,) = answer.json()["rules"]
    alternatives = [
        {"failed": 'type == "breakdown"', "at": "rules/fleet.rules:2:8",
         "values": {"type": "location_update"}},
        {"failed": "speed_kmh == 0", "at": "rules/fleet.rules:2:62",
         "values": {"speed_kmh": "0"}, "type_mismatch": "a string compared with a number"},
    ]  # fmt: skip
    assert breakdown == {
        "rule": "breakdown",
        "decision": "no_match",
        **alternatives[0],
        "alternatives": alternatives,
        "type_mismatches": [
            {
                "expression": "speed_kmh == 0",
                "at": "rules/fleet.rules:2:62",
                "problem": "a string compared with a number",
                "values": [
                    {"expression": "speed_kmh", "value": "0", "kind": "string"},
                    {"expression": "0", "value": 0, "kind": "number"},
                ],
            }
        ],
    }
    counting = await client.post("/v1/explain", json={"type": "breakdown"}, headers=ADMIN)
    assert counting.json()["rules"][0]["window"] == "1 of 2 within 10m"
    none = await client.post("/v1/explain", json={"type": "trip_update"}, headers=ADMIN)
    assert none.json()["rules"] == []


async def test_explain_takes_one_event_with_an_admin_token(served: Served) -> None:
    client = served.client
    assert (await client.post("/v1/explain", json={}, headers=INGEST)).status_code == 403
    batch = await client.post("/v1/explain", json=[{}], headers=ADMIN)
    assert (batch.status_code, batch.json()["error"]) == (400, "expected one event: a JSON object")
    broken = await client.post(
        "/v1/explain", content=b"{", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("malformed JSON")
    late = await client.post("/v1/explain", json={"timestamp": "bad"}, headers=ADMIN)
    assert late.status_code == 400
    assert late.json()["details"] == [{"index": 0, "error": "timestamp: cannot parse 'bad'"}]
