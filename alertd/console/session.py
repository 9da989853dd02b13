"""Console sessions: a signed, expiring cookie, and the CSRF tokens of its forms.

The cookie holds who signed in, when it expires, a random session id and a "binding", all
signed with HMAC-SHA256 under the session secret; nothing is stored on the server. So sessions
survive a restart (the secret is stable: `[server] session_secret`, or one generated once into
the state folder, mode 0600) and several daemons behind one address share them when they share
the secret. A session ends when it expires (`[server] session_lifetime`), when its person signs
out in that browser, when the person's `password_hash` changes or the person is removed, when
the admin token it was opened with is removed (the binding is an HMAC of the hash or token,
checked on every request), or for everyone when the secret changes.

Every form carries a CSRF token: an HMAC of the session id (the sign-in form, before there is a
session, uses a random `alertd_signin` cookie instead). Together with `SameSite=Strict` this
keeps other sites from posting forms as the person signed in.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from alertd import jsonutil
from alertd.clock import Clock
from alertd.signing import kept_secret

SESSION_COOKIE = "alertd_session"
SIGNIN_COOKIE = "alertd_signin"
SECRET_FILE = "session-secret"
SIGNIN_LIFETIME = 3600  # seconds a sign-in form stays usable


@dataclass(frozen=True, slots=True)
class User:
    """Who a session belongs to: a person of oncall.toml, or an admin token's holder."""

    subject: str  # "person:ID" or "token"
    name: str  # for people to read, and the `by` of what they do
    session_id: str
    expires: float
    binding: str

    @property
    def person(self) -> str | None:
        return self.subject.removeprefix("person:") if self.subject.startswith("person:") else None

    @property
    def actor(self) -> str:
        """Who what they do is recorded as (`by`): a person's id, else the name given."""
        return self.person or self.name


class Sessions:
    """Makes and reads session cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes, lifetime: float, secure: bool, clock: Clock) -> None:
        self._secret = secret
        self.lifetime = lifetime
        self.secure = secure  # the console is reached over https: cookies only go there
        self.clock = clock

    # --- sessions ----------------------------------------------------------------------------

    def open(self, subject: str, name: str, credential: str) -> tuple[User, str]:
        """A new session for `subject`, bound to `credential` (a password hash, or a token):
        the user and the Set-Cookie header value."""
        now = self.clock.now()
        user = User(
            subject, name, secrets.token_urlsafe(16), now + self.lifetime, self.binding(credential)
        )
        payload = {
            "sub": user.subject,
            "name": user.name,
            "sid": user.session_id,
            "exp": user.expires,
            "bind": user.binding,
        }
        value = self._sign(jsonutil.dumps(payload))
        return user, self._cookie(SESSION_COOKIE, value, round(self.lifetime))

    def read(self, cookie_header: str | None) -> User | None:
        """The user of a request's session cookie; None when there is none, or it is forged,
        malformed or expired. (Whether its binding still holds is the caller's to check.)"""
        value = cookies(cookie_header).get(SESSION_COOKIE)
        payload = self._verify(value) if value else None
        if payload is None:
            return None
        try:
            data = jsonutil.loads(payload)
            user = User(
                str(data["sub"]),
                str(data["name"]),
                str(data["sid"]),
                float(data["exp"]),
                str(data["bind"]),
            )
        except (jsonutil.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        return user if user.expires > self.clock.now() else None

    def close(self) -> str:
        """The Set-Cookie header value that removes the session cookie."""
        return self._cookie(SESSION_COOKIE, "", 0)

    def binding(self, credential: str) -> str:
        """What ties a session to the credential it was opened with, without revealing it."""
        return self._mac(b"bind:" + credential.encode("utf-8", "surrogateescape"))[:32]

    # --- CSRF --------------------------------------------------------------------------------

    def csrf_token(self, user: User) -> str:
        return self._mac(b"csrf:" + user.session_id.encode())

    def signin_nonce(self, cookie_header: str | None) -> tuple[str, str | None]:
        """The sign-in form's nonce: the browser's `alertd_signin` cookie, or a new one with
        the Set-Cookie header value that sets it."""
        nonce = cookies(cookie_header).get(SIGNIN_COOKIE, "")
        if len(nonce) >= 16 and nonce.isascii():
            return nonce, None
        nonce = secrets.token_urlsafe(16)
        return nonce, self._cookie(SIGNIN_COOKIE, nonce, SIGNIN_LIFETIME)

    def signin_token(self, nonce: str) -> str:
        return self._mac(b"signin:" + nonce.encode())

    @staticmethod
    def same(given: str | None, expected: str) -> bool:
        """Compare a token from a form with the expected one in constant time."""
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    # --- signing -----------------------------------------------------------------------------

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._secret, data, hashlib.sha256).hexdigest()

    def _sign(self, payload: bytes) -> str:
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._mac(body.encode())}"

    def _verify(self, value: str) -> bytes | None:
        body, _, mac = value.rpartition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(body.encode()).encode()):
            return None
        with contextlib.suppress(binascii.Error, ValueError):
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return None

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        """HttpOnly (no script reads it), SameSite=Strict (no other site sends it), for the
        console's paths only, Secure when the console is reached over https."""
        flags = f"{name}={value}; Path=/ui; Max-Age={max_age}; HttpOnly; SameSite=Strict"
        return flags + "; Secure" if self.secure else flags


def cookies(header: str | None) -> dict[str, str]:
    """The cookies of a `Cookie` header, by name (the first of a name wins)."""
    found: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in found:
            found[name] = value.strip().strip('"')
    return found


def session_secret(configured: str, state_folder: Path) -> bytes:
    """The secret sessions are signed with: `[server] session_secret` when set, else a random
    one kept in `<state folder>/session-secret` (made on first use, mode 0600), so that a
    restart keeps everyone signed in. Raises OSError when that file cannot be read or made."""
    return kept_secret(configured, state_folder / SECRET_FILE)
