"""The store's contract, run on a SQLite file, an in-memory SQLite database and PostgreSQL.

The PostgreSQL variants (marked ``postgres``) run on the test run's own throw-away cluster
(``tests/fixtures/postgres.py``), each on a new, empty database.
"""

from __future__ import annotations

import sqlite3
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lingofeed.feeds.errors import StorageError
from lingofeed.feeds.store import (
    FeedState,
    PublishedFile,
    SqlTranslationMemory,
    Storage,
    StorageType,
    TranslationStatus,
    Usage,
)
from lingofeed.feeds.store.db import Schema, open_engine, schema_versions
from lingofeed.feeds.store.schema import FEEDS_SCHEMA, STORE_SCHEMAS
from lingofeed.feeds.types import EntryData, Media
from lingofeed.translations.memory import TMKey, TranslationMemory
from lingofeed.translations.types import AlignedTranslation
from tests.fixtures.feeds import make_storage
from tests.fixtures.postgres import DATABASES, database_url_for

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)


@pytest.fixture(params=[*DATABASES, "sqlite-memory"])
def store(request) -> Iterator[Storage]:
    storage = make_storage(database_url_for(request, request.param))
    yield storage
    storage.close()


def entry(upstream_id: str = "a", title: str = "Le titre", **kw: Any) -> EntryData:
    kw.setdefault("language", "fr")
    return EntryData(upstream_id=upstream_id, title=title, **kw)


FULL = EntryData(
    upstream_id="tag:example.org,2024:1",
    title="Titre & « guillemets »",
    link="https://example.org/1",
    summary="<p>Résumé</p>",
    content="<p>Contenu <b>gras</b></p>",
    author="Ana",
    categories=("Mali", "ONU"),
    media=(Media("https://example.org/i.jpg", "image/jpeg", 1234, "Légende", "AFP", "Alt"),),
    published=datetime(2024, 4, 30, 8, 0, tzinfo=UTC),
    updated=datetime(2024, 4, 30, 9, 30, tzinfo=UTC),
    language="fr",
)


def test_storage_satisfies_storage_type(store: Storage):
    typed: StorageType = store
    assert typed.get_sources() == []


def test_entry_round_trips_every_field_with_utc_datetimes(store: Storage):
    store.upsert_entries("s", [FULL], T0)
    (article,) = store.get_articles("s")
    assert article.data == FULL
    assert article.content_hash == FULL.content_hash()
    assert article.first_seen == T0 and article.first_seen.tzinfo is not None
    assert article.data.published is not None and article.data.published.utcoffset() == timedelta(0)


def test_nul_characters_from_upstream_are_dropped_and_the_item_kept(store: Storage):
    """A JSON Feed may say ``\\u0000``; PostgreSQL cannot store NUL, so no backend keeps it."""
    nul = entry("a\x00b", "Le\x00 titre", summary="<p>x\x00</p>")
    assert store.upsert_entries("s", [nul], T0).new == ("ab",)
    (article,) = store.get_articles("s")
    data = article.data
    assert (data.upstream_id, data.title, data.summary) == ("ab", "Le titre", "<p>x</p>")
    assert store.get_article("s", "a\x00b") == article
    again = store.upsert_entries("s", [nul], T1)
    assert (again.unchanged, again.gone) == (("ab",), ())
    assert store.get_articles("s")[0].last_seen == T1


def test_any_declared_language_is_kept_as_upstream_wrote_it(store: Storage):
    """PostgreSQL once refused the whole fetch for a language longer than 35 characters."""
    declared = "français (France), langue officielle de la République"
    store.upsert_entries("s", [entry("a", language=declared)], T0)
    assert store.get_articles("s")[0].data.language == declared
    record = _translate(store, "a")
    assert record.language == "en" and store.get_localized("en")[0].title == "The title"


def test_upsert_reports_new_then_unchanged(store: Storage):
    assert store.upsert_entries("s", [entry("a"), entry("b")], T0).new == ("a", "b")
    result = store.upsert_entries("s", [entry("a"), entry("b")], T1)
    assert result.new == () and result.unchanged == ("a", "b") and result.changed == ()
    article = store.get_article("s", "a")
    assert article is not None and article.first_seen == T0 and article.last_seen == T1


