"""The event schema (`[rules] schema`): which fields each event type has, and of which kind.

    # rules/events.yaml
    "*":                         # fields every event has
      type: string
      timestamp: time
      vehicle_id: string
    location_update:
      speed_kmh: number
      engine_on: boolean
      location: {lat: number, lon: number}   # an object, and its own fields
    breakdown: {}                # nothing more than the "*" fields

The kinds are `string`, `number`, `boolean`, `object` (a mapping of its fields, when they are
known), `list` and `time` (an ISO-8601 string with a zone, or epoch seconds or milliseconds).
Every field may be missing from an event (a rule sees null): the schema says which fields can
be there, and of which kind.

`alertd check` holds the rules to it (alertd.dsl.schema_check) and `alertd test-rule --strict`
the recorded events (`event_problems`). Every mistake in the file itself is a RuleError with
its line and column, as rule files' are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertd import yamlutil
from alertd.dsl.errors import RuleError, one_of
from alertd.dsl.event_types import TYPE_FIELD
from alertd.engine.errors import EventTimeError
from alertd.engine.eventtime import parse_event_time
from alertd.suggest import aside, did_you_mean

KINDS = ("string", "number", "boolean", "object", "list", "time")
EVERY_TYPE = "*"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its kind, where the schema says so (`path:line:col`), and for an object
    whose fields are listed, those."""

    kind: str
    where: str
    fields: Mapping[str, FieldSpec] | None = None


@dataclass(frozen=True, slots=True)
class EventSchema:
    path: str
    common: Mapping[str, FieldSpec] = field(default_factory=dict)  # the "*" fields
    types: Mapping[str, Mapping[str, FieldSpec]] = field(default_factory=dict)

    def fields_of(self, event_type: str | None) -> dict[str, FieldSpec]:
        """The fields an event of this type may have: the "*" ones and its own (only the "*"
        ones for an event without a type, or of a type the schema does not know)."""
        own = self.types.get(event_type, {}) if event_type is not None else {}
        return {**self.common, **own}


def load_schema(path: Path) -> tuple[EventSchema | None, list[RuleError]]:
    """The schema in a YAML file, and every mistake in it (the schema is None if any)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [RuleError(name, 0, 0, "no such event schema file ([rules] schema)")]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        return None, [RuleError(name, 0, 0, f"cannot read the event schema: {reason}")]
    lines = text.split("\n")
    try:
        root = yamlutil.compose(text)
    except yamlutil.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = exc.problem or "invalid YAML"
        source = lines[line - 1] if 0 < line <= len(lines) else None
        return None, [RuleError(name, line, column, f"invalid YAML: {problem}", source_line=source)]
    except yamlutil.YAMLError as exc:
        return None, [RuleError(name, 0, 0, f"invalid YAML: {exc}")]
    reader = _Reader(name, lines)
    schema = reader.schema(root)
    errors = sorted(reader.errors, key=RuleError.sort_key)
    return (None if errors else schema), errors


class _Reader:
    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.errors: list[RuleError] = []

    def schema(self, root: yamlutil.Node | None) -> EventSchema:
        if not isinstance(root, yamlutil.MappingNode):
            self.error(
                root,
                "expected a mapping of event types to their fields",
                '"*": {type: string, timestamp: time}   location_update: {speed_kmh: number}',
            )
            return EventSchema(self.path)
        types: dict[str, Mapping[str, FieldSpec]] = {}
        for key, value in self.pairs(root, "event type"):
            if isinstance(value, yamlutil.ScalarNode) and value.value in ("", "null", "~"):
                types[key] = {}  # `breakdown:` with nothing under it
                continue
            if not isinstance(value, yamlutil.MappingNode):
                self.error(value, f"the fields of {key!r} must be a mapping of names to kinds")
                continue
            types[key] = self.fields(value)
        common = types.pop(EVERY_TYPE, {})
        return EventSchema(self.path, common, types)

    def fields(self, node: yamlutil.MappingNode) -> dict[str, FieldSpec]:
        found: dict[str, FieldSpec] = {}
        for name, value in self.pairs(node, "field"):
            where = self.where(value)
            if isinstance(value, yamlutil.MappingNode):
                found[name] = FieldSpec("object", where, self.fields(value))
            elif isinstance(value, yamlutil.ScalarNode) and value.value in KINDS:
                found[name] = FieldSpec(value.value, where)
            elif isinstance(value, yamlutil.ScalarNode):
                hint = did_you_mean(value.value, KINDS) or f"the kinds are {one_of(KINDS)}"
                self.error(value, f"unknown kind {value.value!r} for field {name!r}", hint)
            else:
                self.error(value, f"field {name!r}: expected a kind ({one_of(KINDS)})")
        return found

    def pairs(self, node: yamlutil.MappingNode, what: str) -> list[tuple[str, yamlutil.Node]]:
        """The mapping's entries whose key is a name, each once."""
        seen: set[str] = set()
        entries: list[tuple[str, yamlutil.Node]] = []
        for key, value in node.value:
            if not isinstance(key, yamlutil.ScalarNode) or not key.value:
                self.error(key, f"expected a name ({what})")
                continue
            if key.value in seen:
                self.error(key, f"duplicate {what} {key.value!r}")
                continue
            seen.add(key.value)
            entries.append((key.value, value))
        return entries

    def where(self, node: yamlutil.Node) -> str:
        mark = node.start_mark
        return f"{self.path}:{mark.line + 1}:{mark.column + 1}"

    def error(self, node: yamlutil.Node | None, message: str, hint: str | None = None) -> None:
        line, column = (
            (1, 1) if node is None else (node.start_mark.line + 1, node.start_mark.column + 1)
        )
        source = self.lines[line - 1] if line <= len(self.lines) else None
        self.errors.append(RuleError(self.path, line, column, message, hint, source_line=source))


