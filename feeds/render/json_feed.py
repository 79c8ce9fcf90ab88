"""JSON Feed 1.1, written by hand: ``json.dumps`` with sorted keys is byte-stable for free.

The ``_lingofeed`` object on each item is the machine-readable twin of the notice a reader sees,
so programs can tell machine-translated items and find the original without parsing HTML;
``translation_failed`` says that the item's latest translation failed (what is shown is the
last good translation, or the original as written), which the notice does not; ``bilingual``
that each translated block is followed by its original (``feeds.render.bilingual``).
"""

from __future__ import annotations

import json
from typing import Any

from lingofeed.feeds.render.dates import entry_updated
from lingofeed.feeds.render.formats import JSON_FILE
from lingofeed.feeds.render.ids import entry_id
from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.links import entry_links
from lingofeed.feeds.render.notices import MARKER_TERM
from lingofeed.feeds.render.rss_atom import entry_body
from lingofeed.feeds.render.settings import DEFAULT_FEED, FeedFamily, FeedSettings
from lingofeed.feeds.sanitize import plain_text
from lingofeed.feeds.types import LocalizedEntry

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION_ABOUT = "https://lingofeed.invalid/ns/json-feed"


def _item(settings: FeedSettings, entry: LocalizedEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry_id(settings, entry, "json"),
        "title": entry.title,
        "date_modified": entry_updated(entry).isoformat(),
        "language": normalize_language(entry.language),
        "_lingofeed": {
            "about": EXTENSION_ABOUT,
            "machine_translated": entry.machine_translated,
            "partly_machine_translated": entry.partly_translated,
            "translation_failed": entry.translation_failed,
            "bilingual": entry.bilingual,
            "original": entry.link,
            "original_language": (
                normalize_language(entry.original_language) if entry.original_language else None
            ),
        },
    }
    body = entry_body(settings, entry)
    # JSON Feed requires content_html or content_text: an item without a body has empty text.
    item.update({"content_html": body} if body else {"content_text": ""})
    if entry.link:
        item["url"] = entry.link
    if entry.summary:  # plain text in JSON Feed; ours is sanitised HTML
        item["summary"] = plain_text(entry.summary)
    if entry.published:
        item["date_published"] = entry.published.isoformat()
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    tags = [*entry.categories, *([MARKER_TERM] if entry.machine_translated else [])]
    if tags:
        item["tags"] = tags
    attachments = [
        {
            "url": link.href,
            "mime_type": link.type,
            **({"size_in_bytes": link.length} if link.length is not None else {}),
            **({"title": link.title} if link.title else {}),
        }
        for link in entry_links(entry)
        if link.rel == "enclosure"
    ]
    if attachments:
        item["attachments"] = attachments
        item["image"] = attachments[0]["url"]
    return item


def render_json_feed(
    settings: FeedSettings,
    language: str,
    entries: tuple[LocalizedEntry, ...],
    family: FeedFamily = DEFAULT_FEED,
) -> bytes:
    """One family's JSON Feed 1.1 document in one language (entries newest first)."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": settings.feed_title(family, language),
        "description": settings.feed_description(family, language),
        "home_page_url": settings.url("index.html"),
        "feed_url": settings.url(family.path(language, JSON_FILE)),
        "language": language,
        "authors": [{"name": settings.author}],
        "items": [_item(settings, entry) for entry in entries],
    }
    if settings.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": settings.hub_url}]
    text = json.dumps(feed, ensure_ascii=False, sort_keys=True, indent=1)
    return (text + "\n").encode("utf-8")
