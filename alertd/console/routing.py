"""The console's routes and its navigation, registered by the page modules themselves.

A page is one handler and one template. The handler is an async function of a `Page` (the
request, who is signed in, the core) returning a Response, registered with `get` or `post`;
`nav="Title"` also puts it in the navigation bar, ordered by `order`:

    @get("/ui/silences", nav="Silences", order=30)
    async def silences(page: Page) -> Response:
        return page.render("silences.html", silences=...)

Every route needs a signed-in session unless it says `public=True`, and every POST a valid CSRF
token (alertd.console.app checks both before the handler runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from alertd.console.page import Page
from alertd.server.asgi import HttpError, Response

Handler = Callable[[Page], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # `{name}` marks a path segment given to the handler as page.params[name]
    handler: Handler = field(compare=False)
    public: bool = False  # reachable signed out


@dataclass(frozen=True, slots=True)
class NavItem:
    title: str
    path: str
    order: int


ROUTES: list[Route] = []
NAV: list[NavItem] = []


def get(
    path: str, *, nav: str | None = None, order: int = 100, public: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route("GET", path, handler, public))
        if nav is not None:
            NAV.append(NavItem(nav, path, order))
            NAV.sort(key=lambda item: item.order)
        return handler

    return register


def post(path: str, *, public: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route("POST", path, handler, public))
        return handler

    return register


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request and its path parameters. HttpError 404 or 405."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    allowed: list[str] = []
    for route in sorted(ROUTES, key=lambda route: "{" in route.path):  # exact paths first
        params = _params(route.path.split("/"), parts)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    if allowed:
        allow = ", ".join(sorted(set(allowed)))
        raise HttpError(405, f"method not allowed; use {allow}", headers=[("Allow", allow)])
    raise HttpError(404, "There is no such page.")


def _params(pattern: list[str], parts: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(parts):
        return None
    params: dict[str, str] = {}
    for expected, part in zip(pattern, parts, strict=True):
        if expected.startswith("{"):
            if not part:
                return None
            params[expected[1:-1]] = part
        elif expected != part:
            return None
    return params
