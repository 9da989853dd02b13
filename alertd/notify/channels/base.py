"""What every channel is, and the reading of its `[channels.NAME]` table.

A channel turns a `Notification` into one request to its provider. `send` returns the
provider's receipt (a message id, an SMTP reply) as text, or raises `DeliveryError` saying
whether a retry may help; it never lets its client library's own exceptions escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from alertd.config import DispatchSettings
from alertd.notify.errors import ChannelConfigError
from alertd.notify.notification import Notification


class Channel(Protocol):
    """A destination: `send` one notification, `aclose` when the dispatcher stops."""

    name: str

    async def send(self, notification: Notification) -> str:
        """Deliver it; return the provider's receipt. Raises DeliveryError."""
        ...

    async def aclose(self) -> None:
        """Release connections and sessions."""
        ...


class Table:
    """A channel's config table (`[channels.NAME]`) with typed getters whose errors name the
    channel and the key. alertd.config has checked the keys and the kinds of their values
    already; the getters say what a channel cannot send without."""

    def __init__(self, name: str, table: Mapping[str, Any]) -> None:
        self.name = name
        self.raw = table

    def error(self, key: str, message: str) -> ChannelConfigError:
        return ChannelConfigError(f"[channels.{self.name}] {key}: {message}")

    def string(self, key: str, default: str | None = None) -> str:
        """A string; a missing or empty one is an error unless a default is given."""
        value = self.raw.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, "expected a string")
        if not value and default is None:
            raise self.error(key, "is required (is its environment variable set?)")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "expected true or false")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "expected an integer")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.error(key, "expected a non-negative number of seconds")
        return float(value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self.raw.get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.error(key, "expected a table of strings")
        return dict(value)

    def timeout(self, dispatch: DispatchSettings) -> float:
        """The per-request timeout: the table's `timeout`, else `[dispatch] timeout`."""
        return self.number("timeout", dispatch.timeout) or dispatch.timeout

    def concurrency(self, dispatch: DispatchSettings) -> int:
        """Sends in flight at once: the table's `concurrency`, else `[dispatch] concurrency`.

        alertd.config checks the value and reports a bad one (the dispatcher fails that lane
        visibly), so here a bad one only falls back to the default.
        """
        value = self.raw.get("concurrency")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        return dispatch.concurrency

    def url(self, key: str, default: str | None = None) -> str:
        value = self.string(key, default)
        if value and not value.startswith(("http://", "https://")):
            raise self.error(key, f"expected an http:// or https:// URL, got {value!r}")
        return value
