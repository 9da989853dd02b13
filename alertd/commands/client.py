"""The command line's client of a running daemon's HTTP API (`alertd alerts`, `alertd ack`, ...).

Where the daemon is: `--url`, else the config's `[server] listen` (a wildcard address such as
0.0.0.0 is reached on loopback). The admin token: the config's first `[server] admin_tokens`
(`ALERTD_ADMIN_TOKEN` in the shipped file), else the development token a daemon without tokens
keeps in `<state folder>/dev-token`. The standard library's HTTP client, with no proxy: the
daemon is usually on this machine, and an `http_proxy` meant for the internet must not see the
token.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from alertd.config import Settings

DEV_TOKEN_FILE = "dev-token"  # as alertd.daemon writes it
TIMEOUT = 10.0  # seconds


class Unreachable(Exception):
    """No daemon answered (not running, wrong address), or no token to call it with."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the decoded JSON


class ApiClient:
    """Calls the admin API of one daemon."""

    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @classmethod
    def for_settings(cls, settings: Settings, url: str | None = None) -> ApiClient:
        """The client of the daemon these settings describe. Raises Unreachable when there is
        no way to call it (no address, no token)."""
        return cls(url or daemon_url(settings), admin_token(settings))

    def get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._call("GET", path + query, None)

    def post(self, path: str, body: dict[str, Any]) -> Answer:
        return self._call("POST", path, json.dumps(body).encode())

    def delete(self, path: str) -> Answer:
        return self._call("DELETE", path, None)

    def _call(self, method: str, path: str, body: bytes | None) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=body, headers=headers, method=method
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, _json(error.read()))
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Unreachable(
                f"cannot reach alertd at {self.base_url} ({reason}); is `alertd run` running "
                "there? (--url to call another address)"
            ) from None


def daemon_url(settings: Settings) -> str:
    """`http://HOST:PORT` of `[server] listen`, a wildcard host reached on loopback."""
    server = settings.server
    if server.port == 0:
        raise Unreachable(
            f"{settings.source}: [server] listen = {server.listen!r} takes any free port: "
            "pass --url http://HOST:PORT"
        )
    host = server.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{server.port}"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{server.port}"


def admin_token(settings: Settings) -> str:
    if settings.server.admin_tokens:
        return settings.server.admin_tokens[0]
    path = settings.state.path.parent / DEV_TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        token = ""
    if not token:
        raise Unreachable(
            f"no admin token: set ALERTD_ADMIN_TOKEN (or [server] admin_tokens in "
            f"{settings.source}); a daemon without tokens keeps its development token in {path}"
        )
    return token


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"error": raw.decode(errors="replace").strip()}
