"""The Slack channel: slack-sdk's AsyncWebClient against a local chat.postMessage server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from alertd.clock import FakeClock
from alertd.model import NotifyTarget
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.outbox import Outbox
from tests.notify.conftest import HttpServer, Request, enqueue_alert, make_alert, make_settings


def slack(answers: list[tuple[int, dict[str, Any], dict[str, str]]]) -> Any:
    """A handler answering like Slack's Web API: queued answers first, then ok."""

    async def handle(request: Request) -> web.StreamResponse:
        if answers:
            status, body, headers = answers.pop(0)
            return web.json_response(body, status=status, headers=headers)
        sent = orjson.loads(request.body)
        return web.json_response(
            {"ok": True, "channel": "C0FLEET", "ts": "1767225600.000100", "message": sent}
        )

    return handle


def slack_settings(tmp_path: Path, url: str, **notify: Any) -> Any:
    return make_settings(
        tmp_path,
        notify=notify,
        dispatch={"backoff_initial": 0.01},
        channels={
            "slack": {"token": "xoxb-test", "channel": "#fleet-alerts", "base_url": f"{url}/api/"}
        },
    )


async def deliver(
    tmp_path: Path, settings: Any, clock: FakeClock | None = None, **alert: Any
) -> Outbox:
    clock = clock or FakeClock()
    outbox = Outbox(tmp_path / "alertd.db")
    enqueue_alert(
        outbox, settings, make_alert(notify=(NotifyTarget("slack"),), **alert), clock.now()
    )
    await Dispatcher(settings, outbox, clock).run(burst=True)
    return outbox


async def test_a_coloured_message_with_blocks_is_posted(
    tmp_path: Path, http_server: HttpServer
) -> None:
    http_server.handler = slack([])
    settings = slack_settings(
        tmp_path, http_server.url, dashboard_url="https://fleet.example.com/a/"
    )
    outbox = await deliver(tmp_path, settings, priority="urgent")
    (request,) = http_server.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-test"
    body = orjson.loads(request.body)
    assert body["channel"] == "#fleet-alerts"
    assert body["text"] == "Critical Safety Event"
    assert body["link_names"] is False
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#d32f2f"
    section, actions = attachment["blocks"]
    assert section["text"]["text"].startswith("*Critical Safety Event*\n*URGENT* · V-17, D-4")
    assert actions["elements"][0]["url"] == "https://fleet.example.com/a/01KDTEST0000000000000000AA"
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert state.receipt == "Slack message ts=1767225600.000100 in C0FLEET"


async def test_event_text_cannot_mention_the_channel(
    tmp_path: Path, http_server: HttpServer
) -> None:
    http_server.handler = slack([])
    await deliver(tmp_path, slack_settings(tmp_path, http_server.url), key=("<!channel> <@U123>",))
    body = orjson.loads(http_server.requests[0].body)
    text = body["attachments"][0]["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &lt;@U123&gt;" in text
    assert b"<!channel>" not in http_server.requests[0].body


async def test_ratelimited_waits_for_retry_after_on_the_clock(
    tmp_path: Path, http_server: HttpServer
) -> None:
    http_server.handler = slack(
        [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"})]
    )
    clock = FakeClock()
    outbox = await deliver(tmp_path, slack_settings(tmp_path, http_server.url), clock)
    assert len(http_server.requests) == 2
    assert max(clock.sleeps) >= 2
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("sent", 2)


async def test_an_unknown_channel_fails_at_once(tmp_path: Path, http_server: HttpServer) -> None:
    http_server.handler = slack([(200, {"ok": False, "error": "channel_not_found"}, {})])
    outbox = await deliver(tmp_path, slack_settings(tmp_path, http_server.url))
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts, state.last_error) == (
        "failed",
        1,
        "Slack answered channel_not_found",
    )


async def test_slack_server_errors_are_retried(tmp_path: Path, http_server: HttpServer) -> None:
    http_server.handler = slack(
        [
            (500, {"ok": False, "error": "internal_error"}, {}),
            (200, {"ok": False, "error": "fatal_error"}, {}),
        ]
    )
    outbox = await deliver(tmp_path, slack_settings(tmp_path, http_server.url))
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("sent", 3)
