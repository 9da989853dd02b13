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
exception text): user info and query values become `[redacted]`.
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
)
_QUERY_VALUE = re.compile(r"(?P<name>[^&=;]*)(?P<value>=[^&;]*)?")


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
    """`text` with the user info and query values of every URL in it replaced by [redacted]."""
    if "://" not in text or ("@" not in text and "?" not in text):
        return text  # no URL in it, or none with user info or a query
    return _URL.sub(_redact_url, text)


def _redact_url(match: re.Match[str]) -> str:
    url = match["scheme"]
    if match["userinfo"]:
        url += f"{REDACTED}@"
    url += match["rest"]
    if match["query"] is not None:
        url += "?" + _QUERY_VALUE.sub(_redact_value, match["query"])
    return url


def _redact_value(match: re.Match[str]) -> str:
    if not match.group(0):
        return ""
    if match["value"] is None:  # `?abc123`: a bare value
        return REDACTED
    return f"{match['name']}={REDACTED}"
