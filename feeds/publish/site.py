"""Publish the site: render every language from the store and write the files that changed.

The published feeds are always rendered from the store, never from what a cycle just fetched,
so a crash at any point leaves the previous files intact (``atomic.publish``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from lingofeed.feeds.publish.atomic import PublishResult, publish
from lingofeed.feeds.render import render_site
from lingofeed.feeds.render.settings import FeedSettings
from lingofeed.feeds.store import StorageType


def publish_site(
    storage: StorageType, rendering: FeedSettings, directory: Path, sources: Collection[str]
) -> PublishResult:
    """Render every language from the store and write the files whose bytes changed.

    Only the configured ``sources`` are shown: a source removed from the config leaves the
    feeds at once, while its rows wait for retention. Items that vanished upstream stay until
    the retention window deletes them: a feed is a history readers page back through, and most
    "vanished" items merely fell off the end of upstream's newest-N list (docs/operating.md,
    "Retention").
    """
    entries = {
        code: [
            entry
            for entry in storage.get_localized(code, include_gone=True)
            if entry.source_id in sources
        ]
        for code in rendering.languages
    }
    return publish(directory, render_site(rendering, entries))
