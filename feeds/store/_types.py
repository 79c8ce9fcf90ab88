"""What the store hands out (frozen records) and ``StorageType``, the contract callers code to.

Contains no business logic. The records mirror one row each (``SourceState`` a ``sources`` row,
``PageState`` a ``pages`` row, ``TranslationRecord`` a ``translations`` row, ``Usage`` a
``usage_counters`` row) or summarise
a write (``UpsertResult``) or the whole store (``StorageCounts``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum
from typing import Protocol

from lingofeed.feeds.types import Article, EntryData, LocalizedEntry


class TranslationStatus(Enum):
    """Where one article's translation into one language stands."""

    DONE = "done"
    #: Wanted but not made yet (e.g. the cycle ran out of time).
    PENDING = "pending"
    #: The last attempt raised; ``error`` says why. Earlier ``fields``, if any, are kept.
    FAILED = "failed"
    #: The source's include/exclude filters leave the article out: settled like ``DONE`` (while
    #: hash and context match) but never shown, and never sent to a model.
    FILTERED = "filtered"


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
class PageState:
    """What we remember about one article page fetched for full text (one ``pages`` row)."""

    url: str
    #: The source whose item last asked for it.
    source_id: str
    #: ``EntryData.content_hash()`` of that item as the feed gave it, when last fetched.
    entry_hash: str
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    #: The extracted article (sanitised HTML), kept through later failures; None if never.
    content: str | None = None
    last_status: int | None = None
    #: Why the last attempt failed; None when it worked.
    error: str | None = None
    consecutive_failures: int = 0
    #: Do not fetch before this time (backoff after a failure).
    next_attempt_at: datetime | None = None


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
    #: One reason per language that has failed translations (the same one each time asked).
    errors: Mapping[str, str] = field(default_factory=dict)
    #: Entries each asked-for language's feeds show, gone ones included.
    shown: Mapping[str, int] = field(default_factory=dict)
    #: Present articles each asked-for language still needs translated, own language included.
    untranslated: Mapping[str, int] = field(default_factory=dict)
    #: Article pages (full text) whose last fetch or extraction failed, per source id.
    page_failures: Mapping[str, int] = field(default_factory=dict)
    #: One reason per source with failed pages (the same one each time asked).
    page_errors: Mapping[str, str] = field(default_factory=dict)
    #: Present articles the source's filters leave out, per source id.
    filtered: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Model and translation-memory work; also a difference of two cumulative readings."""

    model_calls: int = 0
    model_segments: int = 0
    model_seconds: float = 0.0
    tm_hits: int = 0
    tm_misses: int = 0

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )

    @property
    def hit_rate(self) -> float | None:
        looked_up = self.tm_hits + self.tm_misses
        return self.tm_hits / looked_up if looked_up else None

    @property
    def segments_per_second(self) -> float | None:
        return self.model_segments / self.model_seconds if self.model_seconds > 0 else None


@dataclass(frozen=True)
class PublishedFile:
    """One manifest row: what a published file holds (its hash) and how it looked on disk."""

    path: str
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FeedState:
    """One ``feed_states`` row: what a feed family in one language was last published from."""

    feed: str
    settings: str = ""
    digest: str = ""
    count: int = 0
    pages: int = 0
    #: Source and upstream id of the newest archived entry (``""`` with no archive page).
    boundary: str = ""
    #: Non-zero while a change of one of its sources waits to be published.
    dirty: int = 0
    published_at: datetime | None = None


@dataclass
class MemoryStats:
    """This process's translation-memory counters, for usage and metrics; they only grow."""

    hits: int = 0
    misses: int = 0
    writes: int = 0


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

    # pages (full text)
    def get_pages(self, urls: Collection[str]) -> dict[str, PageState]: ...
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
    ) -> None: ...
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
    ) -> None: ...

    # articles
    def upsert_entries(
        self, source_id: str, /, entries: Sequence[EntryData], now: datetime, *, full: bool = True
    ) -> UpsertResult: ...
    def get_article(self, source_id: str, upstream_id: str, /) -> Article | None: ...
    def get_articles(
        self, source_id: str | None = None, *, include_gone: bool = False
    ) -> list[Article]: ...
    def delete_gone(self, before: datetime, *, source_id: str | None = None) -> int: ...

    # translations
    def get_articles_needing_translation(
        self,
        language: str,
        context: str,
        *,
        source_id: str | None = None,
        include_own_language: bool = False,
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
    def count_localized(self, language: str, source_ids: Collection[str]) -> int: ...
    def get_localized_window(
        self,
        language: str,
        source_ids: Collection[str],
        *,
        limit: int,
        offset: int = 0,
        with_original: bool = False,
    ) -> list[LocalizedEntry]: ...
    def get_counts(
        self,
        contexts: Mapping[str, str] | None = None,
        source_contexts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StorageCounts: ...

    # usage
    def add_usage(self, language: str, usage: Usage) -> None: ...
    def get_usage(self) -> dict[str, Usage]: ...

    # publish state
    def get_published_files(self, paths: Collection[str]) -> dict[str, PublishedFile]: ...
    def record_published_files(self, files: Sequence[PublishedFile]) -> None: ...
    def forget_feeds(self, prefixes: Collection[str]) -> list[str]: ...
    def get_feed_states(self, feeds: Collection[str] | None = None) -> dict[str, FeedState]: ...
    def get_dirty_feeds(self) -> dict[str, FeedState]: ...
    def save_feed_state(self, state: FeedState, *, mark_dirty: Collection[str] = ()) -> None: ...
    def mark_feeds_dirty(self, feeds: Collection[str]) -> None: ...
