"""Table definitions: every table lingofeed keeps.

Contains no business logic. Tables are declared with SQLAlchemy Core in four ``Schema``s, each
versioned on its own so an existing database keeps its recorded versions: ``FEEDS_SCHEMA``
(sources, articles, per-language translations), ``TM_SCHEMA`` (the translation memory) and
``USAGE_SCHEMA`` (model usage counters) and ``PUBLISH_SCHEMA`` (the manifest of published
files and each feed family's publish state). ``feeds.store`` creates or upgrades all of them on open
(``STORE_SCHEMAS``), reads and writes them and maps their rows to its records; PostgreSQL needs
only a different URL.
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

tm_metadata = sa.MetaData()
translation_memory = sa.Table(
    "translation_memory",
    tm_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    #: SHA-256 of ``source``: an index on long text is slow or refused on PostgreSQL.
    sa.Column("source_hash", sa.String(64), nullable=False),
    sa.Column("src", sa.String(35), nullable=False),
    sa.Column("tgt", sa.String(35), nullable=False),
    sa.Column("model_id", sa.String(255), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    #: JSON list of ``[source_word, target_word]`` pairs.
    sa.Column("alignment", sa.Text, nullable=False),
    sa.UniqueConstraint("source_hash", "src", "tgt", "model_id", name="uq_translation_memory_key"),
)
TM_SCHEMA = Schema("translation_memory", tm_metadata, version=1)

usage_metadata = sa.MetaData()
usage_counters = sa.Table(
    "usage_counters",
    usage_metadata,
    sa.Column("language", sa.String(35), primary_key=True),
    sa.Column("model_calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("model_segments", sa.Integer, nullable=False, server_default="0"),
    sa.Column("model_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("tm_hits", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tm_misses", sa.Integer, nullable=False, server_default="0"),
)
#: Named "status" since it was created by the status page: existing databases record it so.
USAGE_SCHEMA = Schema("status", usage_metadata, version=1)

publish_metadata = sa.MetaData()
#: The manifest: what each published file holds, so a publish knows without reading it back.
published_files = sa.Table(
    "published_files",
    publish_metadata,
    #: Relative to the output directory, e.g. ``fr/sources/blog/atom.xml``.
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    #: The file's size and mtime when written: a file changed or removed behind the
    #: publisher's back (a restored backup, a wiped directory) no longer matches and is rewritten.
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
)
#: One row per feed family and language: what it was last rendered from, and whether a change
#: of one of its sources waits to be published (channels are debounced).
feed_states = sa.Table(
    "feed_states",
    publish_metadata,
    #: ``<lang>`` (default channel), ``<lang>/sources/<id>`` or ``<lang>/channels/<id>``.
    sa.Column("feed", sa.String(512), primary_key=True),
    #: Fingerprint of the settings the family was rendered with (titles, item_limit, members).
    sa.Column("settings", sa.String(64), nullable=False, server_default=""),
    #: Fingerprint of the entries the family's current feeds showed.
    sa.Column("digest", sa.String(64), nullable=False, server_default=""),
    sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    #: Source and upstream id of the newest archived entry: when it is no longer at its place
    #: (an older entry deleted or backdated in), every archive page is rewritten.
    sa.Column("boundary", sa.Text, nullable=False, server_default=""),
    #: Non-zero while a change waits; each mark adds one, so a publish clears only what it saw.
    sa.Column("dirty", sa.Integer, nullable=False, server_default="0"),
    sa.Column("published_at", UTCDateTime),
)
sa.Index("ix_feed_states_dirty", feed_states.c.dirty)
PUBLISH_SCHEMA = Schema("publish", publish_metadata, version=1)

#: What ``feeds.store`` creates or upgrades when it opens a database.
STORE_SCHEMAS = (FEEDS_SCHEMA, TM_SCHEMA, USAGE_SCHEMA, PUBLISH_SCHEMA)
