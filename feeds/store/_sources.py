"""Source operations of ``Storage``: one row per configured source with its fetch state.

The cycle records each fetch's outcome here (validators for the next conditional GET, backoff
after failures, a 410 disabling the source), and the status page reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lingofeed.feeds.store._base import StorageBase
from lingofeed.feeds.store._types import SourceState
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import articles, pages, sources, translations


def source_from_row(row: Mapping[Any, Any]) -> SourceState:
    return SourceState(**{column.name: row[column.name] for column in sources.c})


def _source_row(conn: Connection, source_id: str) -> RowMapping | None:
    return conn.execute(sa.select(sources).where(sources.c.id == source_id)).mappings().first()


def ensure_source(conn: Connection, source_id: str) -> None:
    """Articles and fetch state hang off a source row; create a bare one when missing.

    Then the row is locked for the rest of the transaction (PostgreSQL; a SQLite write
    transaction holds the whole database), so two writers of one source take turns.
    """
    conn.execute(upsert(conn, sources).values(id=source_id).on_conflict_do_nothing())
    conn.execute(sa.select(sources.c.id).where(sources.c.id == source_id).with_for_update())


class SourcesMixin(StorageBase):
    """``StorageType``'s source methods."""

    def add_source(self, source_id: str, /, url: str | None) -> SourceState:
        """Create the source's row, or follow a changed configured URL; return its state.

        A permanent redirect updates ``url`` but not ``configured_url``: when the operator edits
        the config, the new URL wins over the remembered redirect and the cached validators go.
        """
        with self._write(f"source {source_id!r}") as conn:
            insert = upsert(conn, sources).values(id=source_id, configured_url=url, url=url)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[sources.c.id],
                    set_={
                        "configured_url": insert.excluded.configured_url,
                        "url": insert.excluded.url,
                        "etag": None,
                        "last_modified": None,
                    },
                    where=sources.c.configured_url.is_distinct_from(insert.excluded.configured_url),
                )
            )
            state = _source_row(conn, source_id)
        assert state is not None
        return source_from_row(state)

    def get_source(self, source_id: str, /) -> SourceState | None:
        with self._connect(f"source {source_id!r}") as conn:
            row = _source_row(conn, source_id)
        return source_from_row(row) if row is not None else None

    def get_sources(self) -> list[SourceState]:
        return [
            source_from_row(row)
            for row in self._read("sources", sa.select(sources).order_by(sources.c.id))
        ]

    def delete_source(self, source_id: str, /) -> None:
        """Forget a source with its articles, pages and translations (it left the config)."""
        with self._write(f"source {source_id!r}") as conn:
            conn.execute(sa.delete(pages).where(pages.c.source_id == source_id))
            conn.execute(sa.delete(translations).where(translations.c.source_id == source_id))
            conn.execute(sa.delete(articles).where(articles.c.source_id == source_id))
            conn.execute(sa.delete(sources).where(sources.c.id == source_id))

    def record_fetch_success(
        self,
        source_id: str,
        /,
        now: datetime,
        *,
        status: int,
        etag: str | None = None,
        last_modified: str | None = None,
        url: str | None = None,
    ) -> None:
        """A fetch worked (200 or 304): keep validators, clear the backoff; ``url`` after a 301."""
        values: dict[str, Any] = {
            "etag": etag,
            "last_modified": last_modified,
            "last_fetch_at": now,
            "last_ok_at": now,
            "last_status": status,
            "last_error": None,
            "consecutive_failures": 0,
            "next_attempt_at": None,
        }
        if url is not None:
            values["url"] = url
        self._update_source(source_id, values)

    def record_fetch_failure(
        self,
        source_id: str,
        /,
        now: datetime,
        *,
        error: str,
        status: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """A fetch failed: count it and remember when to try again (the caller's backoff)."""
        self._update_source(
            source_id,
            {
                "last_fetch_at": now,
                "last_status": status,
                "last_error": error,
                "consecutive_failures": sources.c.consecutive_failures + 1,
                "next_attempt_at": next_attempt_at,
            },
        )

    def disable_source(self, source_id: str, /, now: datetime, reason: str) -> None:
        """Stop fetching (410 Gone): the source stays listed with its reason until re-enabled."""
        self._update_source(
            source_id,
            {
                "disabled": True,
                "disabled_reason": reason,
                "last_fetch_at": now,
                "last_error": reason,
            },
        )

    def enable_source(self, source_id: str, /) -> None:
        self._update_source(
            source_id, {"disabled": False, "disabled_reason": None, "consecutive_failures": 0}
        )

    def _update_source(self, source_id: str, values: Mapping[str, Any]) -> None:
        with self._write(f"source {source_id!r}") as conn:
            ensure_source(conn, source_id)
            conn.execute(sa.update(sources).where(sources.c.id == source_id).values(**values))
