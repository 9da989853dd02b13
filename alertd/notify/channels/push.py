"""The push channel: Firebase Cloud Messaging (HTTP v1) or ntfy, over the shared HTTP client.

FCM (`provider = "fcm"`): a Google service account (`service_account_file`, or its JSON in
`service_account`) signs a JWT (RS256) that is exchanged at its `token_uri` for an OAuth2 access
token; the token is cached until shortly before it expires and fetched again after a 401. Each
notification is one `messages:send` to one device registration token (the recipient).

ntfy (`provider = "ntfy"`): one JSON publish to `base_url` per topic (the recipient), with the
title, the body, a priority from the alert's and a click link to the alert; `token` is sent as
a Bearer token for protected topics.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jwt

from alertd import jsonutil
from alertd.clock import Clock
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.channels.http import HttpClient
from alertd.notify.errors import ChannelConfigError, DeliveryError
from alertd.notify.notification import Notification
from alertd.redact import public_url

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_REFRESH_MARGIN = 60.0  # seconds before expiry that a cached token is replaced
NTFY_PRIORITY = {"low": 2, "medium": 3, "high": 4, "urgent": 5}


def build_push(config: Table, dispatch: DispatchSettings, clock: Clock) -> FcmChannel | NtfyChannel:
    """The provider's channel. Raises ChannelConfigError."""
    provider = config.string("provider", "ntfy")
    if provider == "fcm":
        return FcmChannel(config, dispatch, clock)
    if provider == "ntfy":
        return NtfyChannel(config, dispatch, clock)
    raise config.error("provider", f'expected "fcm" or "ntfy", got {provider!r}')


class NtfyChannel:
    """Publishes to an ntfy server (ntfy.sh or self-hosted)."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.clock = clock
        self.base_url = config.url("base_url", "https://ntfy.sh").rstrip("/")
        self.token = config.string("token", "")
        self.provider = f"ntfy {public_url(self.base_url)}"
        self.http = HttpClient.for_channel(config, dispatch)

    def payload(self, notification: Notification) -> dict[str, Any]:
        content = notification.content
        payload: dict[str, Any] = {
            "topic": notification.recipient,
            "title": content["title"],
            "message": content["body"] or content["title"],
            "priority": NTFY_PRIORITY.get(notification.priority, 3),
            "tags": [notification.priority],
        }
        if content.get("url"):
            payload["click"] = content["url"]
        return payload

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no topic", retryable=False)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self.http.post(
            self.base_url,
            content=jsonutil.dumps(self.payload(notification)),
            headers=headers,
            provider=self.provider,
        )
        answer = response.json()
        detail = answer.get("error") if isinstance(answer, dict) else None
        response.raise_for_status(self.clock.now(), self.provider, detail)
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not message_id:
            return f"ntfy answered HTTP {response.status} without a message id"
        return f"ntfy message {message_id}"

    async def aclose(self) -> None:
        await self.http.aclose()


class FcmChannel:
    """Sends to one device per notification through FCM HTTP v1."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.clock = clock
        account = _service_account(config)
        self.client_email: str = account["client_email"]
        self.private_key: str = account["private_key"]
        self.key_id: str = str(account.get("private_key_id", ""))
        self.token_uri: str = account.get("token_uri") or "https://oauth2.googleapis.com/token"
        self.project_id = config.string("project_id", "") or str(account.get("project_id", ""))
        if not self.project_id:
            raise config.error("project_id", "is required (the service account has none)")
        base = config.url("base_url", "https://fcm.googleapis.com").rstrip("/")
        self.send_url = f"{base}/v1/projects/{self.project_id}/messages:send"
        try:
            self._assertion()  # a key that cannot sign is a config error, found at start
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise config.error("service_account", f"private_key cannot sign: {exc}") from None
        self.http = HttpClient.for_channel(config, dispatch)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    def _assertion(self) -> str:
        now = int(self.clock.now())
        claims = {
            "iss": self.client_email,
            "scope": FCM_SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    async def access_token(self) -> str:
        """A valid OAuth2 access token, from the cache or the token endpoint."""
        async with self._token_lock:
            if self._token is not None and self.clock.now() < self._token_expires:
                return self._token
            provider = f"FCM token endpoint {public_url(self.token_uri)}"
            response = await self.http.post(
                self.token_uri,
                data={"grant_type": JWT_BEARER, "assertion": self._assertion()},
                provider=provider,
            )
            answer = response.json()
            if isinstance(answer, dict) and "error" in answer:
                detail = f"{answer['error']}: {answer.get('error_description', '')}".strip(": ")
            else:
                detail = None
            response.raise_for_status(self.clock.now(), provider, detail)
            if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
                raise DeliveryError(f"{provider} answered without an access_token", retryable=True)
            token: str = answer["access_token"]
            lifetime = float(answer.get("expires_in", 3600))
            self._token = token
            self._token_expires = self.clock.now() + max(0.0, lifetime - TOKEN_REFRESH_MARGIN)
            return token

    def payload(self, notification: Notification) -> dict[str, Any]:
        content = notification.content
        urgent = notification.priority in ("high", "urgent")
        return {
            "message": {
                "token": notification.recipient,
                "notification": {"title": content["title"], "body": content["body"]},
                "data": content["data"],
                "android": {"priority": "high" if urgent else "normal"},
                "apns": {"headers": {"apns-priority": "10" if urgent else "5"}},
            }
        }

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no device token (to)", retryable=False)
        token = await self.access_token()
        provider = "FCM"
        response = await self.http.post(
            self.send_url,
            content=jsonutil.dumps(self.payload(notification)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            provider=provider,
        )
        if response.status == 401:  # the token was revoked or expired early: fetch a new one
            self._token = None
            raise DeliveryError("FCM answered HTTP 401: access token rejected", retryable=True)
        answer = response.json()
        error = answer.get("error") if isinstance(answer, dict) else None
        detail = None
        if isinstance(error, dict):
            detail = f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
        response.raise_for_status(self.clock.now(), provider, detail)
        name = answer.get("name") if isinstance(answer, dict) else None
        if not name:
            return f"FCM answered HTTP {response.status} without a message name"
        return f"FCM message {name}"

    async def aclose(self) -> None:
        await self.http.aclose()


def _service_account(config: Table) -> dict[str, Any]:
    inline = config.string("service_account", "")
    path = config.string("service_account_file", "")
    key = "service_account" if inline else "service_account_file"
    if inline:
        text = inline
    elif path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise config.error(key, f"cannot read {path}: {exc.strerror}") from None
    else:
        raise config.error(key, "is required for provider fcm")
    try:
        account = jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        raise config.error(key, "is not valid JSON") from None
    if not isinstance(account, dict):
        raise config.error(key, "expected a service account JSON object")
    for field in ("client_email", "private_key"):
        if not isinstance(account.get(field), str) or not account[field]:
            raise ChannelConfigError(f"[channels.{config.name}] {key}: has no {field}")
    return account
