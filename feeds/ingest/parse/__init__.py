"""Turn an upstream feed body (RSS 0.9x/1.0/2.0, Atom 1.0, JSON Feed 1.1) into ``EntryData``.

``_xml`` reads RSS and Atom (feedparser, with ids and media RSS re-read from the XML), ``_json``
reads JSON Feed, and ``_common`` holds what both share. Every HTML field passes through
``sanitize_body``; titles, captions and categories become plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from lingofeed.feeds.ingest.parse._common import (
    ParsedFeed,
    normalize_language,
    stable_id,
    text_to_html,
    web_url,
)
from lingofeed.feeds.ingest.parse._json import looks_like_json, parse_json_feed
from lingofeed.feeds.ingest.parse._xml import parse_xml_feed
from lingofeed.feeds.types import EntryData, Source

__all__ = [
    "ParsedFeed",
    "keep_newest",
    "normalize_language",
    "parse_feed",
    "stable_id",
    "text_to_html",
    "web_url",
]


def parse_feed(
    source: Source, body: bytes, *, base_url: str | None, content_type: str | None
) -> ParsedFeed:
    """Parse ``body``; JSON Feed if the content type says JSON or the body looks like JSON.

    ``base_url`` (the final URL after redirects) resolves relative links. Raises ``ParseError``
    naming the source and the reason when the body is not a usable feed.
    """
    if looks_like_json(body, content_type):
        feed = parse_json_feed(source, body, base_url)
    else:
        feed = parse_xml_feed(source, body, base_url, content_type)
    return ParsedFeed(
        feed.title, feed.link, feed.language, keep_newest(feed.entries, source.item_limit)
    )


def keep_newest(entries: Sequence[EntryData], limit: int | None) -> tuple[EntryData, ...]:
    """The ``limit`` newest entries (by published, else updated), in their original order.

    Undated entries rank after dated ones, in document order (feeds list newest first).
    """
    if limit is None or len(entries) <= limit:
        return tuple(entries)

    def rank(index: int) -> tuple[int, float, int]:
        when = entries[index].published or entries[index].updated
        return (0, -when.timestamp(), index) if when else (1, 0.0, index)

    kept = set(sorted(range(len(entries)), key=rank)[:limit])
    return tuple(entry for index, entry in enumerate(entries) if index in kept)
