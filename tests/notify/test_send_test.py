"""`alertd send-test CHANNEL`: one real notification, and what the provider answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from alertd.cli import main
from tests.notify.conftest import TEMPLATES, HttpServer, Request, answers


def config(tmp_path: Path, channels: str) -> str:
    path = tmp_path / "alertd.toml"
    path.write_text(f'[rules]\ntemplates = "{TEMPLATES}"\n[dispatch]\ndry_run = true\n{channels}')
    return str(path)


async def send_test(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["send-test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def test_it_sends_for_real_even_in_dry_run_and_prints_the_answer(
    tmp_path: Path, http_server: HttpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async def accept(request: Request) -> web.StreamResponse:
        return web.Response(status=202)

    http_server.handler = accept
    cfg = config(tmp_path, f'[channels.webhook]\nurl = "{http_server.url}/hook"\n')
    code, out, err = await send_test(capsys, "webhook", "-c", cfg)
    assert (code, err) == (0, "")
    assert out == f"webhook -> {http_server.url}/hook: sent: HTTP 202\n"
    body = orjson.loads(http_server.requests[0].body)
    assert body["rule"]["name"] == "alertd test notification"
    assert body["event"]["message"] == "Test notification through channel webhook"


async def test_a_rejection_is_shown_with_the_providers_words(
    tmp_path: Path, http_server: HttpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.handler = answers(401)
    cfg = config(tmp_path, f'[channels.ops]\nkind = "webhook"\nurl = "{http_server.url}/x"\n')
    code, out, _err = await send_test(capsys, "ops", "-c", cfg, "--to", f"{http_server.url}/y")
    assert code == 1
    assert out == (
        f"ops -> {http_server.url}/y: FAILED: webhook {http_server.url}/y answered HTTP 401: "
        '{"error": "status 401"} (not retried: the daemon would not retry this error either)\n'
    )


async def test_an_unreachable_provider_says_so(
    tmp_path: Path, unused_tcp_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f'[channels.webhook]\nurl = "http://127.0.0.1:{unused_tcp_port}/"\n')
    code, out, _err = await send_test(capsys, "webhook", "-c", cfg)
    assert code == 1
    assert "cannot connect" in out
    assert out.endswith("(not retried: send-test sends once; the daemon would retry this error)\n")


async def test_config_errors_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, '[channels.slack]\ntoken = ""\nchannel = "#x"\n')
    code, out, err = await send_test(capsys, "slack", "-c", cfg)
    assert (code, out) == (2, "")
    assert err == (
        f"alertd send-test: error: {tmp_path}/alertd.toml: [channels.slack] token: is required "
        "(is its environment variable set?)\n"
    )
    code, _out, err = await send_test(capsys, "slak", "-c", cfg)
    assert code == 2
    assert err == (
        f"alertd send-test: error: no [channels.slak] in {tmp_path}/alertd.toml "
        "(did you mean 'slack'?)\n"
    )


async def test_a_channel_with_no_default_recipient_asks_for_one_or_for_to(
    tmp_path: Path, http_server: HttpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f'[channels.push]\nprovider = "ntfy"\nbase_url = "{http_server.url}"\n')
    code, out, err = await send_test(capsys, "push", "-c", cfg)
    assert (code, out) == (2, "")
    assert err == (
        f"alertd send-test: error: {tmp_path}/alertd.toml: [channels.push] has no default "
        "recipient to send a test to: configure one (docs/channels.md) or pass --to\n"
    )
    assert http_server.requests == []
    code, out, _err = await send_test(capsys, "push", "-c", cfg, "--to", "fleet-test-9c1")
    assert code == 0 and "sent" in out and len(http_server.requests) == 1


NO_ID_ANSWERS = {
    "twilio": (
        'kind = "sms"\naccount_sid = "AC1"\nauth_token = "t0ken"\nfrom = "+15550100000"\n'
        'to = "+15550100002"\nbase_url = "{url}"',
        (201, {"account_sid": "AC1"}),
        "+15550100002: sent: Twilio accepted the request but answered without a message SID",
    ),
    "slack": (
        'kind = "slack"\ntoken = "xoxb-1"\nchannel = "#ops"\nbase_url = "{url}/api/"',
        (200, {"ok": True}),
        "#ops: sent: Slack answered ok but without the message's ts",
    ),
    "ntfy": (
        'kind = "push"\nprovider = "ntfy"\nbase_url = "{url}"\ntopic = "fleet-alerts-7f3a"',
        (200, {}),
        "flee…: sent: ntfy answered HTTP 200 without a message id",
    ),
}
"""Per provider: its channel table, a 2xx answer without a message id, the line printed."""


@pytest.mark.parametrize("provider", NO_ID_ANSWERS)
async def test_a_success_without_a_message_id_says_so(
    tmp_path: Path, http_server: HttpServer, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    table, (status, body), line = NO_ID_ANSWERS[provider]

    async def answer_without_id(request: Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    http_server.handler = answer_without_id
    cfg = config(tmp_path, "[channels.test]\n" + table.format(url=http_server.url) + "\n")
    code, out, err = await send_test(capsys, "test", "-c", cfg)
    assert (code, err, out) == (0, "", f"test -> {line}\n")
