"""Sources that left the config: unpublished at once, their items deleted after retention.

A removed source's items are marked gone when the removal is first seen (before the next
publish, which shows configured sources only), deleted ``retention_days`` later like any
vanished item, and the source's row (fetch state, validators) goes with its last item, so a
source added back later is fetched afresh. Until then, adding it back revives what it still lists.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from lingofeed.feeds.store import StorageType
from lingofeed.scheduler.events import event
from lingofeed.scheduler.settings import Settings

log = logging.getLogger("lingofeed.cycle")


def retire_removed_sources(storage: StorageType, settings: Settings, now: datetime) -> None:
    """Mark the items of stored sources missing from ``settings`` gone; delete expired ones."""
    configured = {s.source.id for s in settings.sources}
    before = now - timedelta(days=settings.retention_days)
    for state in storage.get_sources():
        if state.id in configured:
            continue
        retired = storage.upsert_entries(state.id, (), now, full=True).gone
        if retired:
            log.info(event("source-removed", source=state.id, items_unpublished=len(retired)))
        deleted = storage.delete_gone(before, source_id=state.id)
        if deleted:
            log.info(event("deleted-gone", source=state.id, deleted=deleted, gone_before=before))
        if not storage.get_articles(state.id, include_gone=True):
            storage.delete_source(state.id)
            log.info(event("source-forgotten", source=state.id))
