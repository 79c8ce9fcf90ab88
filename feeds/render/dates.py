"""The dates feeds carry and the order entries go in, taken from the entries, never the clock.

Re-rendering unchanged content must give byte-identical files, so no date here is "now".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lingofeed.feeds.render.errors import RenderError
from lingofeed.feeds.types import LocalizedEntry

#: Feed-level ``updated`` of a feed without entries: fixed, so an empty feed re-renders identically.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_updated(entry: LocalizedEntry) -> datetime:
    """When this language's content last changed; falls back to published.

    Raises RenderError naming the entry when neither date is known, instead of inventing "now"
    (which would make every re-render look like an update).
    """
    value = entry.updated or entry.published
    if value is None:
        raise RenderError(
            f"entry {entry.upstream_id!r} of source {entry.source_id!r} ({entry.language}) "
            "has neither updated nor published date"
        )
    return value


def age_key(entry: LocalizedEntry) -> tuple[datetime, str, str]:
    """Sort key by age: published date (stable across edits), then ids to break ties."""
    return (entry.published or entry_updated(entry), entry.source_id, entry.upstream_id)


def feed_updated(entries: Sequence[LocalizedEntry]) -> datetime:
    """Feed-level updated: the newest entry change, never the time of rendering."""
    return max((entry_updated(entry) for entry in entries), default=EPOCH)
