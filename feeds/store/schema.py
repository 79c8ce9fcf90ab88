"""Table definitions for the article store.

Contains no business logic. Tables (sources, articles, per-language translations) are declared
with SQLAlchemy Core and registered as ``FEEDS_SCHEMA`` so ``feeds.store.db.open_engine`` creates or
upgrades them; PostgreSQL needs only a different URL. ``feeds.store`` reads and writes them and
maps their rows to its records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lingofeed.feeds.store.db import Schema


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC datetimes.

    SQLite has no time zone type and returns naive values; normalising here keeps every caller
    on the documented "aware UTC" contract whatever the backend.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: lingofeed stores aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    #: The URL from the operator's config; when it changes, ``url`` is reset to it.
    sa.Column("configured_url", sa.Text),
    #: The URL to fetch now (updated after a permanent redirect).
    sa.Column("url", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_fetch_at", UTCDateTime),
    sa.Column("last_ok_at", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_reason", sa.Text),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column(
        "source_id", sa.String(200), sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("upstream_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("link", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("content", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("media", sa.JSON, nullable=False),
    sa.Column("published", UTCDateTime),
    sa.Column("updated", UTCDateTime),
    sa.Column("language", sa.String(35)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("gone_since", UTCDateTime),
    sa.PrimaryKeyConstraint("source_id", "upstream_id"),
)

translations = sa.Table(
    "translations",
    metadata,
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("upstream_id", sa.Text, nullable=False),
    sa.Column("language", sa.String(35), nullable=False),
    #: Translated fields keyed like ``translations.types.Document`` (``media.0.caption``).
    sa.Column("fields", sa.JSON, nullable=False),
    #: Language the article was translated from (declared or detected).
    sa.Column("source_language", sa.String(35)),
    sa.Column("machine_translated", sa.Boolean, nullable=False, server_default=sa.false()),
    #: ``articles.content_hash`` this translation was made from.
    sa.Column("content_hash", sa.String(64), nullable=False),
    #: Caller's fingerprint of what else shaped the output (glossary, model ids).
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("translated_at", UTCDateTime),
    #: Changes only when ``fields`` change: the ``updated`` date of this language's feed entry.
    sa.Column("content_updated_at", UTCDateTime),
    sa.PrimaryKeyConstraint("source_id", "upstream_id", "language"),
    sa.ForeignKeyConstraint(
        ["source_id", "upstream_id"],
        ["articles.source_id", "articles.upstream_id"],
        ondelete="CASCADE",
    ),
)

sa.Index("ix_translations_language_status", translations.c.language, translations.c.status)

FEEDS_SCHEMA = Schema("feeds", metadata, 1)
