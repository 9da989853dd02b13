"""The SMS channel: one message per recipient through Twilio's Messages API (twilio SDK), and
the two pieces of Twilio's inbound side that answering by SMS needs (alertd.respond.sms_hook):
checking a webhook's `X-Twilio-Signature` with the SDK's own `RequestValidator`, and the
TwiML that answers it.

`base_url` points the SDK at another endpoint (a regional edge, a proxy, a local test server).
Twilio answers with a message SID and a status ("queued"); that is the receipt. Its REST errors
carry an HTTP status, classified by the shared retry policy, and a Twilio error code shown in
the error text (21211 is an invalid "To" number, 21608 an unverified trial number, ...).
"""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from alertd.clock import Clock
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification
from alertd.notify.retry import is_retryable_status
from alertd.redact import public_url


class SmsChannel:
    """Sends the rendered SMS text to one phone number per notification."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.account_sid = config.string("account_sid")
        self.auth_token = config.string("auth_token")
        self.sender = config.string("from", "")
        self.messaging_service_sid = config.string("messaging_service_sid", "")
        if not self.sender and not self.messaging_service_sid:
            raise config.error("from", "is required (or messaging_service_sid)")
        self.base_url = config.url("base_url", "https://api.twilio.com")
        self.timeout = config.timeout(dispatch)
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def _twilio(self) -> Client:
        # The SDK's aiohttp session must be made inside the running event loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self.timeout)
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            self._client.api.base_url = self.base_url.rstrip("/")
        return self._client

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no recipient (to)", retryable=False)
        sender: dict[str, str] = (
            {"from_": self.sender}
            if self.sender
            else {"messaging_service_sid": self.messaging_service_sid}
        )
        try:
            message = await self._twilio().messages.create_async(
                to=notification.recipient, body=notification.content["text"], **sender
            )
        except TwilioRestException as exc:
            code = f" (Twilio error {exc.code})" if exc.code else ""
            raise DeliveryError(
                f"Twilio answered HTTP {exc.status}: {exc.msg}{code}",
                retryable=is_retryable_status(exc.status),
                status=exc.status,
            ) from exc
        except TwilioException as exc:
            raise DeliveryError(f"Twilio: {exc}", retryable=True) from exc
        except Exception as exc:  # aiohttp's connection errors and timeouts
            raise DeliveryError(
                f"Twilio {public_url(self.base_url)}: cannot reach the API: {_describe(exc)}",
                retryable=True,
            ) from exc
        if not message.sid:
            return "Twilio accepted the request but answered without a message SID"
        return f"Twilio message {message.sid} {message.status or '(no status given)'}"

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def signed_by_twilio(auth_token: str, url: str, params: dict[str, str], signature: str) -> bool:
    """Whether `signature` (the `X-Twilio-Signature` header) is Twilio's for a POST of `params`
    to `url` (as Twilio was told to call it), signed with the account's auth token.

    The SDK's validator compares in constant time, and tries the URL with and without its
    default port, as Twilio's own signers differ on it."""
    try:
        return bool(RequestValidator(auth_token).validate(url, params, signature))
    except (TypeError, ValueError, UnicodeError):  # a header no signer could have made
        return False


def twiml_answer(text: str | None) -> str:
    """The TwiML answering an inbound SMS: a reply with `text`, or none (`<Response />`)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)
