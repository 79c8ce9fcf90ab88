"""Publish-state operations of ``Storage``: the manifest of published files and feed states.

Kept in the store, not in a file beside the feeds, because a job touches a handful of rows of
thousands: reading and rewriting a whole manifest file on every job would cost what reading
every feed back cost before, and several processes may publish one site (``lingofeed once``
beside the service), which the store's transactions already serialise. A row only says what
was written; ``feeds.publish`` still checks each file's size and mtime against it, so a
directory wiped or restored behind the store's back is rewritten, never trusted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict

import sqlalchemy as sa

from lingofeed.feeds.store._base import StorageBase
from lingofeed.feeds.store._types import FeedState, PublishedFile
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import feed_states, published_files

#: Rows per ``IN (...)`` list: well under every SQLite build's variable limit.
_CHUNK = 500


def _chunks(items: Collection[str]) -> list[list[str]]:
    ordered = sorted(items)
    return [ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


class PublishedMixin(StorageBase):
    """``StorageType``'s publish-state methods."""

    def get_published_files(self, paths: Collection[str]) -> dict[str, PublishedFile]:
        """The manifest rows of ``paths`` (missing: never published, or forgotten)."""
        found: dict[str, PublishedFile] = {}
        with self._connect("the manifest of published files") as conn:
            for chunk in _chunks(paths):
                query = sa.select(published_files).where(published_files.c.path.in_(chunk))
                for row in conn.execute(query).mappings():
                    found[row["path"]] = PublishedFile(**row)
        return found

    def record_published_files(self, files: Sequence[PublishedFile]) -> None:
        """Insert or replace manifest rows, in one transaction."""
        if not files:
            return
        with self._write("the manifest of published files") as conn:
            insert = upsert(conn, published_files)
            statement = insert.on_conflict_do_update(
                index_elements=[published_files.c.path],
                set_={name: insert.excluded[name] for name in ("sha256", "size", "mtime_ns")},
            )
            conn.execute(statement, [asdict(file) for file in files])

    def forget_feeds(self, prefixes: Collection[str]) -> list[str]:
        """Delete the states and manifest rows of feeds ``prefixes`` (``fr/sources/old``);
        return the forgotten file paths, for the caller to remove."""
        paths: list[str] = []
        with self._write("the manifest of published files") as conn:
            for prefix in sorted(prefixes):
                under = published_files.c.path.startswith(f"{prefix}/", autoescape=True)
                paths += conn.execute(sa.select(published_files.c.path).where(under)).scalars()
                conn.execute(sa.delete(published_files).where(under))
                conn.execute(sa.delete(feed_states).where(feed_states.c.feed == prefix))
        return paths

    def get_feed_states(self, feeds: Collection[str] | None = None) -> dict[str, FeedState]:
        """The states of ``feeds`` (every one when None)."""
        with self._connect("feed states") as conn:
            if feeds is None:
                rows = list(conn.execute(sa.select(feed_states)).mappings())
            else:
                rows = [
                    row
                    for chunk in _chunks(feeds)
                    for row in conn.execute(
                        sa.select(feed_states).where(feed_states.c.feed.in_(chunk))
                    ).mappings()
                ]
        return {row["feed"]: FeedState(**row) for row in rows}

    def get_dirty_feeds(self) -> dict[str, FeedState]:
        """Feeds with a change waiting to be published."""
        query = sa.select(feed_states).where(feed_states.c.dirty > 0)
        rows = self._read("feed states", query)
        return {row["feed"]: FeedState(**row) for row in rows}

    def save_feed_state(self, state: FeedState, *, mark_dirty: Collection[str] = ()) -> None:
        """Record ``state`` as published (its ``dirty`` mark cleared if unchanged since it was
        read: a mark added meanwhile stays) and mark the feeds ``mark_dirty`` changed, in one
        transaction, so a change is never recorded without the channels that must show it."""
        values = asdict(state) | {"dirty": 0}
        with self._write(f"feed state {state.feed!r}") as conn:
            self._mark_dirty(conn, mark_dirty)
            insert = upsert(conn, feed_states).values(values)
            kept = sa.case((feed_states.c.dirty == state.dirty, 0), else_=feed_states.c.dirty)
            changed = {k: insert.excluded[k] for k in values if k not in ("feed", "dirty")}
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[feed_states.c.feed], set_=changed | {"dirty": kept}
                )
            )

    def mark_feeds_dirty(self, feeds: Collection[str]) -> None:
        """Mark ``feeds`` as having a change to publish (created if they have no state yet)."""
        if feeds:
            with self._write("feed states") as conn:
                self._mark_dirty(conn, feeds)

    @staticmethod
    def _mark_dirty(conn: sa.Connection, feeds: Collection[str]) -> None:
        if not feeds:
            return
        insert = upsert(conn, feed_states)
        statement = insert.on_conflict_do_update(
            index_elements=[feed_states.c.feed], set_={"dirty": feed_states.c.dirty + 1}
        )
        conn.execute(statement, [{"feed": feed, "dirty": 1} for feed in sorted(feeds)])
