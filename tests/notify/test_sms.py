"""The SMS channel: the real twilio SDK against a local server playing the Messages API."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.model import NotifyTarget
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.outbox import Outbox
from tests.notify.conftest import HttpServer, Request, enqueue_alert, make_alert, make_settings

SID = "AC00000000000000000000000000000001"


def twilio(errors: list[tuple[int, dict[str, Any]]]) -> Any:
    """A handler answering like Twilio: the queued errors first, then 201 Created."""
    count = 0

    async def handle(request: Request) -> web.StreamResponse:
        nonlocal count
        if errors:
            status, body = errors.pop(0)
            return web.json_response(body, status=status)
        count += 1
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        return web.json_response(
            {
                "sid": f"SM{count:032d}",
                "account_sid": SID,
                "status": "queued",
                "to": form["To"],
                "from": form.get("From"),
                "body": form["Body"],
                "num_segments": "1",
            },
            status=201,
        )

    return handle


def sms_settings(tmp_path: Path, url: str, **table: Any) -> Any:
    return make_settings(
        tmp_path,
        channels={
            "sms": {
                "account_sid": SID,
                "auth_token": "tok3n",
                "from": "+15550100000",
                "to": ["+15550100002"],
                "urgent_to": ["+15550100001"],
                "base_url": url,
                **table,
            }
        },
    )


async def deliver(tmp_path: Path, settings: Any, **alert: Any) -> Outbox:
    clock = FakeClock()
    outbox = Outbox(tmp_path / "alertd.db")
    enqueue_alert(outbox, settings, make_alert(notify=(NotifyTarget("sms"),), **alert), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    return outbox


def form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


async def test_one_message_per_recipient_through_the_messages_api(
    tmp_path: Path, http_server: HttpServer
) -> None:
    http_server.handler = twilio([])
    outbox = await deliver(tmp_path, sms_settings(tmp_path, http_server.url), priority="urgent")
    assert [r.path for r in http_server.requests] == [
        f"/2010-04-01/Accounts/{SID}/Messages.json"
    ] * 2
    first = http_server.requests[0]
    assert (
        first.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{SID}:tok3n".encode()).decode()
    )
    assert sorted(form(r)["To"] for r in http_server.requests) == ["+15550100001", "+15550100002"]
    assert form(first)["From"] == "+15550100000"
    assert form(first)["Body"].startswith("[URGENT] Critical Safety Event: V-17, D-4 at 00:00 UTC")
    states = outbox.states("01KDTEST0000000000000000AA")
    assert {s.receipt for s in states} == {
        "Twilio message SM00000000000000000000000000000001 queued",
        "Twilio message SM00000000000000000000000000000002 queued",
    }


async def test_an_invalid_number_fails_at_once_with_twilios_code(
    tmp_path: Path, http_server: HttpServer
) -> None:
    http_server.handler = twilio(
        [
            (
                400,
                {
                    "code": 21211,
                    "message": "The 'To' number +1555 is not a valid phone number.",
                    "status": 400,
                },
            )
        ]
    )
    outbox = await deliver(tmp_path, sms_settings(tmp_path, http_server.url))
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("failed", 1)
    assert state.last_error == (
        "Twilio answered HTTP 400: Unable to create record: "
        "The 'To' number +1555 is not a valid phone number. (Twilio error 21211)"
    )


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retried(
    tmp_path: Path, http_server: HttpServer, status: int
) -> None:
    http_server.handler = twilio(
        [(status, {"code": 20429, "message": "Too Many Requests", "status": status})]
    )
    outbox = await deliver(tmp_path, sms_settings(tmp_path, http_server.url))
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("sent", 2)


async def test_an_unreachable_api_is_retried(tmp_path: Path, unused_tcp_port: int) -> None:
    settings = make_settings(
        tmp_path,
        dispatch={"max_attempts": 2},
        channels={
            "sms": {
                "account_sid": SID,
                "auth_token": "t",
                "from": "+1555",
                "to": "+1556",
                "base_url": f"http://127.0.0.1:{unused_tcp_port}",
            }
        },
    )
    outbox = await deliver(tmp_path, settings)
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("dead", 2)
    assert state.last_error is not None
    assert state.last_error.startswith(
        f"Twilio http://127.0.0.1:{unused_tcp_port}: cannot reach the API"
    )