def test_upstream_edit_updates_in_place_under_same_id(store: Storage):
    store.upsert_entries("s", [entry("a", "Ancien")], T0)
    result = store.upsert_entries("s", [entry("a", "Nouveau")], T1)
    assert result.changed == ("a",)
    (article,) = store.get_articles("s")
    assert article.data.title == "Nouveau"
    assert article.first_seen == T0
    assert article.content_hash == entry("a", "Nouveau").content_hash()


def test_duplicate_ids_in_one_fetch_keep_the_first(store: Storage):
    result = store.upsert_entries("s", [entry("a", "Premier"), entry("a", "Second")], T0)
    assert result.new == ("a",)
    assert store.get_articles("s")[0].data.title == "Premier"


def test_entries_missing_from_full_fetch_are_gone_then_return(store: Storage):
    store.upsert_entries("s", [entry("a"), entry("b")], T0)
    result = store.upsert_entries("s", [entry("a")], T1)
    assert result.gone == ("b",)
    assert [a.data.upstream_id for a in store.get_articles("s")] == ["a"]
    gone = store.get_article("s", "b")
    assert gone is not None and gone.gone_since == T1
    assert store.upsert_entries("s", [entry("a")], T2).gone == ()  # not reported twice
    back = store.upsert_entries("s", [entry("a"), entry("b")], T2)
    assert back.returned == ("b",) and back.unchanged == ("a", "b")
    assert len(store.get_articles("s")) == 2


def test_partial_fetch_marks_nothing_gone(store: Storage):
    store.upsert_entries("s", [entry("a"), entry("b")], T0)
    assert store.upsert_entries("s", [entry("a")], T1, full=False).gone == ()
    assert len(store.get_articles("s")) == 2


