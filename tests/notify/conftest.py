"""Helpers for notification tests: alerts, settings, and real local HTTP servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alertd.config import Settings, settings_from_dict
from alertd.model import Alert, NotifyTarget

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def make_alert(**overrides: Any) -> Alert:
    """A fired alert as the engine would produce it."""
    fields: dict[str, Any] = {
        "id": "01KDTEST0000000000000000AA",
        "rule_id": "critical_safety",
        "rule_name": "Critical Safety Event",
        "priority": "high",
        "key": ("V-17", "D-4"),
        "event": {
            "type": "safety_event",
            "vehicle_id": "V-17",
            "driver_id": "D-4",
            "severity": "critical",
            "location": {"latitude": 52.52, "longitude": 13.405},
        },
        "fired_at": 1_767_225_600.0,
        "received_at": 1_767_225_600.2,
        "notify": (NotifyTarget("webhook"),),
    }
    fields.update(overrides)
    return Alert(**fields)


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    """Settings from a config dict, as if read from `tmp_path/alertd.toml` (no environment)."""
    raw: dict[str, Any] = {
        "dispatch": {"dry_run": False},
        "rules": {"templates": str(TEMPLATES)},
        "state": {"path": str(tmp_path / "alertd.db")},
    }
    for name, table in sections.items():
        raw[name] = {**raw.get(name, {}), **table}
    return settings_from_dict(raw, tmp_path / "alertd.toml", {})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Awaitable[web.StreamResponse]]


@dataclass
class HttpServer:
    """A real HTTP server on 127.0.0.1 that records every request and answers via `handler`."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    handler: Handler | None = None
    runner: web.AppRunner | None = None

    async def _handle(self, raw: web.Request) -> web.StreamResponse:
        request = Request(
            method=raw.method,
            path=raw.path,
            query=dict(raw.query),
            headers=dict(raw.headers),
            body=await raw.read(),
        )
        self.requests.append(request)
        if self.handler is None:
            return web.json_response({"ok": True})
        return await self.handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()


def answers(*responses: tuple[int, dict[str, str]] | int) -> Handler:
    """A handler giving these statuses (with headers) in turn, then 200 for ever."""
    queue = list(responses)

    async def handle(request: Request) -> web.StreamResponse:
        if not queue:
            return web.json_response({"ok": True})
        answer = queue.pop(0)
        status, headers = (answer, {}) if isinstance(answer, int) else answer
        return web.json_response({"error": f"status {status}"}, status=status, headers=headers)

    return handle


def enqueue_alert(outbox: Any, settings: Settings, alert: Alert, now: float) -> list[str]:
    """Plan, render and enqueue an alert's notifications as the daemon does; their ids."""
    from alertd.notify.outbox import enqueue
    from alertd.notify.plan import plan
    from alertd.notify.render import Renderer

    notifications = plan(
        alert, settings, Renderer.load(settings.rules.templates, settings.notify), now
    )
    with outbox.connection:
        outbox.connection.execute("BEGIN")
        enqueue(outbox.connection, notifications)
    return [n.id for n in notifications]


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate and key for `host`, written to folder; (cert path, key path)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
