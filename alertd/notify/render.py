"""Alerts -> the text people read, with Jinja2's immutable sandbox: event data is untrusted, and
templates must not change the alert or event they are shown.

Templates live in the templates folder (`[rules] templates`), one folder per channel kind, one
file per part of the message:

    email/subject.txt  email/body.txt  email/body.html
    sms/text.txt
    slack/title.md     slack/text.md
    push/title.txt     push/body.txt   push/data.json
    webhook/body.json

A rule overrides any part with its `template "NAME"` clause (`NAME/<kind>/<part>`) or by the
naming convention `rules/<rule id>/<kind>/<part>`; parts it does not override come from the
defaults.

Every notification has a notice (`Notice`): `fired` (the page), `escalated` (a later step of
its escalation policy), `acked` and `resolved` (status updates to those it paged). Templates
see it as `notice`, with `escalation` (policy, step), `acked` and `resolved` (when, by whom,
through what) when they apply. A notice other than `fired` first looks
for its parts in a folder of its own, `<kind>/<notice>/<part>` (each of the three places
above: `email/resolved/subject.txt`), then uses the usual ones: the shipped templates have
`acked/` and `resolved/` folders for every channel that people read, and the webhook's body
says `"notice": "resolved"`.

The file's extension decides how every `{{ ... }}` is escaped, so escaping is never a
template author's job:

    .html  HTML-escaped (autoescape)
    .md    Slack mrkdwn: `&`, `<`, `>` escaped, so event text cannot `<!channel>` or forge links
    .txt   plain text
    .json  each `{{ ... }}` becomes a JSON value (strings quoted and escaped)

Every interpolated value is capped at `FIELD_MAX_CHARS`, and invalid UTF-8 (lone surrogates) is
replaced. The rendered parts are then cleaned per channel (`_finish`): email subjects and push
titles become one line (no CR/LF, so no header injection), SMS loses control characters and is
cut to `sms_max_segments` segments with an ellipsis (alertd.notify.sms_encoding counts them),
Slack text is cut to Slack's block limit.

Templates are compiled when a `Renderer` is built (at start and on reload); a template that fails
at run time is replaced by a built-in plain fallback for that message, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from alertd import jsonutil
from alertd.config import NotifySettings
from alertd.durations import format_duration
from alertd.model import Alert
from alertd.notify.errors import TemplateError, TemplateProblem
from alertd.notify.notification import NoticeKind
from alertd.notify.sms_encoding import cap_sms
from alertd.suggest import aside

FIELD_MAX_CHARS = 2000  # one interpolated value
SUBJECT_MAX_CHARS = 200
PUSH_TITLE_MAX_CHARS = 100
PUSH_BODY_MAX_CHARS = 1000
SLACK_TITLE_MAX_CHARS = 150  # Slack's header block limit
SLACK_TEXT_MAX_CHARS = 3000  # Slack's section block limit
BODY_MAX_CHARS = 100_000  # email bodies
ELLIPSIS = "…"

PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject.txt", "body.txt", "body.html"),
    "sms": ("text.txt",),
    "slack": ("title.md", "text.md"),
    "push": ("title.txt", "body.txt", "data.json"),
    "webhook": ("body.json",),
}
"""Template files per channel kind; the part's name in the rendered content is the file stem,
except that email's two bodies are `text` and `html`."""

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _SandboxedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with a shorter path for `mapping.key` on plain dicts.

    The context is plain dicts (`alert.id`, `event.speed_kmh`): the sandbox first tries the
    attribute, which fails with an AttributeError, then the key. For a `dict` and a name that
    is not one of dict's own attributes the attribute cannot exist, so looking up the key
    directly gives the same result (the value, or Undefined) without raising: a quarter of a
    webhook body's render. Everything else, and names like `items`, take the sandbox's path.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@dataclass(frozen=True, slots=True)
class Notice:
    """What a notification tells about its alert, as templates see it.

    `kind`: fired, escalated, acked or resolved. An escalation step names its policy, its
    number (1-based) in its round and the steps of the policy; an ack or a resolve says when,
    by whom (a person, a rule id) and through what.
    """

    kind: NoticeKind = "fired"
    at: float | None = None  # acked, resolved: when
    by: str | None = None
    via: str | None = None
    policy: str | None = None  # escalated (and the first step, fired): the policy and step
    step: int | None = None
    steps: int | None = None


