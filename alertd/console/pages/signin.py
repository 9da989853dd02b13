"""Signing in and out: with a person's password (oncall.toml `password_hash`, made by `alertd
passwd`) or with an admin token. Attempts are rate limited per client address and per name
(alertd.console.ratelimit) before anything is checked, and a wrong name costs the same time as
a wrong password."""

from __future__ import annotations

import asyncio
import logging
import math

from alertd.console.page import Page
from alertd.console.passwords import verify_password
from alertd.console.routing import get, post
from alertd.server.asgi import Response
from alertd.server.auth import Role

log = logging.getLogger("alertd.console")

DEFAULT_PAGE = "/ui/alerts"
MAX_NAME = 100


@get("/ui/signin", public=True)
async def signin_form(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(_next(page.arg("next")))
    return _form(page)


@post("/ui/signin", public=True)
async def signin(page: Page) -> Response:
    site = page.site
    method = page.field("method")
    name = page.field("name").strip()[:MAX_NAME]
    limited_name = name if method == "password" else None  # a token has no name to limit
    wait = site.limiter.retry_after(page.client, limited_name)
    if wait is not None:
        page.headers.append(("Retry-After", str(math.ceil(wait))))
        minutes = math.ceil(wait / 60)
        message = f"Too many failed sign-ins. Try again in {minutes} minute(s)."
        return _form(page, 429, message, name)
    if method == "password":
        opened = await _person(page, name, page.field("password"))
    else:
        opened = _token(page, name, page.field("token"))
    if opened is None:
        site.limiter.failed(page.client, limited_name)
        log.warning("console sign-in refused", extra={"user": name, "client": page.client})
        wrong = "Wrong name or password." if method == "password" else "That is not an admin token."
        return _form(page, 401, wrong, name)
    if limited_name is not None:
        site.limiter.succeeded(limited_name)
    log.info("console sign-in", extra={"user": opened, "client": page.client})
    return page.redirect(_next(page.field("next")))


@post("/ui/signout")
async def signout(page: Page) -> Response:
    page.headers.append(("Set-Cookie", page.site.sessions.close()))
    return page.redirect("/ui/signin")


async def _person(page: Page, name: str, password: str) -> str | None:
    """Open a session for a person whose password is right; who it is, or None."""
    oncall = page.site.people.current()
    person = None if oncall is None else oncall.people.get(name)
    password_hash = None if person is None else person.password_hash
    if not await asyncio.to_thread(verify_password, password_hash, password):
        return None
    assert person is not None and password_hash is not None  # verify_password said so
    _user, cookie = page.site.sessions.open(f"person:{person.id}", person.name, password_hash)
    page.headers.append(("Set-Cookie", cookie))
    return person.id


def _token(page: Page, name: str, token: str) -> str | None:
    """Open a session for whoever holds an admin token, by the name they give (else "admin")."""
    if not token or page.site.admin.role(f"Bearer {token}") is not Role.ADMIN:
        return None
    who = name or "admin"
    _user, cookie = page.site.sessions.open("token", who, token)
    page.headers.append(("Set-Cookie", cookie))
    return who


def _form(page: Page, status: int = 200, error: str = "", name: str = "") -> Response:
    sessions = page.site.sessions
    nonce, cookie = sessions.signin_nonce(page.request.headers.get("cookie"))
    if cookie is not None:
        page.headers.append(("Set-Cookie", cookie))
    people = page.site.people.current()
    return page.render(
        "signin.html",
        status,
        error=error,
        name=name,
        next=_next(page.arg("next") or page.field("next")),
        signin_token=sessions.signin_token(nonce),
        people_enabled=people is not None and any(p.password_hash for p in people.people.values()),
    )


def _next(target: str) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target.startswith("/ui/") and not target.startswith("/ui/signin") and "\\" not in target:
        return target if "//" not in target else DEFAULT_PAGE
    return DEFAULT_PAGE