def test_upsert_touches_only_its_source(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    store.upsert_entries("t", [entry("a")], T0)
    store.upsert_entries("s", [], T1)
    assert store.get_articles("s") == []
    assert len(store.get_articles("t")) == 1


def test_delete_gone_removes_articles_past_retention_with_translations(store: Storage):
    store.upsert_entries("s", [entry("a"), entry("b")], T0)
    _translate(store, "a")
    store.upsert_entries("s", [], T1)
    assert store.delete_gone(T1) == 0  # gone exactly at the cut-off is kept
    assert store.delete_gone(T2) == 2
    assert store.get_articles("s", include_gone=True) == []
    assert store.get_translation("s", "a", "en") is None


def test_delete_gone_of_one_source_leaves_the_others(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    store.upsert_entries("t", [entry("b")], T0)
    store.upsert_entries("s", [], T1)
    store.upsert_entries("t", [], T1)
    assert store.delete_gone(T2, source_id="s") == 1
    assert [a.data.upstream_id for a in store.get_articles("t", include_gone=True)] == ["b"]


def test_articles_are_newest_first(store: Storage):
    old = entry("old", published=T0)
    new = entry("new", published=T1)
    store.upsert_entries("s", [old, new], T2)
    assert [a.data.upstream_id for a in store.get_articles()] == ["new", "old"]


def _translate(store: Storage, upstream_id: str, fields=None, context="ctx", now=T1):
    article = store.get_article("s", upstream_id)
    assert article is not None
    return store.save_translation(
        "s",
        upstream_id,
        "en",
        fields=fields or {"title": "The title"},
        content_hash=article.content_hash,
        context=context,
        now=now,
        source_language="fr",
    )


def _needing(store: Storage, context: str = "ctx") -> list[str]:
    return [a.data.upstream_id for a in store.get_articles_needing_translation("en", context)]


def test_needing_translation_follows_hash_context_and_status(store: Storage):
    store.upsert_entries("s", [entry("a"), entry("b")], T0)
    assert sorted(_needing(store)) == ["a", "b"]
    _translate(store, "a")
    assert _needing(store) == ["b"]
    assert sorted(_needing(store, context="new glossary")) == ["a", "b"]
    store.upsert_entries("s", [entry("a", "Titre modifié"), entry("b")], T1)
    assert sorted(_needing(store)) == ["a", "b"]
    _translate(store, "a")
    store.set_translation_status(
        "s", "a", "en", status=TranslationStatus.FAILED, content_hash="x", context="ctx", error="e"
    )
    assert sorted(_needing(store)) == ["a", "b"]


def test_articles_in_the_target_language_need_no_translation(store: Storage):
    store.upsert_entries("s", [entry("en", language="en-GB"), entry("fr")], T0)
    assert _needing(store) == ["fr"]


def test_own_language_articles_are_listed_when_asked_until_translated(store: Storage):
    """An English article may quote French: the cycle asks for it too, in one query."""
    store.upsert_entries("s", [entry("en", language="en-GB"), entry("fr")], T0)

    def needing() -> list[str]:
        found = store.get_articles_needing_translation("en", "ctx", include_own_language=True)
        return sorted(article.data.upstream_id for article in found)

    assert needing() == ["en", "fr"]
    _translate(store, "en")
    assert needing() == ["fr"]
    assert sorted(a.data.upstream_id for a in store.get_articles_needing_translation(
        "en", "new glossary", include_own_language=True)) == ["en", "fr"]  # fmt: skip


def test_gone_articles_need_no_translation(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    store.upsert_entries("s", [], T1)
    assert _needing(store) == []


PUBLISHED = datetime(2023, 12, 31, 18, 0, tzinfo=UTC)
EDITED = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ({"published": PUBLISHED, "updated": EDITED}, EDITED),
        ({"published": PUBLISHED}, PUBLISHED),
        ({}, T0),
    ],
    ids=["upstream-updated", "published", "first-seen"],
)
def test_first_translation_takes_the_article_date_not_the_translation_time(
    store: Storage, dates: dict[str, Any], expected: datetime
):
    """A fresh install translating old articles must not show them as just edited."""
    store.upsert_entries("s", [entry("a", **dates)], T0)
    store.set_translation_status(
        "s", "a", "en", status=TranslationStatus.PENDING, content_hash="h", context="c"
    )
    assert _translate(store, "a", now=T2).content_updated_at == expected
    [shown] = store.get_localized("en")
    assert shown.updated == expected


def test_unchanged_retranslation_keeps_the_entry_date(store: Storage):
    store.upsert_entries("s", [entry("a", published=PUBLISHED)], T0)
    _translate(store, "a", now=T1)
    same = _translate(store, "a", context="other glossary", now=T2)
    assert same.content_updated_at == PUBLISHED
    assert same.translated_at == T2 and same.context == "other glossary"
    [shown] = store.get_localized("en")
    assert shown.updated == PUBLISHED


def test_a_changed_translation_dates_the_entry_at_the_change(store: Storage):
    store.upsert_entries("s", [entry("a", published=PUBLISHED)], T0)
    _translate(store, "a", now=T1)
    changed = _translate(store, "a", fields={"title": "A better title"}, now=T2)
    assert changed.content_updated_at == T2
    again = _translate(store, "a", fields={"title": "A better title"}, now=T2 + timedelta(days=1))
    assert again.content_updated_at == T2


def test_an_upstream_edit_dates_the_entry_when_its_translation_changes(store: Storage):
    store.upsert_entries("s", [entry("a", published=PUBLISHED)], T0)
    _translate(store, "a", now=T1)
    store.upsert_entries("s", [entry("a", "Nouveau", published=PUBLISHED, updated=EDITED)], T1)
    _translate(store, "a", fields={"title": "New"}, now=T2)
    [shown] = store.get_localized("en")
    assert (shown.title, shown.updated, shown.published) == ("New", T2, PUBLISHED)


def test_translating_a_missing_article_names_it(store: Storage):
    store.add_source("s", None)
    with pytest.raises(LookupError, match=r"'nope'.*'s'"):
        store.save_translation(
            "s", "nope", "en", fields={"title": "x"}, content_hash="h", context="c", now=T1
        )


def test_failed_status_keeps_earlier_fields(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    _translate(store, "a")
    store.set_translation_status(
        "s", "a", "en", status=TranslationStatus.FAILED, content_hash="h", context="c", error="boom"
    )
    record = store.get_translation("s", "a", "en")
    assert record is not None
    assert record.status is TranslationStatus.FAILED and record.error == "boom"
    assert record.fields == {"title": "The title"}


def test_an_untranslated_edit_shows_the_last_translation_without_its_new_text(store: Storage):
    store.upsert_entries("s", [entry("a", summary="<p>Résumé</p>")], T0)
    _translate(store, "a", fields={"title": "The title", "summary": "<p>Summary</p>"})
    edit = entry("a", "Nouveau titre", summary="<p>Nouveau</p>", content="<p>Ajout</p>",
                 media=(Media("https://x/1.jpg", caption="Légende", alt="Texte"),))  # fmt: skip
    store.upsert_entries("s", [edit], T1)
    failed = TranslationStatus.FAILED
    store.set_translation_status(
        "s", "a", "en", status=failed, content_hash=edit.content_hash(), context="ctx", error="x"
    )
    [shown] = store.get_localized("en")
    assert (shown.title, shown.summary, shown.content) == ("The title", "<p>Summary</p>", None)
    assert (shown.media[0].caption, shown.media[0].alt) == (None, None)


def test_pending_status_creates_an_empty_row(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    store.set_translation_status(
        "s", "a", "en", status=TranslationStatus.PENDING, content_hash="h", context="c"
    )
    record = store.get_translation("s", "a", "en")
    assert record is not None and record.fields == {} and record.status is TranslationStatus.PENDING
    assert store.get_localized("en") == []


def test_localized_overlays_translated_fields_on_the_original(store: Storage):
    store.upsert_entries("s", [FULL], T0)
    fields = {"title": "Title", "content": "<p>Content</p>", "media.0.caption": "Caption"}
    store.save_translation(
        "s",
        FULL.upstream_id,
        "en",
        fields=fields,
        content_hash=FULL.content_hash(),
        context="c",
        now=T1,
        source_language="fr",
    )
    (shown,) = store.get_localized("en")
    assert (shown.title, shown.content, shown.summary) == ("Title", "<p>Content</p>", FULL.summary)
    assert shown.media[0].caption == "Caption" and shown.media[0].credit == "AFP"
    assert shown.media[0].alt == "Alt"
    assert shown.language == "en" and shown.original_language == "fr"
    assert shown.machine_translated and shown.updated == FULL.updated
    assert shown.published == FULL.published and shown.link == FULL.link


def test_a_window_read_with_originals_carries_what_upstream_said(store: Storage):
    """A bilingual feed shows each translated block after its original: both from one read."""
    store.upsert_entries("s", [FULL, entry("b", language="en", title="English")], T0)
    _translate(store, FULL.upstream_id, fields={"title": "Title"})
    plain = store.get_localized_window("en", ["s"], limit=5)
    assert [shown.original for shown in plain] == [None, None]
    both = store.get_localized_window("en", ["s"], limit=5, with_original=True)
    assert [(shown.title, shown.original) for shown in both] == [
        ("English", entry("b", language="en", title="English")),
        ("Title", FULL),
    ]


def test_localized_shows_originals_in_their_own_language_only(store: Storage):
    store.upsert_entries("s", [FULL, entry("x", language="de")], T0)
    (original,) = store.get_localized("fr")
    assert original.title == FULL.title and not original.machine_translated
    assert original.updated == FULL.updated
    assert store.get_localized("en") == []


def test_add_source_follows_a_changed_configured_url(store: Storage):
    state = store.add_source("s", "https://a.example/feed")
    assert state.url == "https://a.example/feed" and not state.disabled
    store.record_fetch_success(
        "s", T0, status=200, etag='"1"', url="https://b.example/feed", last_modified="x"
    )
    assert store.add_source("s", "https://a.example/feed").url == "https://b.example/feed"
    moved = store.add_source("s", "https://c.example/feed")
    assert moved.url == "https://c.example/feed" and moved.etag is None


def test_fetch_failures_count_up_and_success_resets(store: Storage):
    store.add_source("s", "https://a.example/feed")
    store.record_fetch_failure("s", T0, error="HTTP 500", status=500, next_attempt_at=T1)
    store.record_fetch_failure("s", T1, error="timeout", next_attempt_at=T2)
    state = store.get_source("s")
    assert state is not None
    assert state.consecutive_failures == 2 and state.last_error == "timeout"
    assert state.next_attempt_at == T2 and state.last_fetch_at == T1 and state.last_ok_at is None
    store.record_fetch_success("s", T2, status=304, etag='"e"')
    state = store.get_source("s")
    assert state is not None
    assert state.consecutive_failures == 0 and state.next_attempt_at is None
    assert state.last_ok_at == T2 and state.last_status == 304 and state.etag == '"e"'


def test_disable_and_enable_source(store: Storage):
    store.add_source("s", "https://a.example/feed")
    store.disable_source("s", T0, "HTTP 410 Gone")
    state = store.get_source("s")
    assert state is not None and state.disabled and state.disabled_reason == "HTTP 410 Gone"
    store.enable_source("s")
    state = store.get_source("s")
    assert state is not None and not state.disabled and state.disabled_reason is None


def test_delete_source_removes_its_articles_and_translations(store: Storage):
    store.upsert_entries("s", [entry("a")], T0)
    _translate(store, "a")
    store.delete_source("s")
    assert store.get_source("s") is None
    assert store.get_articles(include_gone=True) == []
    assert store.get_counts().translations == {}


def test_counts_per_source_and_language_status(store: Storage):
    store.upsert_entries("s", [entry("a"), entry("b")], T0)
    store.upsert_entries("t", [entry("c")], T0)
    _translate(store, "a")
    store.set_translation_status(
        "s", "b", "en", status=TranslationStatus.FAILED, content_hash="h", context="c"
    )
    counts = store.get_counts()
    assert counts.articles == {"s": 2, "t": 1}
    assert counts.translations == {"en": {"done": 1, "failed": 1}}


def test_status_counts_agree_with_the_rows_they_count(store: Storage):
    languages = ("fr", "fr-CA", "en_GB", "EN-us", None, "frr", "e%")
    store.upsert_entries(
        "s", [entry(f"a{n}", language=code) for n, code in enumerate(languages)], T0
    )
    _translate(store, "a0")  # done
    _translate(store, "a1", context="old")  # done, stale context
    store.set_translation_status(
        "s", "a5", "en", status=TranslationStatus.PENDING, content_hash="h", context="ctx"
    )  # a row with no fields yet
    store.upsert_entries("s", [entry("a0"), entry("a1")], T1)  # the others are gone now
    contexts = {"en": "ctx", "fr": "ctx", "e": "ctx"}
    counts = store.get_counts(contexts)
    for code, context in contexts.items():
        shown = store.get_localized(code, include_gone=True)
        needing = store.get_articles_needing_translation(code, context, include_own_language=True)
        assert counts.shown[code] == len(shown), code
        assert counts.untranslated[code] == len(needing), code
    assert counts.shown["en"] == 4  # two translated, en_GB and EN-us as they are


def test_one_read_sees_one_snapshot_while_another_writer_commits(database_url: str):
    """The status page counts in several queries: they must agree with each other."""
    store = make_storage(database_url)
    store.upsert_entries("s", [entry("a")], T0)
    count = sa.select(sa.func.count()).select_from(sa.table("articles"))
    with store._connect("articles") as conn:
        before = conn.scalar(count)
        writer = make_storage(database_url)
        writer.upsert_entries("s", [entry("a"), entry("b")], T1)
        writer.close()
        during = conn.scalar(count)
    assert (before, during, len(store.get_articles())) == (1, 1, 2)
    store.close()


def test_naive_datetimes_are_refused(store: Storage):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.upsert_entries("s", [entry("a")], datetime(2024, 1, 1))


# -- a locked database ---------------------------------------------------------------------

KEY = TMKey("Bonjour.", "fr", "en", "translate-fr_en-lingofeed_test@1.0")

CALLS: dict[str, Callable[[Storage], object]] = {
    "add_source": lambda s: s.add_source("s", "https://x.example/"),
    "get_source": lambda s: s.get_source("s"),
    "get_sources": lambda s: s.get_sources(),
    "delete_source": lambda s: s.delete_source("s"),
    "record_fetch_success": lambda s: s.record_fetch_success("s", T0, status=200),
    "record_fetch_failure": lambda s: s.record_fetch_failure("s", T0, error="e"),
    "disable_source": lambda s: s.disable_source("s", T0, "gone"),
    "enable_source": lambda s: s.enable_source("s"),
    "upsert_entries": lambda s: s.upsert_entries("s", [entry("a")], T0),
    "get_article": lambda s: s.get_article("s", "a"),
    "get_articles": lambda s: s.get_articles(),
    "delete_gone": lambda s: s.delete_gone(T0),
    "get_articles_needing_translation": lambda s: s.get_articles_needing_translation("en", "c"),
    "save_translation": lambda s: s.save_translation(
        "s", "a", "en", fields={}, content_hash="h", context="c", now=T0
    ),
    "set_translation_status": lambda s: s.set_translation_status(
        "s", "a", "en", status=TranslationStatus.PENDING, content_hash="h", context="c"
    ),
    "get_translation": lambda s: s.get_translation("s", "a", "en"),
    "get_localized": lambda s: s.get_localized("en"),
    "get_counts": lambda s: s.get_counts(),
    "add_usage": lambda s: s.add_usage("en", Usage(model_calls=1)),
    "get_usage": lambda s: s.get_usage(),
    "get_pages": lambda s: s.get_pages(["https://x.example/a"]),
    "record_page_success": lambda s: s.record_page_success(
        "https://x.example/a", T0, source_id="s", entry_hash="h", status=200, content="<p>a</p>"
    ),
    "record_page_failure": lambda s: s.record_page_failure(
        "https://x.example/a", T0, source_id="s", entry_hash="h", error="e"
    ),
    "count_localized": lambda s: s.count_localized("en", ["s"]),
    "get_localized_window": lambda s: s.get_localized_window("en", ["s"], limit=5),
    "get_published_files": lambda s: s.get_published_files(["en/feed.xml"]),
    "record_published_files": lambda s: s.record_published_files(
        [PublishedFile("en/feed.xml", "0" * 64, 1, 1)]
    ),
    "forget_feeds": lambda s: s.forget_feeds(["en/sources/s"]),
    "get_feed_states": lambda s: s.get_feed_states(),
    "get_dirty_feeds": lambda s: s.get_dirty_feeds(),
    "save_feed_state": lambda s: s.save_feed_state(FeedState("en")),
    "mark_feeds_dirty": lambda s: s.mark_feeds_dirty(["en"]),
}

MEMORY_CALLS: dict[str, Callable[[SqlTranslationMemory], object]] = {
    "get_many": lambda m: m.get_many([KEY]),
    "put_many": lambda m: m.put_many({KEY: AlignedTranslation("Hello.")}),
    "add_alignments": lambda m: m.add_alignments({KEY: AlignedTranslation("Hello.", ((0, 0),))}),
}


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_") and name != "close"}


def test_locked_calls_cover_every_method_of_every_table():
    declared = {name for name in vars(StorageType) if not name.startswith("_") and name != "close"}
    assert _public(Storage) == declared == set(CALLS)
    memory_declared = {name for name in vars(TranslationMemory) if not name.startswith("_")}
    assert _public(SqlTranslationMemory) - {"engine", "stats"} == memory_declared
    assert memory_declared == set(MEMORY_CALLS)
    tables = {table.name for schema in STORE_SCHEMAS for table in schema.metadata.tables.values()}
    assert tables == {
        "sources",
        "articles",
        "translations",
        "pages",
        "translation_memory",
        "usage_counters",
        "published_files",
        "feed_states",
    }


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[Storage, SqlTranslationMemory]]:
    """The store, opened on a database that another connection then holds exclusively.

    The service waits up to 10 s on a busy database; here the wait is 0 so each call fails at
    once. The holder's exclusive locking mode blocks readers too, even in WAL mode.
    """
    path = tmp_path / "locked.sqlite"
    engine = open_engine(f"sqlite:///{path}", busy_timeout_ms=0)
    storage = Storage(engine)
    storage.upsert_entries("s", [entry("a")], T0)
    memory = SqlTranslationMemory(engine)
    memory.put_many({KEY: AlignedTranslation("Hello.")})
    engine.dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    yield storage, memory
    holder.execute("ROLLBACK")
    holder.close()
    engine.dispose()


def _assert_names_locked_database(call: Callable[[], object]) -> None:
    with pytest.raises(StorageError) as info:
        call()
    assert "locked.sqlite" in str(info.value)
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_locked_database_raises_storage_error_naming_it(locked, name: str):
    storage, _memory = locked
    _assert_names_locked_database(lambda: CALLS[name](storage))


@pytest.mark.parametrize("name", sorted(MEMORY_CALLS))
def test_locked_memory_raises_storage_error_naming_it(locked, name: str):
    _storage, memory = locked
    _assert_names_locked_database(lambda: MEMORY_CALLS[name](memory))


def test_opening_a_locked_database_raises_storage_error_naming_it(locked):
    storage, _memory = locked
    _assert_names_locked_database(lambda: Storage(storage.engine))


def test_unsupported_database_is_refused_with_its_name() -> None:
    driver = types.SimpleNamespace(paramstyle="format", version_info=(2, 2, 0))
    engine = sa.create_engine("mysql+mysqldb://user:secret@db.example/lingofeed", module=driver)
    for store in (Storage, SqlTranslationMemory):
        with pytest.raises(
            StorageError, match=r"supports sqlite and postgresql, not mysql.*\*\*\*"
        ):
            store(engine)


def test_a_version_1_feeds_database_gains_the_pages_table(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = sa.MetaData()
    for table in FEEDS_SCHEMA.metadata.tables.values():
        if table.name != "pages":
            table.to_metadata(old)
    engine = open_engine(url, [Schema("feeds", old, 1)])
    with engine.begin() as conn:
        conn.execute(sa.insert(old.tables["sources"]).values(id="s"))
    engine.dispose()

    storage = make_storage(url)
    try:
        storage.upsert_entries("s", [entry("a")], T0)
        storage.record_page_failure(
            "https://x.example/a", T0, source_id="s", entry_hash="h", error="HTTP 500"
        )
        assert storage.get_pages(["https://x.example/a"])["https://x.example/a"].error == "HTTP 500"
        assert storage.get_counts().page_failures == {"s": 1}
        with storage.engine.connect() as conn:
            versions = {row[0]: row[1] for row in conn.execute(sa.select(schema_versions))}
        assert versions["feeds"] == FEEDS_SCHEMA.version == 3
    finally:
        storage.close()


def test_a_page_keeps_its_last_good_article_through_failures_and_goes_with_its_article(
    storage: Storage,
):
    link = "https://x.example/a"
    storage.upsert_entries("s", [entry("a", link=link)], T0)
    storage.record_page_success(
        link, T0, source_id="s", entry_hash="h", status=200, etag='"1"', content="<p>A</p>"
    )
    storage.record_page_failure(link, T0, source_id="s", entry_hash="h", error="HTTP 500")
    storage.record_page_failure(link, T0, source_id="s", entry_hash="h", error="HTTP 502")
    page = storage.get_pages([link])[link]
    assert (page.content, page.etag, page.consecutive_failures) == ("<p>A</p>", '"1"', 2)
    storage.record_page_success(link, T0, source_id="s", entry_hash="h", status=304, etag='"1"')
    page = storage.get_pages([link])[link]
    assert (page.content, page.error, page.consecutive_failures) == ("<p>A</p>", None, 0)

    storage.upsert_entries("s", [], T0)  # the item leaves the feed ...
    storage.delete_gone(T0 + timedelta(days=1), source_id="s")  # ... and its retention ends
    assert storage.get_pages([link]) == {}
