"""What a console handler gets: the request, who is signed in, and the site's parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from alertd.clock import Clock
from alertd.config import Settings
from alertd.console.people import OnCallFile
from alertd.console.ratelimit import LoginLimiter
from alertd.console.render import Templates
from alertd.console.session import Sessions, User
from alertd.core import Core
from alertd.server.asgi import Request, Response
from alertd.server.auth import TokenAuth
from alertd.server.stream import Streams

HTML = "text/html; charset=utf-8"


@dataclass
class Site:
    """The parts every page shares, made once by the console."""

    core: Core
    settings: Settings
    admin: TokenAuth  # checks a token given to sign in
    admin_tokens: tuple[str, ...]  # what sessions opened with a token are bound to
    sessions: Sessions
    people: OnCallFile
    limiter: LoginLimiter
    streams: Streams
    templates: Templates
    clock: Clock


@dataclass
class Page:
    """One request to the console."""

    site: Site
    request: Request
    user: User | None
    client: str  # the client's address
    params: dict[str, str] = field(default_factory=dict)  # the route's `{name}` segments
    form: Mapping[str, list[str]] = field(default_factory=dict)  # a POST's fields
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to the answer

    @property
    def core(self) -> Core:
        return self.site.core

    @property
    def query(self) -> dict[str, list[str]]:
        return self.request.query

    def arg(self, name: str) -> str:
        """A query parameter's first value, stripped; "" when absent."""
        return (self.query.get(name) or [""])[0].strip()

    def field(self, name: str) -> str:
        """A form field's first value; "" when absent."""
        return (self.form.get(name) or [""])[0]

    @property
    def csrf(self) -> str:
        return "" if self.user is None else self.site.sessions.csrf_token(self.user)

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        """A page of HTML from a template of alertd/console/templates (autoescaped)."""
        html = self.site.templates.render(
            template, user=self.user, csrf=self.csrf, path=self.request.path, **values
        )
        return Response(status, html.encode(), HTML, tuple(self.headers))

    def redirect(self, location: str) -> Response:
        """303 See Other: after a POST, the browser GETs `location` (a path of the console)."""
        return Response(303, b"", HTML, (*self.headers, ("Location", location)))


def signin_location(path: str, query: bytes) -> str:
    """The sign-in page, told where to go back to after."""
    back = path + ("?" + query.decode("latin-1") if query else "")
    return "/ui/signin?next=" + quote(back, safe="")
