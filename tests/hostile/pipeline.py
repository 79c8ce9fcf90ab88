"""Drive a feed the way the cycle does, minus translation: fetch, parse, store, render, publish.

The source is declared in the published language, so the store shows its articles as they are
and no model is needed: what reaches a reader is exactly what the ingest side let through.
(The translated path is covered by ``tests/test_properties.py`` and the crash harness.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.ingest.parse import parse_feed
from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.render import FeedSettings, render_site
from lingofeed.feeds.store import Storage
from lingofeed.feeds.types import EntryData, Source

LANGUAGE = "en"
SETTINGS = FeedSettings(base_url="https://feeds.example/", languages=(LANGUAGE,))
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def ingest(
    fetcher: Fetcher, storage: Storage, source: Source, now: datetime = NOW
) -> tuple[EntryData, ...]:
    """Fetch and parse ``source`` and store its entries (as seen at ``now``); SourceError when
    it is unusable."""
    assert source.url is not None
    result = fetcher.fetch(source.id, source.url)
    assert result.body is not None
    parsed = parse_feed(
        source, result.body, base_url=result.final_url, content_type=result.content_type
    )
    storage.upsert_entries(source.id, parsed.entries, now)
    return parsed.entries


def publish_store(
    storage: Storage, output: Path, settings: FeedSettings = SETTINGS
) -> dict[str, bytes]:
    """Render what the store shows in ``LANGUAGE`` and publish it into ``output``."""
    files = render_site(settings, {LANGUAGE: storage.get_localized(LANGUAGE)})
    publish(output, files)
    return files
