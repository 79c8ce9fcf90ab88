"""Table definitions for the article store, and the frozen records read from them.

Contains no business logic. Tables (sources, articles, per-language translations) are declared
with SQLAlchemy Core and registered as ``FEEDS_SCHEMA`` so ``feeds.db.open_engine`` creates or
upgrades them; PostgreSQL needs only a different URL. The records are what ``feeds.storage``
returns for a source's fetch state and an article's translation, with the functions that map
rows to those records and to ``LocalizedEntry`` (what one language's feeds show).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa

from feeds.db import Schema
from feeds.types import Article, EntryData, LocalizedEntry, Media


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


class TranslationStatus(Enum):
    """Where one article's translation into one language stands."""

    DONE = "done"
    #: Wanted but not made yet (e.g. the cycle ran out of time).
    PENDING = "pending"
    #: The last attempt raised; ``error`` says why. Earlier ``fields``, if any, are kept.
    FAILED = "failed"


@dataclass(frozen=True)
class SourceState:
    """What we remember about fetching one source (one ``sources`` row)."""

    id: str
    #: URL to fetch now: the configured one, or where a permanent redirect pointed.
    url: str | None
    configured_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    #: Do not fetch before this time (backoff, Retry-After); None means any time.
    next_attempt_at: datetime | None = None
    #: Set after a 410 Gone (or by the operator); the cycle skips disabled sources.
    disabled: bool = False
    disabled_reason: str | None = None


@dataclass(frozen=True)
class TranslationRecord:
    """One article in one language (one ``translations`` row)."""

    source_id: str
    upstream_id: str
    language: str
    #: Translated fields keyed like ``translations.types.Document``: ``title``, ``summary``,
    #: ``content``, ``categories.N``, ``media.N.caption``, ``media.N.alt``.
    fields: Mapping[str, str]
    #: Article ``content_hash`` the fields were made from.
    content_hash: str
    #: Caller's fingerprint of glossary and model ids the fields were made with.
    context: str
    status: TranslationStatus
    source_language: str | None = None
    machine_translated: bool = False
    error: str | None = None
    translated_at: datetime | None = None
    #: Changes only when ``fields`` change; the ``updated`` date in this language's feeds.
    content_updated_at: datetime | None = None


@dataclass(frozen=True)
class UpsertResult:
    """Upstream ids by what ``upsert_entries`` did with them."""

    new: tuple[str, ...] = ()
    #: Stored before, and upstream edited them (the content hash differs).
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    #: Absent from this full fetch, so now marked ``gone_since``.
    gone: tuple[str, ...] = ()
    #: Had been marked gone and are back (also listed in ``changed`` or ``unchanged``).
    returned: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageCounts:
    """Figures for the status page."""

    #: Articles not gone, per source id.
    articles: Mapping[str, int] = field(default_factory=dict)
    #: Translation rows per language, per status value (``done``/``pending``/``failed``).
    translations: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


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


def translation_from_row(row: Mapping[Any, Any]) -> TranslationRecord:
    return TranslationRecord(
        source_id=row["source_id"],
        upstream_id=row["upstream_id"],
        language=row["language"],
        fields=dict(row["fields"]),
        content_hash=row["content_hash"],
        context=row["context"],
        status=TranslationStatus(row["status"]),
        source_language=row["source_language"],
        machine_translated=bool(row["machine_translated"]),
        error=row["error"],
        translated_at=row["translated_at"],
        content_updated_at=row["content_updated_at"],
    )


def source_from_row(row: Mapping[Any, Any]) -> SourceState:
    return SourceState(**{column.name: row[column.name] for column in sources.c})


def same_language(a: str | None, b: str | None) -> bool:
    """True when two BCP 47 tags share a primary language (``en-GB`` and ``en``)."""
    if not a or not b:
        return False
    return a.split("-")[0].split("_")[0].lower() == b.split("-")[0].split("_")[0].lower()


def localize(article: Article, record: TranslationRecord) -> LocalizedEntry:
    """The article as ``record.language``'s feeds show it: translated fields over the original.

    Fields the translation lacks keep the original text, so a partial translation still renders.
    """
    data, fields = article.data, record.fields
    media = tuple(
        replace(
            item,
            caption=fields.get(f"media.{index}.caption", item.caption),
            alt=fields.get(f"media.{index}.alt", item.alt),
        )
        for index, item in enumerate(data.media)
    )
    categories = tuple(
        fields.get(f"categories.{index}", name) for index, name in enumerate(data.categories)
    )
    return LocalizedEntry(
        source_id=article.source_id,
        upstream_id=data.upstream_id,
        language=record.language,
        original_language=record.source_language or data.language,
        title=fields.get("title", data.title),
        link=data.link,
        summary=fields.get("summary", data.summary),
        content=fields.get("content", data.content),
        author=data.author,
        categories=categories,
        media=media,
        published=data.published,
        updated=record.content_updated_at or data.updated or data.published,
        machine_translated=record.machine_translated,
    )


def original_entry(article: Article) -> LocalizedEntry:
    """An article shown untranslated in its own declared language."""
    data = article.data
    return LocalizedEntry(
        source_id=article.source_id,
        upstream_id=data.upstream_id,
        language=data.language or "",
        original_language=data.language,
        title=data.title,
        link=data.link,
        summary=data.summary,
        content=data.content,
        author=data.author,
        categories=data.categories,
        media=data.media,
        published=data.published,
        updated=data.updated or data.published or article.first_seen,
    )
