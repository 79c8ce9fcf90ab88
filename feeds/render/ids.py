"""Stable ``tag:`` ids of feeds and entries: the same item keeps its id across re-renders."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.settings import BILINGUAL, DEFAULT_FEED, FeedFamily, FeedSettings
from lingofeed.feeds.types import LocalizedEntry


def entry_id(settings: FeedSettings, entry: LocalizedEntry, fmt: str) -> str:
    """A stable ``tag:`` URI for one entry in one language and format.

    Derived only from source id, upstream id, language and format, so edits, re-renders and
    moving the output directory keep it; distinct per language and format (and in bilingual
    feeds, whose entries say more) because newsboat keys items by id across every subscribed
    feed.
    """
    digest = hashlib.sha256(f"{entry.source_id}\0{entry.upstream_id}".encode()).hexdigest()[:24]
    source = quote(entry.source_id, safe="")
    twin = f"/{BILINGUAL}" if entry.bilingual else ""
    return (
        f"tag:{settings.host},{settings.tag_date}:{source}/{digest}/"
        f"{normalize_language(entry.language)}/{fmt}{twin}"
    )


def feed_id(settings: FeedSettings, language: str, family: FeedFamily = DEFAULT_FEED) -> str:
    """The Atom feed id of one family in one language (shared by atom.xml and its archive
    pages, RFC 5005); the default channel keeps the id it always had, ``feeds/<lang>``."""
    suffix = f"/{family.key}" if family.key else ""
    return f"tag:{settings.host},{settings.tag_date}:feeds/{language}{suffix}"