# Events -----------------------------------------------------------------------------------------


def event_problems(schema: EventSchema, event: Mapping[str, Any]) -> list[str]:
    """How an event breaks the schema: a type it does not know, a field its type does not
    have, a value of the wrong kind. Null is never wrong (it is a missing field)."""
    event_type = event.get(TYPE_FIELD)
    problems: list[str] = []
    if isinstance(event_type, str) and event_type not in schema.types:
        problems.append(
            f"event type {event_type!r} is not in the schema {schema.path}"
            f"{aside(event_type, schema.types)}"
        )
        return problems
    known = schema.fields_of(event_type if isinstance(event_type, str) else None)
    described = f"{event_type!r} events" if isinstance(event_type, str) else "events"
    _check_fields(event, known, "", described, problems)
    return problems


def _check_fields(
    values: Mapping[str, Any],
    known: Mapping[str, FieldSpec],
    prefix: str,
    described: str,
    problems: list[str],
) -> None:
    for name, value in values.items():
        path = f"{prefix}{name}"
        spec = known.get(name)
        if spec is None:
            if name == TYPE_FIELD and not prefix:
                continue
            problems.append(
                f"field {path!r} is not in the schema for {described}{aside(name, known)}"
            )
            continue
        if value is None:
            continue
        got = value_kind(value)
        if not fits(spec.kind, value):
            problems.append(
                f"field {path!r} is {_a(got)}, but the schema says {spec.kind} ({spec.where})"
            )
        elif spec.fields is not None and isinstance(value, Mapping):
            _check_fields(value, spec.fields, f"{path}.", described, problems)


def fits(kind: str, value: Any) -> bool:
    """Whether a (non-null) value is of a schema kind."""
    got = value_kind(value)
    if kind == "time":
        if got not in ("string", "number"):
            return False
        try:
            parse_event_time(value)
        except EventTimeError:
            return False
        return True
    return got == kind


def value_kind(value: Any) -> str:
    """The schema's kind of a JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return "null" if value is None else "other"


def _a(kind: str) -> str:
    return "an object" if kind == "object" else f"a {kind}"
