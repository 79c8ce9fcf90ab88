"""The line of each key in a TOML document: a small scanner, as ``tomllib`` gives no positions.

Config errors must name the line to fix. The scanner understands what operator configs use:
tables, arrays of tables (numbered as ``tomllib`` numbers them), dotted and quoted keys, and
skips the inside of multi-line strings, arrays and inline tables. It does not validate: the
document has already been parsed by ``tomllib`` when this runs.
"""

from __future__ import annotations

import re

#: A key path as ``tomllib`` nests it: ``("sources", 1, "url")``.
KeyPath = tuple[str | int, ...]

_KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")


def _split_key(text: str) -> tuple[str, ...] | None:
    """``a."b.c".d`` -> ``("a", "b.c", "d")``; None if ``text`` is not a TOML key."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if match is None or match.end() == pos:
            return None
        parts.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            return None
        pos += 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each table header and key in ``text`` to its 1-based line.

    Arrays of tables get their index in the path (``sources.1.url``) as ``tomllib`` numbers them.
    Lines inside multi-line strings and multi-line arrays/inline tables are skipped.
    """
    lines: dict[KeyPath, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: KeyPath = ()
    multiline: str | None = None
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if multiline is not None:
            if multiline in raw:
                multiline = None
            continue
        line = _STRING.sub('""', raw.replace('"""', "\0").replace("'''", "\0")).split("#")[0]
        if "\0" in line and line.count("\0") % 2 == 1:
            multiline = '"""' if '"""' in raw else "'''"
        if depth > 0:
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            continue
        header = re.match(r"^\s*(\[\[?)(.+?)\]\]?\s*(?:#.*)?$", raw)
        if header:
            current = _resolve(
                _split_key(header.group(2)) or (), array_counts, append=header.group(1) == "[["
            )
            lines[current] = number
            continue
        if "=" in line:
            names = _split_key(raw.split("=", 1)[0])
            if names:
                lines[current + names] = number
            value = line.split("=", 1)[1]
            depth = value.count("[") + value.count("{") - value.count("]") - value.count("}")
    return lines


def _resolve(
    names: tuple[str, ...], counts: dict[tuple[str, ...], int], *, append: bool
) -> KeyPath:
    """Insert the current array index after each array-of-tables component of a header."""
    if append:
        counts[names] = counts.get(names, 0) + 1
    path: list[str | int] = []
    for end in range(1, len(names) + 1):
        path.append(names[end - 1])
        if names[:end] in counts:
            path.append(counts[names[:end]] - 1)
    return tuple(path)
