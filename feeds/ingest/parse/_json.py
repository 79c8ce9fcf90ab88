"""JSON Feed 1.1 (and 1.0) into ``ParsedFeed``, with plain ``json``.

HTML fields pass through ``sanitize_body``; ``content_text`` and ``summary`` (plain text in the
spec) become escaped paragraphs first. Anything not shaped as the spec says is ignored, except
a document without an ``items`` list or an item that is not an object, which is a ``ParseError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.parse._common import (
    ParsedFeed,
    absolute,
    as_list,
    categories,
    dedupe_media,
    non_blank,
    normalize_language,
    stable_id,
    text_to_html,
)
from lingofeed.feeds.sanitize import collapse_whitespace, sanitize_body
from lingofeed.feeds.types import EntryData, Media, Source


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """The content type says JSON, or the body (past a BOM and whitespace) opens an object."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(source: Source, body: bytes, base_url: str | None) -> ParsedFeed:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ParseError(source.id, source.location, reason) from exc
    except UnicodeDecodeError as exc:
        raise ParseError(source.id, source.location, "JSON is not UTF-8") from exc
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ParseError(source.id, source.location, "not a JSON Feed: no 'items' list")
    base = non_blank(document.get("feed_url")) or base_url
    language = normalize_language(document.get("language"))
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(source.id, source.location, f"JSON Feed item {index} is not an object")
        entries.append(_json_entry(item, base, language))
    return ParsedFeed(
        title=collapse_whitespace(non_blank(document.get("title")) or ""),
        link=absolute(base, document.get("home_page_url")),
        language=language,
        entries=tuple(entries),
    )


def _json_entry(item: Mapping[str, Any], base: str | None, language: str | None) -> EntryData:
    link = absolute(base, item.get("url")) or absolute(base, item.get("external_url"))
    content = non_blank(item.get("content_html"))
    if content is None and non_blank(item.get("content_text")):
        content = text_to_html(str(item["content_text"]))
    summary = non_blank(item.get("summary"))
    title = collapse_whitespace(non_blank(item.get("title")) or "")
    published = _iso_datetime(item.get("date_published"))
    authors = as_list(item.get("authors")) or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    names = [str(a["name"]) for a in authors if isinstance(a, dict) and non_blank(a.get("name"))]
    raw_id = item.get("id")
    return EntryData(
        upstream_id=str(raw_id) if raw_id not in (None, "") else stable_id(title, published, link),
        title=title,
        link=link,
        summary=sanitize_body(text_to_html(summary), link or base) if summary else None,
        content=sanitize_body(content, link or base),
        author=", ".join(names) or None,
        categories=categories(as_list(item.get("tags"))),
        media=dedupe_media(_json_media(item, base)),
        published=published,
        updated=_iso_datetime(item.get("date_modified")),
        language=normalize_language(item.get("language")) or language,
    )


def _json_media(item: Mapping[str, Any], base: str | None) -> Iterable[Media]:
    image = absolute(base, item.get("image"))
    if image:
        yield Media(url=image)
    for attachment in as_list(item.get("attachments")):
        url = absolute(base, attachment.get("url")) if isinstance(attachment, dict) else None
        if url:
            size = attachment.get("size_in_bytes")
            yield Media(
                url=url,
                type=non_blank(attachment.get("mime_type")),
                length=size if isinstance(size, int) else None,
                caption=collapse_whitespace(attachment.get("title") or "") or None,
            )


def _iso_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
