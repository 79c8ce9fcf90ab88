"""``lingofeed sources import FILE.opml``: a ``[[sources]]`` table per feed of a subscription list.

The operator's config is edited in place and only appended to: the new tables go at the end of
the file, rendered by tomlkit (which quotes and escapes every value as TOML wants), and every
byte before them stays as it was, comments and layout included. Appending rather than inserting
after the last ``[[sources]]`` matters: a comment that introduces the next table belongs to it,
and tomlkit would put new tables between the two.

The result is checked by the validator ``lingofeed check`` uses, on a candidate file in the
config's own folder (relative paths resolve the same), and written atomically only when valid: a
refused import leaves the file untouched. Feeds are matched by URL, so importing the same list
twice adds nothing the second time.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from lxml import etree

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.publish.atomic import write_atomic
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.settings import ConfigError, ConfigProblem

#: Longest id made from a title; ids are also URL path parts and database keys.
MAX_ID_LENGTH = 60


class OpmlError(LingofeedError, ValueError):
    """The subscription list cannot be read; the message names the file and the line."""


class ImportRefusedError(LingofeedError):
    """The config the import would write is invalid; the file was left untouched."""

    def __init__(self, config: Path, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        listed = "".join(f"\n  {problem}" for problem in self.problems)
        super().__init__(
            f"{config} not changed: the import would make it invalid "
            f"(lines as in the file it would write):{listed}"
        )


@dataclass(frozen=True)
class Outline:
    """A feed of the subscription list."""

    title: str
    url: str
    #: Line of its ``<outline>`` in the OPML file.
    line: int


@dataclass(frozen=True)
class Added:
    id: str
    url: str


@dataclass(frozen=True)
class Skipped:
    outline: Outline
    reason: str


@dataclass(frozen=True)
class ImportResult:
    added: tuple[Added, ...]
    skipped: tuple[Skipped, ...]

    def lines(self) -> Iterator[str]:
        """What ``lingofeed sources import`` prints: one line per feed, then the totals."""
        for added in self.added:
            yield f"added {added.id}: {added.url}"
        for skipped in self.skipped:
            yield f"skipped {skipped.outline.title!r} ({skipped.outline.url}): {skipped.reason}"
        yield f"{len(self.added)} added, {len(self.skipped)} skipped"


def read_outlines(file: Path) -> list[Outline]:
    """Every outline with an ``xmlUrl``, nested ones included, in document order.

    The parser resolves no entities and loads no DTD or network resource: the file is
    untrusted input like any feed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.parse(str(file), parser).getroot()
    except OSError as exc:
        raise OpmlError(f"{file}: cannot read: {exc}") from exc
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        raise OpmlError(f"{file}:{line}: not well-formed XML: {exc.msg}") from exc
    if not isinstance(root.tag, str) or etree.QName(root).localname != "opml":
        raise OpmlError(f"{file}:{root.sourceline or 1}: not an OPML file (no <opml> root)")
    body = next((e for e in root if isinstance(e.tag, str) and e.tag == "body"), None)
    if body is None:
        raise OpmlError(f"{file}:{root.sourceline or 1}: OPML without a <body>")
    outlines = []
    for element in body.iter("outline"):
        attributes = {name.lower(): value.strip() for name, value in element.attrib.items()}
        url = attributes.get("xmlurl")
        if url:
            title = attributes.get("title") or attributes.get("text") or ""
            outlines.append(Outline(title, url, element.sourceline or 1))
    return outlines


def import_sources(
    config: Path, opml: Path, *, language: str | None = None, every: str | None = None
) -> ImportResult:
    """Add a source per new feed of ``opml`` to ``config``; validate, then write atomically.

    Raises OpmlError for an unreadable list, ImportRefusedError (file untouched) when the
    resulting config would not pass ``lingofeed check``.
    """
    outlines = read_outlines(opml)
    text = config.read_text(encoding="utf-8")
    existing, ids = _configured(text)
    added: list[Added] = []
    skipped: list[Skipped] = []
    taken = {source_id.lower() for source_id in ids}
    for outline in outlines:
        reason = _skip_reason(outline, existing)
        if reason is not None:
            skipped.append(Skipped(outline, reason))
            continue
        source_id = unique_id(slug(outline), taken)
        taken.add(source_id.lower())
        existing[outline.url] = source_id
        added.append(Added(source_id, outline.url))
    if added:
        candidate = text + _tables(added, opml, language, every, text)
        _validate(config, candidate)
        write_atomic(config, candidate.encode("utf-8"), mode=config.stat().st_mode & 0o7777)
    return ImportResult(tuple(added), tuple(skipped))


def _configured(text: str) -> tuple[dict[str, str], list[str]]:
    """Feed URL -> source id, and every source id, of the config (already validated)."""
    sources: Any = tomllib.loads(text).get("sources", [])
    tables = [table for table in sources if isinstance(table, dict)]
    urls = {
        str(table["url"]): str(table.get("id", ""))
        for table in tables
        if isinstance(table.get("url"), str)
    }
    return urls, [str(table.get("id", "")) for table in tables]


def _skip_reason(outline: Outline, existing: dict[str, str]) -> str | None:
    parts = urlsplit(outline.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"line {outline.line}: not an http(s) URL"
    if outline.url in existing:
        return f"already configured as {existing[outline.url]!r}"
    return None


def slug(outline: Outline) -> str:
    """An id from the feed's title (else its host name): ASCII letters, digits and ``-``."""
    for text in (outline.title, urlsplit(outline.url).hostname or ""):
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
        if words:
            return words[:MAX_ID_LENGTH].rstrip("-")
    return "feed"


def unique_id(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first not in ``taken`` (lower-cased ids),
    compared without case so two ids never differ only in case (they name folders and URLs)."""
    candidate, number = base, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _tables(
    added: list[Added], opml: Path, language: str | None, every: str | None, text: str
) -> str:
    """The new ``[[sources]]`` tables, rendered by tomlkit, after a comment naming the list."""
    sources = tomlkit.aot()
    for item in added:
        table = tomlkit.table()
        table["id"] = item.id
        table["url"] = item.url
        if language is not None:
            table["language"] = language
        if every is not None:
            table["every"] = every
        sources.append(table)
    document = tomlkit.document()
    document["sources"] = sources
    rendered = tomlkit.dumps(document)
    separator = "" if not text or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
    return f"{separator}# Added by `lingofeed sources import {opml.name}`.\n{rendered}"


def _validate(config: Path, candidate: str) -> None:
    """Run the ``check`` validator on ``candidate`` as if it were ``config``."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=config.parent, prefix=".lingofeed-import-", suffix=".toml"
    ) as handle:
        handle.write(candidate)
        handle.flush()
        try:
            load_settings(Path(handle.name))
        except ConfigError as exc:
            problems = [replace(problem, file=config) for problem in exc.problems]
            raise ImportRefusedError(config, problems) from exc
