"""The console's live updates: the alert stream (alertd.server.stream) with a session instead
of a token, so the browser never holds one. The pages' script follows it."""

from __future__ import annotations

from alertd.console.page import Page
from alertd.console.routing import get
from alertd.server.asgi import Response


@get("/ui/stream")
async def stream(page: Page) -> Response:
    answer = page.site.streams.answer(page.request.headers, page.query)
    answer.receive = page.request.receive
    return answer
