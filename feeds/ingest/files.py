"""Load a directory of article files (Markdown with YAML front matter, or JSON) as ``EntryData``.

For publishers without a feed: each file is one article. Markdown is rendered with markdown-it-py
(CommonMark, raw HTML allowed, then sanitised like any upstream HTML). The id is the front
matter's ``id``, else the file's path relative to the directory, so renaming a file without an
``id`` makes it a new article. One bad file is reported as a ``ParseError`` naming the file (and
the line, for YAML/JSON syntax errors) while the other files still load.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import frontmatter
import yaml
from markdown_it import MarkdownIt

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.parse import keep_newest, normalize_language, text_to_html, web_url
from lingofeed.feeds.sanitize import collapse_whitespace, sanitize_body
from lingofeed.feeds.types import EntryData, Media, Source

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]")
_MEDIA_KEYS = frozenset({"url", "type", "length", "caption", "credit", "alt"})


@dataclass(frozen=True)
class DirectoryResult:
    """Articles that loaded, newest kept per ``item_limit``, and one error per bad file."""

    entries: tuple[EntryData, ...]
    errors: tuple[ParseError, ...]


class _FileError(ValueError):
    """A problem inside one file; ``line`` when known (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def load_directory(source: Source) -> DirectoryResult:
    """Read every article file under ``source.directory`` (recursively, hidden files skipped)."""
    if source.directory is None:
        raise ParseError(source.id, source.location, "source has no directory")
    root = source.directory
    if not root.is_dir():
        raise ParseError(source.id, str(root), "not a directory")
    entries: dict[str, EntryData] = {}
    errors: list[ParseError] = []
    for path in article_files(root):
        try:
            entry = load_article(source, path)
        except ParseError as exc:
            errors.append(exc)
            continue
        if entry.upstream_id in entries:
            message = f"duplicate id {entry.upstream_id!r} (already used by another file)"
            errors.append(ParseError(source.id, str(path), message))
            continue
        entries[entry.upstream_id] = entry
    return DirectoryResult(keep_newest(list(entries.values()), source.item_limit), tuple(errors))


def read_directory(source: Source) -> tuple[EntryData, ...]:
    """The entries of ``load_directory``, logging each bad file instead of returning it.

    For callers that treat a bad file like a bad item: reported, never fatal for the others.
    """
    result = load_directory(source)
    for error in result.errors:
        log.warning("skipped article file: %s", error)
    return result.entries


def article_files(root: Path) -> Iterator[Path]:
    """Markdown and JSON files under ``root`` in a stable order, skipping hidden ones."""
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        suffix = path.suffix.lower()
        if path.is_file() and not hidden and suffix in MARKDOWN_SUFFIXES | JSON_SUFFIXES:
            yield path


def load_article(source: Source, path: Path) -> EntryData:
    """One article file of ``source`` as ``EntryData``; ``ParseError`` names the file and line."""
    root = source.directory or path.parent
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() in JSON_SUFFIXES:
            meta, body_html = _read_json(text)
        else:
            meta, body_html = _read_markdown(text)
        relative = path.relative_to(root).as_posix()
        return _entry(meta, body_html, relative, source.language)
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(source.id, str(path), f"cannot read: {exc}") from exc
    except _FileError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise ParseError(source.id, where, str(exc)) from exc


def _read_markdown(text: str) -> tuple[Mapping[str, Any], str | None]:
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # +1 for "---", +1 for 1-based
        problem = getattr(exc, "problem", None) or str(exc)
        raise _FileError(f"invalid YAML front matter: {problem}", line) from exc
    if not isinstance(post.metadata, dict) or not post.metadata:
        raise _FileError("no YAML front matter (the file must start with '---')", 1)
    body = post.content.strip()
    return post.metadata, _markdown(body) if body else None


def _read_json(text: str) -> tuple[Mapping[str, Any], str | None]:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _FileError(f"invalid JSON (column {exc.colno}): {exc.msg}", exc.lineno) from exc
    if not isinstance(meta, dict):
        raise _FileError("a JSON article must be an object")
    if isinstance(meta.get("content_html"), str):
        return meta, meta["content_html"]
    markdown = meta.get("content_markdown")
    return meta, _markdown(markdown) if isinstance(markdown, str) and markdown.strip() else None


def _markdown(text: str) -> str:
    return str(MarkdownIt("commonmark", {"html": True}).render(text))


def _entry(
    meta: Mapping[str, Any], body_html: str | None, relative: str, default_language: str | None
) -> EntryData:
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _FileError("missing 'title'")
    link = _link(meta)
    summary = _optional_str(meta, "summary")
    if summary is not None and not _LOOKS_LIKE_HTML.search(summary):
        summary = text_to_html(summary)
    raw_id = meta.get("id")
    return EntryData(
        upstream_id=str(raw_id) if raw_id not in (None, "") else relative,
        title=collapse_whitespace(title),
        link=link,
        summary=sanitize_body(summary, link),
        content=sanitize_body(body_html, link),
        author=_optional_str(meta, "author"),
        categories=_categories(meta.get("categories")),
        media=tuple(_media(item, index, link) for index, item in enumerate(_list(meta, "media"))),
        published=_datetime(meta, "published"),
        updated=_datetime(meta, "updated"),
        language=normalize_language(meta.get("language")) or default_language,
    )


def _optional_str(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise _FileError(f"{key!r} must be text, not {type(value).__name__}")
    return str(value).strip() or None


def _link(meta: Mapping[str, Any]) -> str | None:
    """The article's page: an absolute http(s) URL (percent-encoded), or a clear error."""
    text = _optional_str(meta, "link")
    if text is None:
        return None
    url = web_url(text)
    if url is None:
        raise _FileError(f"'link' must be an absolute http(s) URL, not {text!r}")
    return url


def _list(meta: Mapping[str, Any], key: str) -> list[Any]:
    value = meta.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FileError(f"{key!r} must be a list")
    return value


def _categories(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        raise _FileError("'categories' must be a list of names")
    return tuple(dict.fromkeys(collapse_whitespace(str(name)) for name in names if name))


def _media(item: object, index: int, link: str | None) -> Media:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        raise _FileError(f"media[{index}] needs a 'url'")
    unknown = set(item) - _MEDIA_KEYS
    if unknown:
        raise _FileError(f"media[{index}] has unknown keys: {', '.join(sorted(unknown))}")
    length = item.get("length")
    if length is not None and not isinstance(length, int):
        raise _FileError(f"media[{index}].length must be a number of bytes")

    def text(key: str) -> str | None:
        value = item.get(key)
        return collapse_whitespace(str(value)) or None if value is not None else None

    url = web_url(urljoin(link, item["url"]) if link else item["url"])
    if url is None:
        raise _FileError(f"media[{index}].url must be an http(s) URL (or relative to 'link')")
    return Media(
        url=url,
        type=text("type"),
        length=length,
        caption=text("caption"),
        credit=text("credit"),
        alt=text("alt"),
    )


def _datetime(meta: Mapping[str, Any], key: str) -> datetime | None:
    """YAML gives datetimes or dates, JSON gives strings; naive times are taken as UTC."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise _FileError(f"{key!r} is not an ISO 8601 date: {value!r}") from exc
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if not isinstance(value, datetime):
        raise _FileError(f"{key!r} is not a date: {value!r}")
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
