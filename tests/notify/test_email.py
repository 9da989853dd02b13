"""The email channel against a real aiosmtpd SMTP server on a free port."""

from __future__ import annotations

import asyncio
import email
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from alertd.cli import main
from alertd.clock import FakeClock
from alertd.model import NotifyTarget
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.outbox import Outbox
from tests.notify.conftest import enqueue_alert, make_alert, make_settings, self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message, or answers with a chosen error."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    reject_with: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject_with:
            return self.reject_with.pop(0)
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued as TEST123"


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    server: asyncio.Server | None = None


async def start_smtp(mailbox: Mailbox, port: int = 0, **options: Any) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    ssl_context = options.pop("ssl", None)
    return await loop.create_server(
        lambda: SMTP(mailbox, hostname="mx.test", **options), "127.0.0.1", port, ssl=ssl_context
    )


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    mailbox = Mailbox()
    server = await start_smtp(mailbox)
    yield SmtpServer(mailbox, port_of(server), server)
    server.close()


def email_settings(tmp_path: Path, port: int, **table: Any) -> Any:
    return make_settings(
        tmp_path,
        dispatch={"backoff_initial": 1},
        channels={
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "from": "alertd@fleet.example.com",
                "to": ["ops@example.com"],
                **table,
            }
        },
    )


async def deliver(tmp_path: Path, settings: Any, **alert: Any) -> Outbox:
    clock = FakeClock()
    outbox = Outbox(tmp_path / "alertd.db")
    enqueue_alert(
        outbox, settings, make_alert(notify=(NotifyTarget("email"),), **alert), clock.now()
    )
    await Dispatcher(settings, outbox, clock).run(burst=True)
    return outbox


async def test_a_multipart_message_arrives_with_html_escaped(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = email_settings(tmp_path, smtp.port)
    event = {"vehicle_id": "V-17", "note": "<script>alert(1)</script>"}
    outbox = await deliver(tmp_path, settings, event=event)
    ((sender, recipients, message),) = smtp.mailbox.received
    assert sender == "alertd@fleet.example.com"
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == "[HIGH] Critical Safety Event — V-17, D-4"
    assert message["Message-ID"] == "<01KDTEST0000000000000000AA.1@fleet.example.com>"
    assert message["X-Alertd-Alert-Id"] == "01KDTEST0000000000000000AA"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "note: <script>alert(1)</script>" in text.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.get_content()
    assert "<script>" not in html.get_content()
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.receipt) == ("sent", "2.0.0 Ok: queued as TEST123")


async def test_starttls_with_auth_against_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"hunter2", handled=False)

    mailbox = Mailbox()
    server = await start_smtp(
        mailbox,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    settings = email_settings(
        tmp_path,
        port_of(server),
        starttls=True,
        username="alertd",
        password="hunter2",
        ca_file=str(cert),
    )
    await deliver(tmp_path, settings)
    server.close()
    assert logins == [(b"alertd", b"hunter2")]
    assert len(mailbox.received) == 1


async def test_a_wrong_password_fails_without_retry(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await start_smtp(
        Mailbox(),
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=lambda *args: AuthResult(success=False, handled=False),
    )
    settings = email_settings(
        tmp_path,
        port_of(server),
        starttls=True,
        username="alertd",
        password="nope",
        ca_file=str(cert),
    )
    outbox = await deliver(tmp_path, settings)
    server.close()
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("failed", 1)
    assert (
        state.last_error == "SMTP 127.0.0.1 answered 535 5.7.8 Authentication credentials invalid"
    )


async def test_implicit_tls(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    server = await start_smtp(mailbox, ssl=server_tls)
    settings = email_settings(tmp_path, port_of(server), tls=True, ca_file=str(cert))
    await deliver(tmp_path, settings)
    server.close()
    assert len(mailbox.received) == 1


async def test_an_untrusted_certificate_fails_clearly(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await start_smtp(Mailbox(), ssl=server_tls)
    outbox = await deliver(tmp_path, email_settings(tmp_path, port_of(server), tls=True))
    server.close()
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert state.state == "failed"
    assert state.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in state.last_error


async def test_the_smtp_server_down_then_up_delivers(tmp_path: Path) -> None:
    mailbox = Mailbox()
    probe = await start_smtp(mailbox)
    port = port_of(probe)
    probe.close()
    await probe.wait_closed()  # the server is down: connections are refused
    servers: list[asyncio.Server] = []

    class OutageEndsWhileWaiting(FakeClock):
        async def sleep(self, seconds: float) -> None:
            if not servers and seconds > 0.5:  # the dispatcher waits to retry: bring it up
                servers.append(await start_smtp(mailbox, port))
            await super().sleep(seconds)

    settings = email_settings(tmp_path, port)
    clock = OutageEndsWhileWaiting()
    outbox = Outbox(tmp_path / "alertd.db")
    enqueue_alert(outbox, settings, make_alert(notify=(NotifyTarget("email"),)), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    servers[0].close()
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("sent", 2)
    assert len(mailbox.received) == 1


async def test_a_4xx_reply_is_retried_and_a_5xx_reply_is_not(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.mailbox.reject_with = ["451 4.3.0 Try again later", "554 5.7.1 Rejected as spam"]
    outbox = await deliver(tmp_path, email_settings(tmp_path, smtp.port))
    (state,) = outbox.states("01KDTEST0000000000000000AA")
    assert (state.state, state.attempts) == ("failed", 2)
    assert state.last_error == "SMTP 127.0.0.1 answered 554 5.7.1 Rejected as spam"
    assert smtp.mailbox.received == []


async def test_urgent_alerts_go_to_each_recipient_as_its_own_message(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = email_settings(tmp_path, smtp.port, urgent_to=["oncall@example.com"])
    await deliver(tmp_path, settings, priority="urgent")
    assert sorted(rcpt for _sender, (rcpt,), _m in smtp.mailbox.received) == [
        "oncall@example.com",
        "ops@example.com",
    ]


async def test_verify_false_sends_to_a_self_signed_server_without_a_ca_file(
    tmp_path: Path,
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    server = await start_smtp(mailbox, ssl=server_tls)
    settings = email_settings(tmp_path, port_of(server), tls=True, verify=False)
    await deliver(tmp_path, settings)
    server.close()
    assert len(mailbox.received) == 1


@pytest.mark.parametrize(
    ("contents", "problem"),
    [(None, "cannot read {path}: No such file or directory"), ("hello", "{path} holds no PEM "
     "certificate"), ("", "{path} holds no PEM certificate")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["check", "run"])
def test_a_ca_file_that_is_not_a_certificate_stops_check_and_run_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    contents: str | None,
    problem: str,
) -> None:
    # Unchecked, every send failed and was retried until dead with "[Errno 2] No such file".
    ca_file = tmp_path / "smtp-ca.pem"
    if contents is not None:
        ca_file.write_text(contents)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(
        "rule a {\n  when type == 'safety_event'\n  notify email\n}\n"
    )
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[rules]\ntemplates = "{ROOT / "templates"}"\n'
        '[dispatch]\ndry_run = false\n[channels.email]\nhost = "127.0.0.1"\n'
        'from = "alertd@fleet.example.com"\nto = "ops@example.com"\nstarttls = true\n'
        'ca_file = "smtp-ca.pem"\n'  # relative: read from the config's folder
    )
    assert main([command, "-c", str(config)]) == 2
    message = f"{config}: [channels.email] ca_file: {problem.format(path=ca_file)}"
    assert message in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # run refused before opening the state
