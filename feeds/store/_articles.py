"""Article operations of ``Storage``: what each source listed, kept under upstream's own id.

An article is stored once per source and upstream id; an upstream edit updates it in place (its
content hash changes, so its translations are redone), and an article that leaves the feed is
marked gone, kept for a while, and revives if it comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from lingofeed.feeds.store._base import NEWEST_FIRST, StorageBase
from lingofeed.feeds.store._pages import delete_orphan_pages
from lingofeed.feeds.store._sources import ensure_source
from lingofeed.feeds.store._types import UpsertResult
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import articles, translations, without_nul
from lingofeed.feeds.types import Article, EntryData, Media


def entry_values(entry: EntryData) -> dict[str, Any]:
    """An ``articles`` row's values for ``entry`` (media and categories as JSON lists)."""
    values = asdict(entry)
    values["categories"] = list(entry.categories)
    values["media"] = [asdict(item) for item in entry.media]
    values["content_hash"] = entry.content_hash()
    return values


def article_from_row(row: Mapping[Any, Any]) -> Article:
    data = EntryData(
        upstream_id=row["upstream_id"],
        title=row["title"],
        link=row["link"],
        summary=row["summary"],
        content=row["content"],
        author=row["author"],
        categories=tuple(row["categories"]),
        media=tuple(Media(**item) for item in row["media"]),
        published=row["published"],
        updated=row["updated"],
        language=row["language"],
    )
    return Article(
        source_id=row["source_id"],
        data=data,
        content_hash=row["content_hash"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        gone_since=row["gone_since"],
    )


def of_source(source_id: str) -> sa.ColumnElement[bool]:
    return articles.c.source_id == source_id


class ArticlesMixin(StorageBase):
    """``StorageType``'s article methods."""

    def upsert_entries(
        self, source_id: str, /, entries: Sequence[EntryData], now: datetime, *, full: bool = True
    ) -> UpsertResult:
        """Store one fetch's entries in one transaction.

        An upstream edit updates the article in place under the same id. With ``full`` (the
        entries are everything upstream lists now), stored articles missing from ``entries`` get
        ``gone_since = now``; they are kept until ``delete_gone`` and revive if they reappear.
        A duplicate id within ``entries`` keeps its first occurrence (feeds list newest first).

        A new article's ``first_seen`` is ``now`` minus its position in ``entries`` in seconds,
        and never changes afterwards: undated items that arrive together get distinct,
        stable dates in upstream's order (newest first) instead of one shared timestamp
        (the W3C validator's DuplicateUpdated), in every format down to RSS's whole seconds.
        """
        unique: dict[str, EntryData] = {}  # by the id as stored, which has no NUL
        for entry in entries:
            unique.setdefault(without_nul(entry.upstream_id), entry)
        new: list[str] = []
        changed: list[str] = []
        unchanged: list[str] = []
        returned: list[str] = []
        with self._write(f"articles of source {source_id!r}") as conn:
            ensure_source(conn, source_id)
            stored = {
                row.upstream_id: row
                for row in conn.execute(
                    sa.select(
                        articles.c.upstream_id, articles.c.content_hash, articles.c.gone_since
                    ).where(of_source(source_id))
                )
            }
            rows = []
            for position, (upstream_id, entry) in enumerate(unique.items()):
                values = entry_values(entry)
                first_seen = now - timedelta(seconds=position)
                rows.append(
                    {"source_id": source_id, "first_seen": first_seen, "last_seen": now} | values
                )
                previous = stored.get(upstream_id)
                if previous is None:
                    new.append(upstream_id)
                    continue
                if previous.gone_since is not None:
                    returned.append(upstream_id)
                is_changed = previous.content_hash != values["content_hash"]
                (changed if is_changed else unchanged).append(upstream_id)
            if rows:
                conn.execute(_upsert_articles(conn), rows)
            gone = [
                upstream_id
                for upstream_id, row in stored.items()
                if full and upstream_id not in unique and row.gone_since is None
            ]
            if gone:
                conn.execute(
                    sa.update(articles)
                    .where(of_source(source_id), articles.c.upstream_id.in_(gone))
                    .values(gone_since=now)
                )
        return UpsertResult(
            new=tuple(new),
            changed=tuple(changed),
            unchanged=tuple(unchanged),
            gone=tuple(gone),
            returned=tuple(returned),
        )

    def get_article(self, source_id: str, upstream_id: str, /) -> Article | None:
        query = sa.select(articles).where(
            of_source(source_id), articles.c.upstream_id == upstream_id
        )
        rows = self._read(f"article {upstream_id!r} of source {source_id!r}", query)
        return article_from_row(rows[0]) if rows else None

    def get_articles(
        self, source_id: str | None = None, *, include_gone: bool = False
    ) -> list[Article]:
        """Articles newest first (by published, else updated, else first seen)."""
        query = filter_articles(
            sa.select(articles).order_by(*NEWEST_FIRST), source_id, include_gone=include_gone
        )
        return [article_from_row(row) for row in self._read("articles", query)]

    def delete_gone(self, before: datetime, *, source_id: str | None = None) -> int:
        """Delete articles (with their translations and pages) gone before ``before``; return
        how many.

        ``source_id`` limits it to one source, so a source whose fetches fail keeps its gone
        articles: nobody has checked that they are still gone.
        """
        query = (
            sa.delete(articles)
            .where(articles.c.gone_since.is_not(None))
            .where(articles.c.gone_since < before)
        )
        if source_id is not None:
            query = query.where(of_source(source_id))
        with self._write("articles (deleting gone ones)") as conn:
            result = conn.execute(query)
            _delete_orphan_translations(conn)
            delete_orphan_pages(conn, source_id)
        return int(result.rowcount)


def _upsert_articles(conn: Connection) -> sqlite.Insert | postgresql.Insert:
    """Insert an article, or bring a stored one up to date: seen now, not gone, upstream's text.

    An unchanged article's values are the stored ones (the content hash covers every field),
    so one statement serves new, edited and unchanged entries; ``first_seen`` stays.
    """
    insert = upsert(conn, articles)
    kept = {"source_id", "upstream_id", "first_seen", "gone_since"}
    refreshed = {c.name: insert.excluded[c.name] for c in articles.c if c.name not in kept}
    return insert.on_conflict_do_update(
        index_elements=[articles.c.source_id, articles.c.upstream_id],
        set_=refreshed | {"gone_since": None},
    )


def filter_articles(
    query: sa.Select[Any], source_id: str | None, *, include_gone: bool
) -> sa.Select[Any]:
    """``query`` narrowed to one source (if given) and to present articles (unless asked)."""
    if source_id is not None:
        query = query.where(of_source(source_id))
    if not include_gone:
        query = query.where(articles.c.gone_since.is_(None))
    return query


def _delete_orphan_translations(conn: Connection) -> None:
    """Translations of deleted articles (the foreign key cascades only where it is enforced)."""
    exists = (
        sa.select(articles.c.upstream_id)
        .where(articles.c.source_id == translations.c.source_id)
        .where(articles.c.upstream_id == translations.c.upstream_id)
        .exists()
    )
    conn.execute(sa.delete(translations).where(~exists))
