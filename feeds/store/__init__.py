"""The store: every table lingofeed keeps, behind typed methods.

The cycle codes against ``StorageType`` (source fetch state, articles, their per-language
translations, usage counters, publish state); ``Storage`` implements it with SQLAlchemy Core on
the engine from ``feeds.store.db`` (SQLite by default, PostgreSQL by URL).
``SqlTranslationMemory`` implements the pipeline's ``translations.memory.TranslationMemory`` on
the same engine. One engine with pooled connections: safe to share between threads, and
between processes writing one database (every insert is an ``INSERT … ON CONFLICT``, every
write one ``write_transaction``).

``Storage`` is assembled from one mixin per domain, each in its own module: sources
(``_sources``), articles (``_articles``), full-text pages (``_pages``), translations
(``_translations``), usage (``_usage``), publish state (``_published``), on the shared engine
and transactions of ``_base``. Records and the Protocol live in ``_types``.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from lingofeed.feeds.store._articles import ArticlesMixin
from lingofeed.feeds.store._memory import SqlTranslationMemory
from lingofeed.feeds.store._pages import PagesMixin
from lingofeed.feeds.store._published import PublishedMixin
from lingofeed.feeds.store._sources import SourcesMixin
from lingofeed.feeds.store._translations import (
    TranslationsMixin,
    count_filtered,
    count_needing_translation,
    count_shown,
    localize,
)
from lingofeed.feeds.store._types import (
    FeedState,
    MemoryStats,
    PageState,
    PublishedFile,
    SourceState,
    StorageCounts,
    StorageType,
    TranslationRecord,
    TranslationStatus,
    UpsertResult,
    Usage,
)
from lingofeed.feeds.store._usage import UsageMixin
from lingofeed.feeds.store.schema import articles, pages, translations

__all__ = [
    "FeedState",
    "MemoryStats",
    "PageState",
    "PublishedFile",
    "SourceState",
    "SqlTranslationMemory",
    "Storage",
    "StorageCounts",
    "StorageType",
    "TranslationRecord",
    "TranslationStatus",
    "UpsertResult",
    "Usage",
    "localize",
]


class Storage(
    SourcesMixin, ArticlesMixin, PagesMixin, TranslationsMixin, UsageMixin, PublishedMixin
):
    """``StorageType`` on a SQLAlchemy engine; creates or upgrades every table on open."""

    def get_counts(
        self,
        contexts: Mapping[str, str] | None = None,
        source_contexts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StorageCounts:
        """Present articles per source (and how many its filters leave out), translation rows
        per language and status.

        For each language of ``contexts`` (language -> current translation context) also the
        entries its feeds show and the articles still to translate: counted in SQL, never by
        loading rows, so the status page costs the same with ten articles or a million.
        ``source_contexts`` (language -> source id -> context) names the sources whose items
        are translated under a context of their own (filters, field choice).
        """
        per_source = (
            sa.select(articles.c.source_id, sa.func.count())
            .where(articles.c.gone_since.is_(None))
            .group_by(articles.c.source_id)
        )
        per_language = sa.select(
            translations.c.language, translations.c.status, sa.func.count()
        ).group_by(translations.c.language, translations.c.status)
        errors = (
            sa.select(translations.c.language, sa.func.min(translations.c.error))
            .where(translations.c.status == TranslationStatus.FAILED.value)
            .where(translations.c.error.is_not(None))
            .group_by(translations.c.language)
        )
        failed_pages = (
            sa.select(pages.c.source_id, sa.func.count(), sa.func.min(pages.c.error))
            .where(pages.c.error.is_not(None))
            .group_by(pages.c.source_id)
        )
        with self._connect("counts") as conn:
            article_counts = {row[0]: int(row[1]) for row in conn.execute(per_source)}
            translation_counts: dict[str, dict[str, int]] = {}
            for language, status, count in conn.execute(per_language):
                translation_counts.setdefault(language, {})[status] = int(count)
            error_by_language = {row[0]: str(row[1]) for row in conn.execute(errors)}
            shown = {code: int(conn.scalar(count_shown(code)) or 0) for code in contexts or {}}
            untranslated = {
                code: int(
                    conn.scalar(
                        count_needing_translation(code, context, (source_contexts or {}).get(code))
                    )
                    or 0
                )
                for code, context in (contexts or {}).items()
            }
            page_rows = list(conn.execute(failed_pages))
            filtered = {row[0]: int(row[1]) for row in conn.execute(count_filtered())}
        return StorageCounts(
            articles=article_counts,
            translations=translation_counts,
            errors=error_by_language,
            shown=shown,
            untranslated=untranslated,
            page_failures={row[0]: int(row[1]) for row in page_rows},
            page_errors={row[0]: str(row[2]) for row in page_rows},
            filtered=filtered,
        )
