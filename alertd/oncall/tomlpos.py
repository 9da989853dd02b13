"""Where a table, key or value of a TOML text is written, for errors with `file:line:col`.

tomllib returns values without positions, and reports lines only for syntax errors. The files
alertd reads are simple TOML written by people (tables, arrays of tables, keys, the odd inline
table), so a scan of the lines finds every table header and key: a path such as
`("schedules", "fleet_ops", "rotations", 0, "members")` (0: the first `[[...rotations]]`) maps
to the place its key, or its table's header, is written. What the scan cannot see (a key inside
an inline table) is looked for in the text after the nearest place it did see.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

Path = tuple[str | int, ...]

_SEGMENT = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_SEGMENT}(?:[ \t]*\.[ \t]*{_SEGMENT})*"
_HEADER = re.compile(rf"[ \t]*(\[\[?)[ \t]*({_DOTTED})[ \t]*\]")
_KEY = re.compile(rf"[ \t]*({_DOTTED})[ \t]*=[ \t]*")
_PART = re.compile(_SEGMENT)
_EQUALS = re.compile(r"[ \t]*=[ \t]*")


@dataclass(frozen=True)
class Place:
    """A 1-based line and column, the width of what is there, and the text of that line."""

    line: int
    column: int
    width: int
    source_line: str


class TomlPositions:
    """The places of the tables and keys of one TOML text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._keys: dict[Path, tuple[int, int]] = {}  # path -> offset and width of its key
        self._values: dict[Path, int] = {}  # path -> offset of its value
        self._scan()

    def key(self, path: Sequence[str | int]) -> Place:
        """Where the key at `path` is written (a table: its header), or the nearest place."""
        offset, width = self._find(tuple(path))
        return self._place(offset, width)

    def value(
        self, path: Sequence[str | int], literal: str | None = None, part: str | None = None
    ) -> Place:
        """Where the value of the key at `path` is written; with `literal`, where that string
        is written in it (`"alcie"` in a list of names), and with `part`, where that text is
        in the string (`oncall:osp` in `"sms(oncall:osp)"`). Else where the key is."""
        path = tuple(path)
        key_offset, width = self._find(path)
        start = self._values.get(path)
        if start is None:  # a key inside an inline table: its value follows its `=`
            equals = _EQUALS.match(self.text, key_offset + width)
            start = None if equals is None else equals.end()
        if literal is not None:
            found = self._string(literal, key_offset if start is None else start)
            if found is not None:
                inside = -1 if part is None else literal.find(part)
                if inside >= 0:
                    return self._place(found[0] + 1 + inside, len(part or ""))
                return self._place(*found)
        if start is None:
            return self._place(key_offset, width)
        end = self.text.find("\n", start)
        written = self.text[start : len(self.text) if end < 0 else end]
        token = re.match(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s#,\]}]+', written)
        return self._place(start, len(token.group()) if token else 1)

    # -- the scan

    def _scan(self) -> None:
        table: Path = ()
        arrays: dict[Path, int] = {}
        closing: str | None = None  # the quotes of a multi-line string being read
        for number, start in enumerate(self._line_starts):
            end = self._line_starts[number + 1] if number + 1 < len(self._line_starts) else None
            line = self.text[start:end]
            if closing is not None:
                if line.count(closing) % 2:
                    closing = None
                continue
            header = _HEADER.match(line)
            if header is not None:
                names = _names(header.group(2))
                if header.group(1) == "[[":
                    index = arrays.get(names, 0)
                    arrays[names] = index + 1
                    table = (*names, index)
                else:
                    table = self._in_arrays(names, arrays)
                self._keys.setdefault(table, (start + header.start(2), len(header.group(2))))
                continue
            key = _KEY.match(line)
            if key is None:
                continue
            names = _names(key.group(1))
            path = (*table, *names)
            last = list(_PART.finditer(key.group(1)))[-1]
            self._keys.setdefault(path, (start + key.start(1) + last.start(), len(last.group())))
            self._values.setdefault(path, start + key.end())
            for quotes in ('"""', "'''"):
                if line[key.end() :].count(quotes) % 2:
                    closing = quotes

    @staticmethod
    def _in_arrays(names: tuple[str, ...], arrays: dict[Path, int]) -> Path:
        """`[a.b.c]` under `[[a.b]]` is a table of the last element of the array a.b."""
        path: list[str | int] = []
        for depth, name in enumerate(names):
            path.append(name)
            count = arrays.get(names[: depth + 1])
            if count is not None and depth < len(names) - 1:
                path.append(count - 1)
        return tuple(path)

    # -- lookups

    def _find(self, path: Path) -> tuple[int, int]:
        """The offset and width of the key at `path`; for a path the scan did not see, the
        nearest one it did, then the rest looked for in the text after it (a key name as
        `name =`, an index as that many `{` of an array of inline tables); for a table that
        has no header of its own, the first of its tables that has one."""
        for size in range(len(path), 0, -1):
            found = self._keys.get(path[:size])
            if found is None:
                continue
            offset, width = found
            for part in path[size:]:
                located = self._after(offset, part)
                if located is None:
                    break
                offset, width = located
            return offset, width
        for seen, found in self._keys.items():  # `[a.b]` written, `a` asked for
            if seen[: len(path)] == path:
                return found
        return 0, 1

    def _after(self, offset: int, part: str | int) -> tuple[int, int] | None:
        if isinstance(part, int):
            braces = [m.start() for m in re.finditer(r"\{", self.text[offset:])]
            return (offset + braces[part], 1) if part < len(braces) else None
        match = re.compile(rf"(?<![\w\"'-])({re.escape(part)})[ \t]*=").search(self.text, offset)
        return None if match is None else (match.start(1), len(part))

    def _string(self, literal: str, offset: int) -> tuple[int, int] | None:
        for quoted in (f'"{literal}"', f"'{literal}'"):
            at = self.text.find(quoted, offset)
            if at >= 0:
                return at, len(quoted)
        return None

    def _place(self, offset: int, width: int) -> Place:
        index = bisect_right(self._line_starts, offset) - 1
        start = self._line_starts[index]
        end = self.text.find("\n", start)
        line = self.text[start : len(self.text) if end < 0 else end]
        return Place(index + 1, offset - start + 1, max(1, width), line)


def _names(dotted: str) -> tuple[str, ...]:
    """`a."b c".d` -> ("a", "b c", "d")."""
    return tuple(_unquote(part.group()) for part in _PART.finditer(dotted))


def _unquote(part: str) -> str:
    if part[:1] == '"':
        try:
            text: str = json.loads(part)  # TOML's basic strings escape as JSON's do, nearly
        except ValueError:
            return part[1:-1]
        return text
    if part[:1] == "'":
        return part[1:-1]
    return part
