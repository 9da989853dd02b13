"""The console's pages from Jinja templates (alertd/console/templates), HTML-escaped.

This is the console's own, trusted Jinja environment, apart from the sandbox that renders
notifications (alertd.notify.render): every `{{ ... }}` is escaped, so event text shown on a
page is text, never markup. Static files (alertd/console/static) are linked with a hash of
their content in the URL, so browsers may keep them for good and still get a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from alertd.durations import format_duration

STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


class Templates:
    def __init__(self, zone: ZoneInfo, nav: Sequence[Any]) -> None:
        """`nav`: the navigation bar's entries (each with `title` and `path`), kept by
        reference, so that pages registered later still appear."""
        self.zone = zone
        self.static = load_static()
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("alertd.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(when=self.when, duration=format_duration, pretty=pretty_json)
        self._env.globals.update(nav=nav, static=self.static_url)

    def render(self, template: str, **values: Any) -> str:
        return self._env.get_template(template).render(**values)

    def static_url(self, name: str) -> str:
        return f"/ui/static/{name}?v={self.static[name][1]}"

    def when(self, moment: str | float | datetime | None) -> str:
        """A time as people read it, in the console's zone ([notify] timezone)."""
        if moment is None or moment == "":
            return "-"
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        elif not isinstance(moment, datetime):
            moment = datetime.fromtimestamp(moment, UTC)
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def pretty_json(value: Any) -> str:
    """A value as indented JSON, for reading (escaped like any other text on the page)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def load_static() -> dict[str, tuple[bytes, str]]:
    """Every static file by name: its bytes and a short hash of them."""
    found: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files("alertd.console").joinpath("static").iterdir():
        if entry.is_file() and any(entry.name.endswith(suffix) for suffix in STATIC_TYPES):
            data = entry.read_bytes()
            found[entry.name] = (data, hashlib.sha256(data).hexdigest()[:12])
    return found
