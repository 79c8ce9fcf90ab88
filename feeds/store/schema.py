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
from sqlalchemy.engine import Connection

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


def without_nul(text: str) -> str:
    """``text`` as a ``Text`` column stores it."""
    return text.replace("\x00", "")


class Text(sa.TypeDecorator[str]):
    """Text without NUL characters, on every backend alike.

    PostgreSQL's text types cannot hold NUL (psycopg refuses the row) while SQLite stores it, and
    upstream feeds do send it (a JSON Feed's ``\\u0000``, a stray byte feedparser lets through).
    NUL is never meaningful text (XML cannot even carry it), so it is dropped on the way in, in
    comparisons too, and both databases keep the same rows.
    """

    impl: type[sa.String] = sa.Text  # typed as String, which ``String`` below uses
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else without_nul(value)


class String(Text):
    """``String(length)`` without NUL characters (see ``Text``)."""

    impl = sa.String
    cache_ok = True


#: The longest source id the tables hold (the config refuses longer ones).
SOURCE_ID_LENGTH = 200

metadata = sa.MetaData()

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", String(SOURCE_ID_LENGTH), primary_key=True),
    #: The URL from the operator's config; when it changes, ``url`` is reset to it.
    sa.Column("configured_url", Text),
    #: The URL to fetch now (updated after a permanent redirect).
    sa.Column("url", Text),
    sa.Column("etag", Text),
    sa.Column("last_modified", Text),
    sa.Column("last_fetch_at", UTCDateTime),
    sa.Column("last_ok_at", UTCDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_reason", Text),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column(
        "source_id",
        String(SOURCE_ID_LENGTH),
        sa.ForeignKey("sources.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("upstream_id", Text, nullable=False),
    sa.Column("title", Text, nullable=False),
    sa.Column("link", Text),
    sa.Column("summary", Text),
    sa.Column("content", Text),
    sa.Column("author", Text),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("media", sa.JSON, nullable=False),
    sa.Column("published", UTCDateTime),
    sa.Column("updated", UTCDateTime),
    #: As upstream declares it: unbounded, as SQLite keeps it (schema version 2).
    sa.Column("language", Text),
    sa.Column("content_hash", String(64), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("gone_since", UTCDateTime),
    sa.PrimaryKeyConstraint("source_id", "upstream_id"),
)

translations = sa.Table(
    "translations",
    metadata,
    sa.Column("source_id", String(SOURCE_ID_LENGTH), nullable=False),
    sa.Column("upstream_id", Text, nullable=False),
    sa.Column("language", Text, nullable=False),
    #: Translated fields keyed like ``translations.types.Document`` (``media.0.caption``).
    sa.Column("fields", sa.JSON, nullable=False),
    #: Language the article was translated from (declared or detected).
    sa.Column("source_language", Text),
    sa.Column("machine_translated", sa.Boolean, nullable=False, server_default=sa.false()),
    #: ``articles.content_hash`` this translation was made from.
    sa.Column("content_hash", String(64), nullable=False),
    #: Caller's fingerprint of what else shaped the output (glossary, model ids).
    sa.Column("context", Text, nullable=False),
    sa.Column("status", String(16), nullable=False),
    sa.Column("error", Text),
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

#: Article pages fetched for full text (``full_text = true``), one row per URL: the cache that
#: spares an unchanged page a second extraction, the validators of its next conditional GET,
#: and the backoff after a failure. Added in version 3 of ``FEEDS_SCHEMA``.
pages = sa.Table(
    "pages",
    metadata,
    #: SHA-256 of ``url``: an index on long text is slow or refused on PostgreSQL.
    sa.Column("url_hash", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    #: The source whose item last asked for the page (status counts failures per source).
    sa.Column("source_id", sa.String(200), nullable=False),
    #: ``EntryData.content_hash()`` of the feed's item when the page was last fetched: an
    #: item that changes upstream has its page fetched again (conditionally).
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    #: The extracted article, sanitised HTML; kept through later failures.
    sa.Column("content", sa.Text),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("last_status", sa.Integer),
    #: Why the last attempt failed; None after a success.
    sa.Column("error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
)
sa.Index("ix_pages_source_id", pages.c.source_id)


def _add_pages(conn: sa.Connection) -> None:
    """Version 2 -> 3: the full-text page cache (its index comes with it)."""
    pages.create(conn)


def _unbounded_language_tags(conn: Connection) -> None:
    """Version 1 -> 2: language columns lose their 35-character limit.

    Upstream declares whatever it likes (``<language>français (France)</language>``); SQLite
    stored it, PostgreSQL refused the whole fetch. SQLite never enforced the limit, so only
    PostgreSQL has anything to change (text and varchar share a representation: no rewrite).
    """
    if conn.dialect.name != "postgresql":
        return
    for table, column in (
        ("articles", "language"),
        ("translations", "language"),
        ("translations", "source_language"),
    ):
        conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT"))


FEEDS_SCHEMA = Schema("feeds", metadata, 3, {1: _unbounded_language_tags, 2: _add_pages})

tm_metadata = sa.MetaData()
translation_memory = sa.Table(
    "translation_memory",
    tm_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    #: SHA-256 of ``source``: an index on long text is slow or refused on PostgreSQL.
    sa.Column("source_hash", String(64), nullable=False),
    sa.Column("src", String(35), nullable=False),
    sa.Column("tgt", String(35), nullable=False),
    sa.Column("model_id", String(255), nullable=False),
    sa.Column("source", Text, nullable=False),
    sa.Column("target", Text, nullable=False),
    #: JSON list of ``[source_word, target_word]`` pairs.
    sa.Column("alignment", Text, nullable=False),
    sa.UniqueConstraint("source_hash", "src", "tgt", "model_id", name="uq_translation_memory_key"),
)
TM_SCHEMA = Schema("translation_memory", tm_metadata, version=1)

usage_metadata = sa.MetaData()
usage_counters = sa.Table(
    "usage_counters",
    usage_metadata,
    sa.Column("language", String(35), primary_key=True),
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