FIRED = Notice()

BUNDLE = "bundle"
"""The folder of a channel's templates for a message that lists several alerts."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """One channel's message for one alert; `error` is set when the fallback was used."""

    content: dict[str, Any]
    error: str | None = None


def scrub(text: str) -> str:
    """Replace lone surrogates (invalid UTF-8 that no provider accepts) with U+FFFD."""
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


def cap(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Cut text to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(ellipsis))] + ellipsis


def one_line(text: str, limit: int) -> str:
    """Collapse every line break and control character to one space (header-safe)."""
    return cap(_LINE_BREAKS.sub(" ", text).strip(), limit)


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so `<!channel>` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clean_sms(text: str, max_segments: int) -> str:
    """SMS text: no control characters but line breaks, no trailing space, capped."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    # "…" (from a capped value) is not GSM-7 and would halve what fits in a segment.
    return cap_sms(text.replace(ELLIPSIS, "..."), max_segments)


# -- helpers available to templates ------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def key_text(key: Iterable[Any]) -> str:
    """The alert's key as people read it: its known parts, comma-separated. A part whose field
    the event lacked (null) is left out rather than shown as 'None'."""
    return ", ".join(str(part) for part in key if part is not None)


def map_link(location: Any = None, longitude: Any = None) -> str:
    """An OpenStreetMap link for `{latitude, longitude}` (or `lat`/`lon`) or two numbers."""
    latitude: Any = location
    if isinstance(location, Mapping):
        latitude = location.get("latitude", location.get("lat"))
        longitude = location.get("longitude", location.get("lon", location.get("lng")))
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return ""
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        return ""
    return (
        f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}"
        f"#map=15/{latitude:.5f}/{longitude:.5f}"
    )


CONTEXT_NAMES = frozenset(
    {
        "alert",
        "rule",
        "event",
        "count_events",
        "suppressed_count",
        "priority",
        "fired_at",
        "dashboard_url",
        "alert_url",
        "channel",
        "notice",
        "escalation",
        "acked",
        "resolved",
        "alerts",
        "bundle",
        "group",
    }
)
"""The names `Renderer.context` gives a template (a test keeps the two equal). `alerts`,
`bundle` and `group` are set for a message that lists several alerts (`render_bundle`), None
otherwise."""


class Renderer:
    """Compiled templates plus the settings they are rendered with.

    Build one with `Renderer.load(folder, settings.notify)`; rebuild it on reload. `render()`
    never raises: a failing template yields the built-in fallback, with the error in
    `Rendered.error` for the caller to log and count.
    """

    def __init__(self, folder: Path | None, notify: NotifySettings) -> None:
        self.folder = folder
        self.notify = notify
        try:
            self._zone: ZoneInfo | None = _zone(notify.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TemplateError.at(
                "[notify] timezone", 0, f"unknown time zone {notify.timezone!r}"
            ) from None
        loader = jinja2.FileSystemLoader(str(folder)) if folder is not None else None
        self._envs = {
            ".html": self._environment(loader, self._finalize_text, autoescape=True),
            ".md": self._environment(loader, self._finalize_slack),
            ".txt": self._environment(loader, self._finalize_text),
            ".json": self._environment(loader, _finalize_json),
        }
        self._templates: dict[str, jinja2.Template] = {}
        self._globals: dict[jinja2.Template, dict[str, Any]] = {}  # see `_render`
        self._fallbacks = {
            name: self._envs[Path(name).suffix].from_string(source)
            for name, source in _FALLBACKS.items()
        }

    @classmethod
    def load(cls, folder: Path | None, notify: NotifySettings) -> Renderer:
        """Compile every template under `folder`. Raises TemplateError listing every error."""
        renderer, errors = cls.load_what_compiles(folder, notify)
        if errors:
            raise TemplateError(errors)
        return renderer

    @classmethod
    def load_what_compiles(
        cls, folder: Path | None, notify: NotifySettings
    ) -> tuple[Renderer, list[TemplateProblem]]:
        """The renderer with every template under `folder` that compiles, and the problems of
        those that do not (`alertd check` goes on to render the ones that did). Raises
        TemplateError only when no renderer can be built at all (an unknown time zone)."""
        renderer = cls(folder, notify)
        errors: list[TemplateProblem] = []
        if folder is not None and folder.is_dir():
            for path in sorted(folder.rglob("*")):
                env = renderer._envs.get(path.suffix)
                if env is None or not path.is_file():
                    continue
                name = path.relative_to(folder).as_posix()
                try:
                    renderer._templates[name] = env.get_template(name)
                except jinja2.TemplateSyntaxError as exc:
                    errors.append(TemplateProblem(str(path), exc.lineno, str(exc.message)))
                except (UnicodeDecodeError, OSError) as exc:
                    errors.append(TemplateProblem(str(path), 0, f"cannot read template: {exc}"))
        elif folder is not None:
            errors.append(TemplateProblem(str(folder), 0, "templates folder not found"))
        return renderer, errors

    def _environment(
        self,
        loader: jinja2.BaseLoader | None,
        finalize: Callable[[Any], Any],
        *,
        autoescape: bool = False,
    ) -> ImmutableSandboxedEnvironment:
        env = _SandboxedEnvironment(
            loader=loader,
            autoescape=autoescape,
            finalize=finalize,
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=-1,
        )
        env.globals.update(localtime=self.localtime, map_link=map_link)
        env.filters.update(localtime=self.localtime, map_link=map_link)
        return env

    # -- finalizers: applied to the value of every {{ ... }} --------------------------------

    @staticmethod
    def _finalize_text(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if isinstance(value, jinja2.Undefined) or value is None:
            return ""
        return cap(scrub(value if isinstance(value, str) else str(value)), FIELD_MAX_CHARS)

    @staticmethod
    def _finalize_slack(value: Any) -> str:
        return slack_escape(Renderer._finalize_text(value))

    # -- helpers -------------------------------------------------------------------------------

    def localtime(self, value: Any, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
        """Epoch seconds (or an ISO-8601 string) as text in the configured time zone."""
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                moment = datetime.fromtimestamp(float(value), UTC)
            except (OverflowError, OSError, ValueError):
                return str(value)
        else:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self._zone).strftime(fmt)

    def alert_url(self, alert: Alert) -> str:
        base = self.notify.dashboard_url
        return f"{base}{quote(alert.id)}" if base else ""

    # -- rendering -----------------------------------------------------------------------------

    def candidates(self, alert: Alert, kind: str, part: str, notice: str = "fired") -> list[str]:
        """Template names tried for one part, most specific first: for a notice other than
        `fired`, its own folder's parts before the usual ones."""
        names = [f"rules/{alert.rule_id}/{kind}/{part}", f"{kind}/{part}"]
        if alert.template:
            names.insert(0, f"{alert.template.strip('/')}/{kind}/{part}")
        if notice != "fired":
            names = [name.replace(f"/{kind}/", f"/{kind}/{notice}/") for name in names[:-1]] + [
                f"{kind}/{notice}/{part}",
                *names,
            ]
        return names

    def context(self, alert: Alert, channel: str, notice: Notice = FIRED) -> dict[str, Any]:
        """What a template sees. Built once per alert, channel and notice."""
        fired_at = self.localtime(alert.fired_at)
        url = self.alert_url(alert)
        return {
            "alert": {
                "id": alert.id,
                "rule_id": alert.rule_id,
                "rule_name": alert.rule_name,
                "priority": alert.priority,
                "key": list(alert.key),
                "key_text": key_text(alert.key),
                "fired_at": alert.fired_at,
                "fired_at_local": fired_at,
                "fired_at_iso": datetime.fromtimestamp(alert.fired_at, UTC).isoformat(),
                "received_at": alert.received_at,
                "suppressed_count": alert.suppressed_count,
                "labels": dict(alert.labels),
                "description": alert.description,
                "url": url,
            },
            "rule": {
                "id": alert.rule_id,
                "name": alert.rule_name,
                "priority": alert.priority,
                "description": alert.description,
                "labels": dict(alert.labels),
            },
            "event": alert.event,
            "count_events": list(alert.count_events),
            "suppressed_count": alert.suppressed_count,
            "priority": alert.priority,
            "fired_at": fired_at,
            "dashboard_url": self.notify.dashboard_url,
            "alert_url": url,
            "channel": channel,
            "notice": notice.kind,
            "escalation": None
            if notice.step is None
            else {"policy": notice.policy, "step": notice.step, "steps": notice.steps},
            "acked": None if notice.kind != "acked" else self._acked(alert, notice),
            "resolved": None if notice.kind != "resolved" else self._resolved(alert, notice),
            "alerts": None,
            "bundle": None,
            "group": None,
        }

    def _acked(self, alert: Alert, notice: Notice) -> dict[str, Any]:
        at = notice.at if notice.at is not None else alert.received_at
        return {
            "at": at,
            "at_local": self.localtime(at),
            "at_iso": datetime.fromtimestamp(at, UTC).isoformat(),
            "by": notice.by or None,
            "via": notice.via,
        }

    def _resolved(self, alert: Alert, notice: Notice) -> dict[str, Any]:
        at = notice.at if notice.at is not None else alert.received_at
        return {
            "at": at,
            "at_local": self.localtime(at),
            "at_iso": datetime.fromtimestamp(at, UTC).isoformat(),
            "by": notice.by or None,
            "via": notice.via,
            "after": format_duration(round(max(0.0, at - alert.received_at))),
        }

    def render_strict(
        self, alert: Alert, kind: str, channel: str | None = None, notice: Notice = FIRED
    ) -> dict[str, Any]:
        """The channel's content for this alert and notice. Raises TemplateError naming every
        part that fails (a broken subject does not hide a broken body from `alertd check`)."""
        context = self.context(alert, channel or kind, notice)
        raw: dict[str, str] = {}
        files: dict[str, str] = {}  # part -> the template file that rendered it
        problems: list[TemplateProblem] = []
        for part in PARTS[kind]:
            template = self._find(alert, kind, part, notice.kind)
            if template is None:
                looked = ", ".join(self.candidates(alert, kind, part, notice.kind))
                where = self._where(f"{kind}/{part}")
                problems.append(
                    TemplateProblem(where, 0, f"template not found (looked for {looked})")
                )
                continue
            try:
                raw[part] = self._render(template, context)
                files[part] = str(template.filename)
            except Exception as exc:  # a sandboxed template can raise anything
                problems += _describe(exc, template).problems
        if problems:
            raise TemplateError(problems)
        return self._finish(kind, raw, alert, context, files)

    def render(
        self, alert: Alert, kind: str, channel: str | None = None, notice: Notice = FIRED
    ) -> Rendered:
        """The channel's content for this alert and notice; the built-in fallback when a
        template fails."""
        try:
            return Rendered(self.render_strict(alert, kind, channel, notice))
        except TemplateError as exc:
            error = str(exc)
        context = self.context(alert, channel or kind, notice)
        raw = {part: self._render_fallback(kind, part, context) for part in PARTS[kind]}
        return Rendered(self._finish(kind, raw, alert, context, {}), error)

    def render_bundle_strict(
        self,
        alerts: Sequence[tuple[Alert, str]],
        kind: str,
        channel: str,
        bundle: Mapping[str, Any],
    ) -> dict[str, Any]:
        """One message that lists several alerts, each with its status now: a group, a cap's
        summary, quiet hours' or a digest's (alertd.storms). Its templates are the parts in a
        `bundle/` folder (`sms/bundle/text.txt`, looked for where a notice's are, never the
        one-alert parts); they see the first alert as `alert`, every one in `alerts` (`alert`'s
        fields with its `event` and `status`), `bundle` (kind, count, key, headline, url) and,
        for a group, `group` (key, count). Raises TemplateError naming every failing part."""
        first = alerts[0][0]
        context = self._bundle_context(alerts, channel, bundle)
        raw: dict[str, str] = {}
        files: dict[str, str] = {}
        problems: list[TemplateProblem] = []
        for part in PARTS[kind]:
            template = self._find_bundle(first, kind, part)
            if template is None:  # the built-in one: a folder from before bundles had none
                raw[part] = self._render(self._fallbacks[f"{BUNDLE}:{kind}/{part}"], context)
                continue
            try:
                raw[part] = self._render(template, context)
                files[part] = str(template.filename)
            except Exception as exc:  # a sandboxed template can raise anything
                problems += _describe(exc, template).problems
        if problems:
            raise TemplateError(problems)
        return self._finish(kind, raw, first, context, files)

    def render_bundle(
        self,
        alerts: Sequence[tuple[Alert, str]],
        kind: str,
        channel: str,
        bundle: Mapping[str, Any],
    ) -> Rendered:
        """`render_bundle_strict`, with the built-in fallback when a template fails."""
        try:
            return Rendered(self.render_bundle_strict(alerts, kind, channel, bundle))
        except TemplateError as exc:
            error = str(exc)
        context = self._bundle_context(alerts, channel, bundle)
        raw = {
            part: self._render_fallback(f"{BUNDLE}:{kind}", part, context) for part in PARTS[kind]
        }
        return Rendered(self._finish(kind, raw, alerts[0][0], context, {}), error)

    def _bundle_context(
        self, alerts: Sequence[tuple[Alert, str]], channel: str, bundle: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = self.context(alerts[0][0], channel)
        context["alerts"] = [
            {**self.context(alert, channel)["alert"], "event": alert.event, "status": status}
            for alert, status in alerts
        ]
        context["bundle"] = {**bundle, "count": len(alerts)}
        if bundle.get("kind") == "group":
            context["group"] = {"key": list(bundle.get("key", ())), "count": len(alerts)}
        return context

    def _find_bundle(self, alert: Alert, kind: str, part: str) -> jinja2.Template | None:
        for name in self.candidates(alert, kind, part, BUNDLE):
            template = self._templates.get(name)
            if template is not None and f"/{kind}/{BUNDLE}/" in f"/{name}":
                return template
        return None

    def _render_fallback(self, kind: str, part: str, context: dict[str, Any]) -> str:
        try:
            return self._render(self._fallbacks[f"{kind}/{part}"], context)
        except Exception:  # even the fallback failed on a pathological alert: say so plainly
            return "{}" if part.endswith(".json") else "alertd: an alert fired (no details)"

    def _render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        """`template.render(context)`, less the cost of merging the template's globals into the
        context on every call (a walk over a ChainMap: a fifth of a webhook body's render).
        The globals are flattened once per template; the context wins over them, as in
        `render`, and errors are rewritten to point at template lines, as in `render`."""
        merged = self._globals.get(template)
        if merged is None:
            merged = self._globals[template] = dict(template.globals)
        ctx = template.new_context({**merged, **context}, shared=True)
        try:
            return template.environment.concat(template.root_render_func(ctx))
        except Exception:
            template.environment.handle_exception()

    def _find(
        self, alert: Alert, kind: str, part: str, notice: str = "fired"
    ) -> jinja2.Template | None:
        for name in self.candidates(alert, kind, part, notice):
            template = self._templates.get(name)
            if template is not None:
                return template
        return None

    def _where(self, name: str) -> str:
        return str(self.folder / name) if self.folder is not None else name

    def _finish(
        self,
        kind: str,
        raw: dict[str, str],
        alert: Alert,
        context: dict[str, Any],
        files: dict[str, str],
    ) -> dict[str, Any]:
        """Per-channel cleaning and caps; raises TemplateError for JSON that does not parse."""
        if kind == "email":
            return {
                "subject": one_line(scrub(raw["subject.txt"]), SUBJECT_MAX_CHARS),
                "text": cap(_CONTROL.sub("", scrub(raw["body.txt"])), BODY_MAX_CHARS),
                "html": cap(_CONTROL.sub("", scrub(raw["body.html"])), BODY_MAX_CHARS),
            }
        if kind == "sms":
            return {"text": clean_sms(scrub(raw["text.txt"]), self.notify.sms_max_segments)}
        if kind == "slack":
            return {
                "title": one_line(scrub(raw["title.md"]), SLACK_TITLE_MAX_CHARS),
                "text": cap(_CONTROL.sub("", scrub(raw["text.md"])).strip(), SLACK_TEXT_MAX_CHARS),
                "priority": alert.priority,
                "url": _url(context),
            }
        if kind == "push":
            data = _json_object(raw["data.json"], files.get("data.json", "push/data.json"))
            return {
                "title": one_line(scrub(raw["title.txt"]), PUSH_TITLE_MAX_CHARS),
                "body": cap(_CONTROL.sub("", scrub(raw["body.txt"])).strip(), PUSH_BODY_MAX_CHARS),
                "data": {str(k): v if isinstance(v, str) else _json(v) for k, v in data.items()},
                "priority": alert.priority,
                "url": _url(context),
            }
        if kind == "webhook":
            body = _json_object(raw["body.json"], files.get("body.json", "webhook/body.json"))
            return {"body": _json(body)}
        raise TemplateError.at(kind, 0, f"unknown channel kind {kind!r}")

    def unknown_names(self) -> list[TemplateProblem]:
        """Names a template reads that nothing defines (`{{ evnt.vehicle_id }}`): at run time
        they render as nothing, so `alertd check` reports them. A missing event field is not
        one of these; `event.anything` is always allowed."""
        problems: list[TemplateProblem] = []
        for name, template in self._templates.items():
            env = template.environment
            assert env.loader is not None  # templates in _templates come from the folder
            source = env.loader.get_source(env, name)[0]
            tree = env.parse(source)
            known = CONTEXT_NAMES | env.globals.keys()
            for unknown in sorted(jinja2.meta.find_undeclared_variables(tree) - known):
                line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == unknown), 1)
                hint = aside(unknown, known)
                message = f"unknown name {unknown!r}{hint}: it would render as nothing"
                problems.append(TemplateProblem(str(template.filename), line, message))
        return problems

    def check(self, alerts: Iterable[tuple[Alert, Iterable[str]]]) -> list[TemplateProblem]:
        """Render each alert for each of its channel kinds strictly, for every notice; every
        problem found."""
        problems: list[TemplateProblem] = []

        def found(error: TemplateError) -> None:
            seen = {(p.path, p.line) for p in problems}  # once per place, not per notice
            problems.extend(p for p in error.problems if (p.path, p.line) not in seen)

        for alert, kinds in alerts:
            for kind in kinds:
                for notice in SAMPLE_NOTICES:
                    try:
                        self.render_strict(alert, kind, notice=notice)
                    except TemplateError as exc:
                        found(exc)
                for bundle in SAMPLE_BUNDLES:  # a message listing it twice, of every kind
                    try:
                        self.render_bundle_strict([(alert, "firing")] * 2, kind, kind, bundle)
                    except TemplateError as exc:
                        found(exc)
        return problems


