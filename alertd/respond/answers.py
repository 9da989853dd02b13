"""What the answering endpoints answer, in plain data the HTTP server sends as it is."""

from __future__ import annotations

from dataclasses import dataclass

from alertd import jsonutil


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """A status, a content type, a body, and headers of its own."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def refused(status: int, why: str) -> HookAnswer:
    """An error answer, in the API's shape (`{"error": ..., "details": []}`)."""
    return HookAnswer(status, "application/json", jsonutil.dumps({"error": why, "details": []}))
