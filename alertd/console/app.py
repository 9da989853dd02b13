"""The console's ASGI app: sessions, CSRF, security headers, static files, and the pages.

Mounted by the API at /ui (alertd.server.app `Api.mount`). Pages are rendered on the server and
work without JavaScript; the little script there is (static/console.js) adds live updates. It
talks to the same core as the API, never to the state store: an ack made here is the core's
ack, recorded with the person's name (and `via: web` once the core takes a `via`).

Every answer carries a Content-Security-Policy that allows scripts and styles from the console's
own files only (no inline script or style, nothing from elsewhere), and is not cached.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ServerSettings, Settings
from alertd.console import pages  # noqa: F401  (registers the pages' routes)
from alertd.console.page import Page, Site, signin_location
from alertd.console.people import OnCallFile
from alertd.console.ratelimit import LoginLimiter
from alertd.console.render import STATIC_TYPES, Templates
from alertd.console.routing import NAV, match
from alertd.console.session import Sessions, User, session_secret
from alertd.core import Core
from alertd.engine.errors import StateStoreError
from alertd.server.asgi import ClientGone, HttpError, Receive, Request, Response, Scope, Send
from alertd.server.auth import TokenAuth
from alertd.server.stream import Streams

log = logging.getLogger("alertd.console")

MAX_FORM = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class Console:
    """The ASGI app serving /ui/."""

    def __init__(
        self,
        core: Core,
        settings: Settings,
        server: ServerSettings,
        streams: Streams,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """`server` is the server settings in force (with the development token, if any).
        Raises OSError when the session secret cannot be read or made."""
        secret = session_secret(server.session_secret, settings.state.path.parent)
        secure = server.public_url.startswith("https://")
        self.site = Site(
            core=core,
            settings=settings,
            admin=TokenAuth((), server.admin_tokens),
            admin_tokens=server.admin_tokens,
            sessions=Sessions(secret, server.session_lifetime, secure, clock),
            people=OnCallFile(settings),
            limiter=LoginLimiter(clock),
            streams=streams,
            templates=Templates(ZoneInfo(settings.notify.timezone), NAV),
            clock=clock,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request.from_scope(scope, receive, self.site.settings.server.body_timeout)
        client = scope.get("client")
        try:
            response = await self._answer(request, str(client[0]) if client else "unknown")
            if not await request.discard_rest():  # a body it did not need: as the API does
                response.headers += (("Connection", "close"),)
        except ClientGone:
            return
        response.headers = (*response.headers, *SECURITY_HEADERS)
        if not any(name == "Cache-Control" for name, _ in response.headers):
            response.headers += (("Cache-Control", "no-store"),)
        await response.send(send)

    async def _answer(self, request: Request, client: str) -> Response:
        site = self.site
        user = self._user(request)
        page = Page(site, request, user, client)
        try:
            if request.path.startswith("/ui/static/") and request.method == "GET":
                return self._static(request.path.removeprefix("/ui/static/"))
            if request.path in ("/ui", "/ui/"):
                return page.redirect("/ui/alerts" if user else "/ui/signin")
            route, page.params = match(request.method, request.path)
            if not route.public and user is None:
                if request.method != "GET":
                    raise HttpError(403, "You are signed out; sign in and try again.")
                return page.redirect(signin_location(request.path, request.query_string))
            if request.method == "POST":
                page.form = await _read_form(request)
                self._check_csrf(page)
            return await route.handler(page)
        except HttpError as error:
            page.headers.extend(error.headers)
            return page.render("error.html", error.status, error=error)
        except StateStoreError:
            page.headers.append(("Retry-After", "1"))
            busy = HttpError(503, "alertd cannot read its state right now; try again.")
            return page.render("error.html", 503, error=busy)
        except ClientGone:
            raise
        except Exception:
            log.exception("console error", extra={"method": request.method, "path": request.path})
            broken = HttpError(500, "Something went wrong in alertd; the daemon's log says what.")
            return page.render("error.html", 500, error=broken)

    def _user(self, request: Request) -> User | None:
        """The signed-in user, if the session is valid and still bound to its credential."""
        site = self.site
        user = site.sessions.read(request.headers.get("cookie"))
        if user is None:
            return None
        if user.person is None:  # an admin token: one of the configured ones still matches
            bindings = (site.sessions.binding(token) for token in site.admin_tokens)
            return user if any(Sessions.same(user.binding, b) for b in bindings) else None
        oncall = site.people.current()
        person = None if oncall is None else oncall.people.get(user.person)
        if person is None or person.password_hash is None:
            return None
        return (
            user
            if Sessions.same(user.binding, site.sessions.binding(person.password_hash))
            else None
        )

    def _check_csrf(self, page: Page) -> None:
        sessions = self.site.sessions
        given = page.field("csrf")
        if page.user is not None:
            expected = sessions.csrf_token(page.user)
        else:
            nonce, _ = sessions.signin_nonce(page.request.headers.get("cookie"))
            expected = sessions.signin_token(nonce)
        if not sessions.same(given, expected):
            raise HttpError(
                403,
                "This form was not sent from this console, or it has expired: "
                "go back, reload the page and try again.",
            )

    def _static(self, name: str) -> Response:
        found = self.site.templates.static.get(name)
        if found is None:
            raise HttpError(404, "There is no such file.")
        data, _version = found
        kind = STATIC_TYPES[name[name.rindex(".") :]]
        return Response(200, data, kind, (("Cache-Control", "public, max-age=31536000"),))


async def _read_form(request: Request) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = await request.read_body(MAX_FORM)
    if body and kind != "application/x-www-form-urlencoded":
        raise HttpError(415, "Send the form as the page does (application/x-www-form-urlencoded).")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
