"""How alertd writes a mistake found in a file: `path:line:col: error: message`, as compilers do.

One formatter for rule files, templates, the config's answers and the API's error list, so that
an editor, a CI log parser or a person jumping to `path:line:col` reads every one the same way:

    rules/fleet.rules:3:14: error: unexpected '}', expected an expression
    when speed > }
                 ^
    hint: ...

The excerpt (the line and a caret under the mistake) is there when the line is known and
given; the hint when there is one.
"""

from __future__ import annotations


def where(path: str, line: int = 0, column: int = 0) -> str:
    """`path:line:col`, as far as it is known: a 0 line or column is left out."""
    parts = [path]
    if line:
        parts.append(str(line))
        if column:
            parts.append(str(column))
    return ":".join(parts)


def format_error(
    path: str,
    line: int,
    column: int,
    message: str,
    hint: str | None = None,
    *,
    source_line: str | None = None,
    width: int = 1,
) -> str:
    """`path:line:col: error: message` (just `error: message` without a path), then the
    source line with `width` carets under the mistake when the line is given, then the hint."""
    place = where(path, line, column)
    lines = [f"{place}: error: {message}" if place else f"error: {message}"]
    if source_line is not None and line:
        text = source_line.rstrip("\r\n")
        lines.append(text)
        # Keep tabs under tabs so the caret lines up however the terminal shows them.
        start = max(column, 1)
        pad = "".join("\t" if ch == "\t" else " " for ch in text[: start - 1])
        lines.append(pad + "^" * min(max(1, width), max(1, len(text) - start + 1)))
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)
