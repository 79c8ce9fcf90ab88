"""Page operations of ``Storage``: the full-text cache, one row per article page URL.

A page is fetched when its item is new or changed upstream (conditionally, with the stored
validators) or when its backoff after a failure is over; otherwise its stored extraction is
used as it is. A failure keeps the last good extraction and counts towards the backoff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lingofeed.feeds.store._base import StorageBase
from lingofeed.feeds.store._types import PageState
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import articles, pages

#: URLs per ``IN (...)`` when reading pages (well under every backend's parameter limit).
_CHUNK = 500


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _page_from_row(row: Mapping[Any, Any]) -> PageState:
    return PageState(**{c.name: row[c.name] for c in pages.c if c.name != "url_hash"})


class PagesMixin(StorageBase):
    """``StorageType``'s page methods."""

    def get_pages(self, urls: Collection[str]) -> dict[str, PageState]:
        """The stored state of each of ``urls`` that has one, by URL."""
        hashes = sorted({url_hash(url) for url in urls})
        found: dict[str, PageState] = {}
        with self._connect("pages") as conn:
            for start in range(0, len(hashes), _CHUNK):
                query = sa.select(pages).where(pages.c.url_hash.in_(hashes[start : start + _CHUNK]))
                for row in conn.execute(query).mappings():
                    found[row["url"]] = _page_from_row(row)
        return found

    def record_page_success(
        self,
        url: str,
        /,
        now: datetime,
        *,
        source_id: str,
        entry_hash: str,
        status: int,
        etag: str | None = None,
        last_modified: str | None = None,
        content: str | None = None,
    ) -> None:
        """A page was fetched: 200 with its new ``content``, or 304 (``content`` None keeps
        the stored extraction). Clears the error and the backoff."""
        values: dict[str, Any] = {
            "source_id": source_id,
            "entry_hash": entry_hash,
            "etag": etag,
            "last_modified": last_modified,
            "fetched_at": now,
            "last_status": status,
            "error": None,
            "consecutive_failures": 0,
            "next_attempt_at": None,
        }
        if content is not None:
            values["content"] = content
        self._upsert_page(url, values, values)

    def record_page_failure(
        self,
        url: str,
        /,
        now: datetime,
        *,
        source_id: str,
        entry_hash: str,
        error: str,
        status: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """A page fetch or extraction failed: keep the last good extraction and validators,
        count the failure and do not try again before ``next_attempt_at``."""
        values: dict[str, Any] = {
            "source_id": source_id,
            "entry_hash": entry_hash,
            "fetched_at": now,
            "last_status": status,
            "error": error,
            "next_attempt_at": next_attempt_at,
        }
        updates = values | {"consecutive_failures": pages.c.consecutive_failures + 1}
        self._upsert_page(url, values | {"consecutive_failures": 1}, updates)

    def _upsert_page(
        self, url: str, inserted: Mapping[str, Any], updated: Mapping[str, Any]
    ) -> None:
        with self._write(f"page {url!r}") as conn:
            insert = upsert(conn, pages).values(url_hash=url_hash(url), url=url, **inserted)
            conn.execute(
                insert.on_conflict_do_update(index_elements=[pages.c.url_hash], set_=dict(updated))
            )


def delete_orphan_pages(conn: Connection, source_id: str | None) -> None:
    """Pages no present or gone article of their source links to any more (deleted, or its
    link edited upstream); ``source_id`` None looks at every source."""
    links = sa.select(articles.c.link).where(articles.c.link.is_not(None))
    query = sa.delete(pages)
    if source_id is not None:
        links = links.where(articles.c.source_id == source_id)
        query = query.where(pages.c.source_id == source_id)
    conn.execute(query.where(pages.c.url.not_in(links)))
