"""The article store: source fetch state, articles, and their per-language translations.

The cycle codes against ``StorageType``; ``Storage`` implements it with SQLAlchemy Core on the
engine from ``feeds.db`` (SQLite by default, PostgreSQL by URL). Every operational database
failure becomes ``StorageError`` naming the database, so a locked or full disk is reported, not
mistaken for a bug. One engine with pooled connections: safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from feeds.db import ensure_schema, wrap_errors
from feeds.schema import (
    FEEDS_SCHEMA,
    SourceState,
    StorageCounts,
    TranslationRecord,
    TranslationStatus,
    UpsertResult,
    article_from_row,
    articles,
    entry_values,
    localize,
    original_entry,
    same_language,
    source_from_row,
    sources,
    translation_from_row,
    translations,
)
from feeds.types import Article, EntryData, LocalizedEntry

__all__ = [
    "SourceState",
    "Storage",
    "StorageCounts",
    "StorageType",
    "TranslationRecord",
    "TranslationStatus",
    "UpsertResult",
    "localize",
    "same_language",
]


class StorageType(Protocol):
    """What the cycle, renderer and status page need from the store.

    Contracts: datetimes in and out are aware UTC; ``now`` is always passed in (no hidden clock),
    so tests and the cycle agree on time; each write method is one transaction; operational
    failures raise ``StorageError``. Implementations must be usable from several threads.
    """

    def close(self) -> None: ...

    # sources
    def add_source(self, source_id: str, /, url: str | None) -> SourceState: ...
    def get_source(self, source_id: str, /) -> SourceState | None: ...
    def get_sources(self) -> list[SourceState]: ...
    def delete_source(self, source_id: str, /) -> None: ...
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
    ) -> None: ...
    def record_fetch_failure(
        self,
        source_id: str,
        /,
        now: datetime,
        *,
        error: str,
        status: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None: ...
    def disable_source(self, source_id: str, /, now: datetime, reason: str) -> None: ...
    def enable_source(self, source_id: str, /) -> None: ...

    # articles
    def upsert_entries(
        self, source_id: str, /, entries: Sequence[EntryData], now: datetime, *, full: bool = True
    ) -> UpsertResult: ...
    def get_article(self, source_id: str, upstream_id: str, /) -> Article | None: ...
    def get_articles(
        self, source_id: str | None = None, *, include_gone: bool = False
    ) -> list[Article]: ...
    def delete_gone(self, before: datetime) -> int: ...

    # translations
    def get_articles_needing_translation(
        self, language: str, context: str, *, source_id: str | None = None
    ) -> list[Article]: ...
    def save_translation(
        self,
        source_id: str,
        upstream_id: str,
        /,
        language: str,
        *,
        fields: Mapping[str, str],
        content_hash: str,
        context: str,
        now: datetime,
        source_language: str | None = None,
        machine_translated: bool = True,
    ) -> TranslationRecord: ...
    def set_translation_status(
        self,
        source_id: str,
        upstream_id: str,
        /,
        language: str,
        *,
        status: TranslationStatus,
        content_hash: str,
        context: str,
        error: str | None = None,
    ) -> None: ...
    def get_translation(
        self, source_id: str, upstream_id: str, /, language: str
    ) -> TranslationRecord | None: ...
    def get_localized(
        self, language: str, *, source_id: str | None = None, include_gone: bool = False
    ) -> list[LocalizedEntry]: ...
    def get_counts(self) -> StorageCounts: ...


def _source_row(conn: Connection, source_id: str) -> RowMapping | None:
    return conn.execute(sa.select(sources).where(sources.c.id == source_id)).mappings().first()


def _ensure_source(conn: Connection, source_id: str) -> None:
    """Articles and fetch state hang off a source row; create a bare one when missing."""
    if _source_row(conn, source_id) is None:
        conn.execute(sa.insert(sources).values(id=source_id))


_NEWEST_FIRST = (
    sa.func.coalesce(articles.c.published, articles.c.updated, articles.c.first_seen).desc(),
    articles.c.upstream_id,
)


class Storage:
    """``StorageType`` on a SQLAlchemy engine; creates or upgrades ``FEEDS_SCHEMA`` on open."""

    def __init__(self, engine: Engine) -> None:
        ensure_schema(engine, FEEDS_SCHEMA)
        self.engine = engine

    def close(self) -> None:
        """Release pooled connections; the engine's owner may still use it."""
        self.engine.dispose()

    def _read(self, what: str, query: sa.Executable) -> list[RowMapping]:
        with wrap_errors(self.engine, f"cannot read {what}"), self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    @contextmanager
    def _write(self, what: str) -> Iterator[Connection]:
        """One transaction; an operational failure names what was being written."""
        with wrap_errors(self.engine, f"cannot write {what}"), self.engine.begin() as conn:
            yield conn

    # -- sources -------------------------------------------------------------------------------

    def add_source(self, source_id: str, /, url: str | None) -> SourceState:
        """Create the source's row, or follow a changed configured URL; return its state.

        A permanent redirect updates ``url`` but not ``configured_url``: when the operator edits
        the config, the new URL wins over the remembered redirect and the cached validators go.
        """
        with self._write(f"source {source_id!r}") as conn:
            row = _source_row(conn, source_id)
            if row is None:
                conn.execute(sa.insert(sources).values(id=source_id, configured_url=url, url=url))
            elif row["configured_url"] != url:
                conn.execute(
                    sa.update(sources)
                    .where(sources.c.id == source_id)
                    .values(configured_url=url, url=url, etag=None, last_modified=None)
                )
            state = _source_row(conn, source_id)
        assert state is not None
        return source_from_row(state)

    def get_source(self, source_id: str, /) -> SourceState | None:
        rows = self._read(
            f"source {source_id!r}", sa.select(sources).where(sources.c.id == source_id)
        )
        return source_from_row(rows[0]) if rows else None

    def get_sources(self) -> list[SourceState]:
        return [
            source_from_row(row)
            for row in self._read("sources", sa.select(sources).order_by(sources.c.id))
        ]

    def delete_source(self, source_id: str, /) -> None:
        """Forget a source with its articles and translations (it left the config)."""
        with self._write(f"source {source_id!r}") as conn:
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
            _ensure_source(conn, source_id)
            conn.execute(sa.update(sources).where(sources.c.id == source_id).values(**values))

    # -- articles ------------------------------------------------------------------------------

    def upsert_entries(
        self, source_id: str, /, entries: Sequence[EntryData], now: datetime, *, full: bool = True
    ) -> UpsertResult:
        """Store one fetch's entries in one transaction.

        An upstream edit updates the article in place under the same id. With ``full`` (the
        entries are everything upstream lists now), stored articles missing from ``entries`` get
        ``gone_since = now``; they are kept until ``delete_gone`` and revive if they reappear.
        A duplicate id within ``entries`` keeps its first occurrence (feeds list newest first).
        """
        unique: dict[str, EntryData] = {}
        for entry in entries:
            unique.setdefault(entry.upstream_id, entry)
        new: list[str] = []
        changed: list[str] = []
        unchanged: list[str] = []
        returned: list[str] = []
        with self._write(f"articles of source {source_id!r}") as conn:
            _ensure_source(conn, source_id)
            stored = {
                row.upstream_id: row
                for row in conn.execute(
                    sa.select(
                        articles.c.upstream_id, articles.c.content_hash, articles.c.gone_since
                    ).where(articles.c.source_id == source_id)
                )
            }
            for upstream_id, entry in unique.items():
                values = entry_values(entry)
                previous = stored.get(upstream_id)
                if previous is None:
                    conn.execute(
                        sa.insert(articles).values(
                            source_id=source_id, first_seen=now, last_seen=now, **values
                        )
                    )
                    new.append(upstream_id)
                    continue
                if previous.gone_since is not None:
                    returned.append(upstream_id)
                is_changed = previous.content_hash != values["content_hash"]
                (changed if is_changed else unchanged).append(upstream_id)
                update = values if is_changed else {}
                conn.execute(
                    sa.update(articles)
                    .where(articles.c.source_id == source_id)
                    .where(articles.c.upstream_id == upstream_id)
                    .values(last_seen=now, gone_since=None, **update)
                )
            gone = [
                upstream_id
                for upstream_id, row in stored.items()
                if full and upstream_id not in unique and row.gone_since is None
            ]
            if gone:
                conn.execute(
                    sa.update(articles)
                    .where(articles.c.source_id == source_id)
                    .where(articles.c.upstream_id.in_(gone))
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
        query = (
            sa.select(articles)
            .where(articles.c.source_id == source_id)
            .where(articles.c.upstream_id == upstream_id)
        )
        rows = self._read(f"article {upstream_id!r} of source {source_id!r}", query)
        return article_from_row(rows[0]) if rows else None

    def get_articles(
        self, source_id: str | None = None, *, include_gone: bool = False
    ) -> list[Article]:
        """Articles newest first (by published, else updated, else first seen)."""
        query = sa.select(articles).order_by(*_NEWEST_FIRST)
        if source_id is not None:
            query = query.where(articles.c.source_id == source_id)
        if not include_gone:
            query = query.where(articles.c.gone_since.is_(None))
        return [article_from_row(row) for row in self._read("articles", query)]

    def delete_gone(self, before: datetime) -> int:
        """Delete articles (and their translations) gone before ``before``; return how many."""
        with self._write("articles (deleting gone ones)") as conn:
            result = conn.execute(
                sa.delete(articles)
                .where(articles.c.gone_since.is_not(None))
                .where(articles.c.gone_since < before)
            )
            _delete_orphan_translations(conn)
        return int(result.rowcount)

    # -- translations --------------------------------------------------------------------------

    def get_articles_needing_translation(
        self, language: str, context: str, *, source_id: str | None = None
    ) -> list[Article]:
        """Present articles with no usable translation into ``language``, newest first.

        Needing one means: no row, or the article changed since (hash), or the glossary/model
        changed (``context``), or the row is pending/failed. Articles declared in ``language``
        itself never need one.
        """
        joined = articles.outerjoin(translations, _translation_join(language))
        query = (
            sa.select(articles)
            .select_from(joined)
            .where(articles.c.gone_since.is_(None))
            .where(
                sa.or_(
                    translations.c.status.is_(None),
                    translations.c.status != TranslationStatus.DONE.value,
                    translations.c.content_hash != articles.c.content_hash,
                    translations.c.context != context,
                )
            )
            .order_by(*_NEWEST_FIRST)
        )
        if source_id is not None:
            query = query.where(articles.c.source_id == source_id)
        rows = self._read(f"articles needing {language!r}", query)
        found = (article_from_row(row) for row in rows)
        return [article for article in found if not same_language(article.data.language, language)]

    def save_translation(
        self,
        source_id: str,
        upstream_id: str,
        /,
        language: str,
        *,
        fields: Mapping[str, str],
        content_hash: str,
        context: str,
        now: datetime,
        source_language: str | None = None,
        machine_translated: bool = True,
    ) -> TranslationRecord:
        """Store a finished translation; ``content_updated_at`` moves only if ``fields`` changed.

        So a retranslation after a glossary change that yields the same text does not make
        readers see the entry as updated.
        """
        with self._write(f"translation of {upstream_id!r} into {language!r}") as conn:
            previous = _translation_row(conn, source_id, upstream_id, language)
            unchanged = previous is not None and dict(previous["fields"]) == dict(fields)
            values: dict[str, Any] = {
                "fields": dict(fields),
                "content_hash": content_hash,
                "context": context,
                "status": TranslationStatus.DONE.value,
                "error": None,
                "translated_at": now,
                "source_language": source_language,
                "machine_translated": machine_translated,
                "content_updated_at": previous["content_updated_at"]
                if previous and unchanged
                else now,
            }
            _put_translation(conn, source_id, upstream_id, language, previous, values)
            row = _translation_row(conn, source_id, upstream_id, language)
        assert row is not None
        return translation_from_row(row)

    def set_translation_status(
        self,
        source_id: str,
        upstream_id: str,
        /,
        language: str,
        *,
        status: TranslationStatus,
        content_hash: str,
        context: str,
        error: str | None = None,
    ) -> None:
        """Mark a translation pending or failed, keeping any earlier fields for rendering."""
        with self._write(f"translation of {upstream_id!r} into {language!r}") as conn:
            previous = _translation_row(conn, source_id, upstream_id, language)
            values: dict[str, Any] = {"status": status.value, "error": error}
            if previous is None:
                values |= {"fields": {}, "content_hash": content_hash, "context": context}
            _put_translation(conn, source_id, upstream_id, language, previous, values)

    def get_translation(
        self, source_id: str, upstream_id: str, /, language: str
    ) -> TranslationRecord | None:
        query = sa.select(translations).where(_translation_key(source_id, upstream_id, language))
        rows = self._read(f"translation of {upstream_id!r} into {language!r}", query)
        return translation_from_row(rows[0]) if rows else None

    def get_localized(
        self, language: str, *, source_id: str | None = None, include_gone: bool = False
    ) -> list[LocalizedEntry]:
        """What ``language``'s feeds show, newest first.

        An article appears translated when it has translated fields in ``language`` (the last
        good ones, even while a newer attempt is pending or failed), or as it is when it was
        declared in ``language``. Untranslated foreign articles are left out.
        """
        joined = articles.outerjoin(translations, _translation_join(language))
        query = (
            sa.select(articles, *_TRANSLATION_COLUMNS).select_from(joined).order_by(*_NEWEST_FIRST)
        )
        if source_id is not None:
            query = query.where(articles.c.source_id == source_id)
        if not include_gone:
            query = query.where(articles.c.gone_since.is_(None))
        shown = []
        for row in self._read(f"feed entries for {language!r}", query):
            article = article_from_row(row)
            if row["t_status"] is not None and row["t_fields"]:
                shown.append(localize(article, translation_from_row(_unprefixed(row))))
            elif same_language(article.data.language, language):
                shown.append(original_entry(article))
        return shown

    def get_counts(self) -> StorageCounts:
        """Present articles per source, translation rows per language and status."""
        per_source = (
            sa.select(articles.c.source_id, sa.func.count())
            .where(articles.c.gone_since.is_(None))
            .group_by(articles.c.source_id)
        )
        per_language = sa.select(
            translations.c.language, translations.c.status, sa.func.count()
        ).group_by(translations.c.language, translations.c.status)
        with wrap_errors(self.engine, "cannot read counts"), self.engine.connect() as conn:
            article_counts = {row[0]: int(row[1]) for row in conn.execute(per_source)}
            translation_counts: dict[str, dict[str, int]] = {}
            for language, status, count in conn.execute(per_language):
                translation_counts.setdefault(language, {})[status] = int(count)
        return StorageCounts(articles=article_counts, translations=translation_counts)


_TRANSLATION_COLUMNS = tuple(column.label(f"t_{column.name}") for column in translations.c)


def _unprefixed(row: RowMapping) -> dict[str, Any]:
    """The translation half of an article+translation join row, under its own column names."""
    return {column.name: row[f"t_{column.name}"] for column in translations.c}


def _translation_join(language: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        translations.c.source_id == articles.c.source_id,
        translations.c.upstream_id == articles.c.upstream_id,
        translations.c.language == language,
    )


def _translation_key(source_id: str, upstream_id: str, language: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        translations.c.source_id == source_id,
        translations.c.upstream_id == upstream_id,
        translations.c.language == language,
    )


def _translation_row(
    conn: Connection, source_id: str, upstream_id: str, language: str
) -> RowMapping | None:
    query = sa.select(translations).where(_translation_key(source_id, upstream_id, language))
    return conn.execute(query).mappings().first()


def _put_translation(
    conn: Connection,
    source_id: str,
    upstream_id: str,
    language: str,
    previous: RowMapping | None,
    values: Mapping[str, Any],
) -> None:
    if previous is None:
        conn.execute(
            sa.insert(translations).values(
                source_id=source_id, upstream_id=upstream_id, language=language, **values
            )
        )
    else:
        conn.execute(
            sa.update(translations)
            .where(_translation_key(source_id, upstream_id, language))
            .values(**values)
        )


def _delete_orphan_translations(conn: Connection) -> None:
    """Translations of deleted articles (the foreign key cascades only where it is enforced)."""
    exists = (
        sa.select(articles.c.upstream_id)
        .where(articles.c.source_id == translations.c.source_id)
        .where(articles.c.upstream_id == translations.c.upstream_id)
        .exists()
    )
    conn.execute(sa.delete(translations).where(~exists))