def _url(context: Mapping[str, Any]) -> str:
    """A message's link: to its alert, or where all the alerts of a bundle are listed."""
    bundle = context.get("bundle")
    return str(bundle.get("url") or "") if bundle else str(context["alert_url"])


def _json(value: Any) -> str:
    options = jsonutil.OPT_NON_STR_KEYS
    try:
        return jsonutil.dumps(value, default=str, option=options).decode()
    except TypeError:  # a string with lone surrogates: scrub every string, then encode
        return jsonutil.dumps(_scrub_deep(value), default=str, option=options).decode()


def _scrub_deep(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {_scrub_deep(k): _scrub_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_deep(v) for v in value]
    return value


def _finalize_json(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        return "null"
    return _json(value)


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = jsonutil.loads(text)
    except jsonutil.JSONDecodeError as exc:
        raise TemplateError.at(where, exc.lineno, f"rendered JSON is invalid: {exc.msg}") from None
    if not isinstance(value, dict):
        raise TemplateError.at(where, 0, "rendered JSON must be an object")
    return value


def _describe(exc: Exception, template: jinja2.Template) -> TemplateError:
    """The TemplateError, with file and line, for an exception raised while rendering."""
    line = 1
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == template.filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return TemplateError.at(str(template.filename), line, message)


_FALLBACK_SUMMARY = (
    "{% if notice == 'resolved' %}Resolved: {% elif notice == 'escalated' %}Escalated: "
    "{% elif notice == 'acked' %}Acknowledged: "
    "{% endif %}{{ alert.rule_name }} ({{ alert.priority }}) fired at {{ fired_at }}"
    "{% if alert.key_text %} for {{ alert.key_text }}{% endif %}."
    "{% if suppressed_count %} {{ suppressed_count }} more suppressed since.{% endif %}"
    "{% if alert_url %} {{ alert_url }}{% endif %}"
)

_FALLBACKS: dict[str, str] = {
    "email/subject.txt": "{% if notice == 'resolved' %}[RESOLVED] "
    "{% elif notice == 'acked' %}[ACKED] {% endif %}"
    "[{{ alert.priority | upper }}] {{ alert.rule_name }}",
    "email/body.txt": _FALLBACK_SUMMARY + "\n\nAlert {{ alert.id }}.\n",
    "email/body.html": "<p>" + _FALLBACK_SUMMARY + "</p><p>Alert {{ alert.id }}.</p>",
    "sms/text.txt": "[{{ alert.priority | upper }}] "
    + _FALLBACK_SUMMARY.replace(" ({{ alert.priority }})", ""),
    "slack/title.md": "{{ alert.rule_name }}",
    "slack/text.md": _FALLBACK_SUMMARY,
    "push/title.txt": "{% if notice == 'resolved' %}[RESOLVED] "
    "{% elif notice == 'acked' %}[ACKED] {% endif %}"
    "[{{ alert.priority | upper }}] {{ alert.rule_name }}",
    "push/body.txt": _FALLBACK_SUMMARY,
    "push/data.json": '{"alert_id": {{ alert.id }}, "rule_id": {{ alert.rule_id }},'
    ' "notice": {{ notice }}}',
    "webhook/body.json": (
        '{"alert_id": {{ alert.id }}, "rule": {"id": {{ rule.id }}, "name": {{ rule.name }}},'
        ' "priority": {{ alert.priority }}, "key": {{ alert.key }},'
        ' "fired_at": {{ alert.fired_at_iso }}, "suppressed_count": {{ suppressed_count }},'
        ' "labels": {{ alert.labels }}, "event": {{ event }}, "url": {{ alert_url }},'
        ' "notice": {{ notice }}, "acked": {{ acked }}, "resolved": {{ resolved }},'
        ' "fallback": true}'
    ),
}
"""Built-in plain messages used when a template fails at run time."""

_BUNDLE_LIST = (
    "{% for a in alerts[:10] %}[{{ a.priority | upper }}] {{ a.rule_name }}"
    "{% if a.key_text %}: {{ a.key_text }}{% endif %} at {{ a.fired_at_local }}"
    "{% if a.status != 'firing' %} ({{ a.status }}){% endif %}\n{% endfor %}"
    "{% if bundle.count > 10 %}and {{ bundle.count - 10 }} more\n{% endif %}"
    "{% if bundle.url %}{{ bundle.url }}{% endif %}"
)

_FALLBACKS.update(
    {
        "bundle:email/subject.txt": "{{ bundle.headline }}",
        "bundle:email/body.txt": "{{ bundle.headline }}\n\n" + _BUNDLE_LIST,
        "bundle:email/body.html": "<p>{{ bundle.headline }}</p><ul>{% for a in alerts %}"
        "<li>[{{ a.priority | upper }}] {{ a.rule_name }} {{ a.key_text }}"
        " ({{ a.status }})</li>{% endfor %}</ul>"
        "{% if bundle.url %}<p>{{ bundle.url }}</p>{% endif %}",
        "bundle:sms/text.txt": "{{ bundle.headline }}:\n" + _BUNDLE_LIST,
        "bundle:slack/title.md": "{{ bundle.headline }}",
        "bundle:slack/text.md": _BUNDLE_LIST,
        "bundle:push/title.txt": "{{ bundle.headline }}",
        "bundle:push/body.txt": _BUNDLE_LIST,
        "bundle:push/data.json": '{"alert_ids": {{ alerts | map(attribute="id") | list }},'
        ' "bundle": {{ bundle.kind }}, "count": {{ bundle.count }}}',
        "bundle:webhook/body.json": (
            '{"notice": {{ notice }}, "bundle": {"kind": {{ bundle.kind }},'
            ' "count": {{ bundle.count }}}, "group": {{ group }}, "alerts": ['
            '{% for a in alerts %}{"alert_id": {{ a.id }}, "rule": {{ a.rule_id }},'
            ' "priority": {{ a.priority }}, "key": {{ a.key }}, "status": {{ a.status }},'
            ' "event": {{ a.event }}}{% if not loop.last %},{% endif %}{% endfor %}],'
            ' "url": {{ bundle.url }}, "fallback": true}'
        ),
    }
)
"""Built-in plain messages for a message that lists several alerts (`Renderer.render_bundle`),
used when a bundle template fails or the templates folder has none."""

SAMPLE_NOTICES = (
    FIRED,
    Notice("escalated", policy="sample", step=2, steps=2),
    Notice("acked", at=1_767_225_800.0, by="alice", via="sms"),
    Notice("resolved", at=1_767_225_900.0, by="alice", via="api"),
)
"""A notice of each kind, for checking that every template renders whatever it says."""

SAMPLE_BUNDLES = tuple(
    {"kind": kind, "key": ["sample"] if kind == "group" else [], "headline": "2 alerts", "url": ""}
    for kind in ("group", "cap", "quiet", "digest")
)
"""A bundle of each kind (alertd.storms), for checking the `bundle/` templates."""
