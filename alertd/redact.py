"""What may be shown of a recipient or a URL: one public form for logs, API answers and errors.

Recipients and provider URLs can carry credentials, so alertd shows them everywhere (log lines,
`GET /v1/alerts/{id}`, delivery errors, `alertd send-test`) in one public form:

- a URL (a webhook recipient, a provider's `base_url`) loses its user info, query and fragment,
  where credentials go: `http://bob:pw@hooks.example.com/alerts?token=abc` is shown as
  `http://hooks.example.com/alerts`;
- a push recipient is a credential in itself (an ntfy topic lets anyone who knows it subscribe
  and publish; an FCM registration token addresses one device), so only a short prefix is
  shown: at most a quarter of it and never more than 8 characters, then `…`
  (`fleet-alerts-7f3a` is `flee…`);
- e-mail addresses, phone numbers and Slack channels are shown as they are: the people who
  read alertd's log need them to tell who was (not) told.

`redact_urls` is the logs' safety net for URLs that reach a line some other way (a library's
exception text, a dry run's rendered notification): what can hold a credential becomes
`[redacted]` — user info, a query that is one bare value (`?AbC123`), and the value of every
query or fragment parameter whose name looks like a credential's (`token`, `access_token`,
`api_key`, `password`, `sig`, `X-Amz-Signature`, `auth`, `session`, ...), and the token of an
alert email's action link (`/v1/act/<token>`: it acts on the alert). Other parameters are
kept as they are, so a map link (`https://maps.google.com/?q=52.37,4.89`) or a dashboard link
in a notification stays usable; a secret under an innocent name is not recognised here, which
is why the configured secrets themselves are removed from every log line wherever they appear.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
MASK = "…"
MAX_SHOWN = 8  # characters of a push recipient shown at most

# A URL inside free text (a log line, perhaps JSON-escaped): it ends at whitespace, a quote, a
# bracket or a backslash, so a JSON escape after it is never taken into it.
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)"
    r"(?P<userinfo>[^\s/?#\"'<>\\]*@)?"
    r"(?P<rest>[^\s?#\"'<>\\]*)"
    r"(?:\?(?P<query>[^\s#\"'<>\\]*))?"
    r"(?:\#(?P<fragment>[^\s\"'<>\\]*))?"
)
ACTION_LINK = "/v1/act/"  # an email's action link: the path segment after it is a key
_ACTION_TOKEN = re.compile(re.escape(ACTION_LINK) + r"[^/]+")
_PARAMETER = re.compile(r"(?P<name>[^&=;]*)(?P<value>=[^&;]*)?")
CREDENTIAL_NAME = re.compile(
    r"token|secret|passw|pwd|key|signature|auth|credential|session|cookie|jwt|hmac"
    r"|(?:^|[^a-z])(?:sig|pass|pw|code|sid|hash)(?:[^a-z]|$)",
    re.IGNORECASE,
)
"""A name (a URL's query parameter, a header) that says its value is a credential. Substrings
are matched (`apikey`, `X-Goog-Credential`, `client_secret`, `Proxy-Authorization`), short words
only whole (`sig` but not `signal`): hiding a harmless value costs less than showing a secret."""


@lru_cache(maxsize=4096)
def public_recipient(kind: str, recipient: str) -> str:
    """The form of a channel kind's recipient that may be logged or shown in the API."""
    if kind == "push":
        return masked(recipient)
    if "://" in recipient:
        return public_url(recipient)
    return recipient


def public_url(url: str) -> str:
    """`url` without its user info, query and fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urllib can split (a broken IPv6 host): redact what we find
        return redact_urls(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def masked(secret: str) -> str:
    """A short prefix of `secret`, enough to tell several apart and too little to use one."""
    if not secret:
        return secret
    return secret[: min(MAX_SHOWN, len(secret) // 4)] + MASK


def redact_urls(text: str) -> str:
    """`text` with the user info and credential-like parameters of every URL in it redacted."""
    if "://" not in text or (
        "@" not in text and "?" not in text and "#" not in text and ACTION_LINK not in text
    ):
        return text  # no URL in it, or none with user info, a query, a fragment or a token
    return _URL.sub(_redact_url, text)


def _redact_url(match: re.Match[str]) -> str:
    url = match["scheme"]
    if match["userinfo"]:
        url += f"{REDACTED}@"
    rest = match["rest"]
    if ACTION_LINK in rest:
        rest = _ACTION_TOKEN.sub(ACTION_LINK + REDACTED, rest)
    url += rest
    query = match["query"]
    if query is not None:
        if query and "=" not in query:  # `?AbC123`: one bare value, as API keys are passed
            url += f"?{REDACTED}"
        else:
            url += "?" + _PARAMETER.sub(_redact_parameter, query)
    fragment = match["fragment"]
    if fragment is not None:  # `#access_token=...` (OAuth); a bare `#anchor` is kept
        url += "#" + (_PARAMETER.sub(_redact_parameter, fragment) if "=" in fragment else fragment)
    return url


def _redact_parameter(match: re.Match[str]) -> str:
    name, value = match["name"], match["value"]
    if value is None or len(value) == 1 or not CREDENTIAL_NAME.search(name):
        return match.group(0)  # a flag, an empty value or a harmless one
    return f"{name}={REDACTED}"
