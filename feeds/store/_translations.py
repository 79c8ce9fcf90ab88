"""Translation operations of ``Storage``, and how a translation overlays its article.

One row per article and language holds the translated fields with the article hash and the
context (glossary, model ids) they were made from, so the cycle can ask which articles need a
(re)translation and the renderer can ask what one language's feeds show.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lingofeed.feeds.store._articles import article_from_row, filter_articles
from lingofeed.feeds.store._base import NEWEST_FIRST, StorageBase
from lingofeed.feeds.store._types import TranslationRecord, TranslationStatus
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import articles, translations
from lingofeed.feeds.types import Article, EntryData, LocalizedEntry, same_language


class TranslationsMixin(StorageBase):
    """``StorageType``'s translation methods."""

    def get_articles_needing_translation(
        self,
        language: str,
        context: str,
        *,
        source_id: str | None = None,
        include_own_language: bool = False,
    ) -> list[Article]:
        """Present articles with no usable translation into ``language``, newest first.

        Needing one means: no row, or the article changed since (hash), or the glossary/model
        changed (``context``), or the row is pending/failed. Articles declared in ``language``
        itself are left out unless ``include_own_language``: they may quote another language
        (a French caption in an English article) that this language's reader needs translated.
        """
        query = (
            sa.select(articles)
            .select_from(_with_translations(language))
            .where(_needs_translation(context))
            .order_by(*NEWEST_FIRST)
        )
        query = filter_articles(query, source_id, include_gone=False)
        rows = self._read(f"articles needing {language!r}", query)
        found = (article_from_row(row) for row in rows)
        return [
            article
            for article in found
            if include_own_language or not same_language(article.data.language, language)
        ]

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
        """Store a finished translation, dated as readers should see it (``content_updated_at``).

        The first translation takes the article's own date (upstream ``updated``, else
        ``published``, else first seen): translating an old article does not edit it, and a
        fresh install must not show every old article as just updated. Afterwards the date moves
        to ``now`` only when the translated ``fields`` change (an upstream edit or a different
        translation), so a retranslation after a glossary change that yields the same text does
        not make readers see the entry as updated.
        """
        with self._write(f"translation of {upstream_id!r} into {language!r}") as conn:
            previous = _translation_row(conn, source_id, upstream_id, language, lock=True)
            if previous is None or not previous["fields"]:
                updated_at = _article_date(conn, source_id, upstream_id)
            elif dict(previous["fields"]) == dict(fields):
                updated_at = previous["content_updated_at"]
            else:
                updated_at = now
            values: dict[str, Any] = {
                "fields": dict(fields),
                "content_hash": content_hash,
                "context": context,
                "status": TranslationStatus.DONE.value,
                "error": None,
                "translated_at": now,
                "source_language": source_language,
                "machine_translated": machine_translated,
                "content_updated_at": updated_at,
            }
            _put_translation(conn, (source_id, upstream_id, language), values, values)
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
        """Mark a translation pending or failed, keeping any earlier fields for rendering.

        ``FILTERED`` replaces the whole row instead: it is settled for this article version and
        context (so a filter edit, which changes the context, re-evaluates it), and the fields
        go, since no feed shows a filtered item and they would pass for current after an edit.
        """
        status_values = {"status": status.value, "error": error}
        new_row = status_values | {"fields": {}, "content_hash": content_hash, "context": context}
        update = new_row if status is TranslationStatus.FILTERED else status_values
        with self._write(f"translation of {upstream_id!r} into {language!r}") as conn:
            _put_translation(conn, (source_id, upstream_id, language), new_row, update)

    def get_translation(
        self, source_id: str, upstream_id: str, /, language: str
    ) -> TranslationRecord | None:
        with self._connect(f"translation of {upstream_id!r} into {language!r}") as conn:
            row = _translation_row(conn, source_id, upstream_id, language)
        return translation_from_row(row) if row is not None else None

    def get_localized(
        self, language: str, *, source_id: str | None = None, include_gone: bool = False
    ) -> list[LocalizedEntry]:
        """What ``language``'s feeds show, newest first.

        An article appears translated when it has translated fields in ``language`` (the last
        good ones, even while a newer attempt is pending or failed) or a finished translation
        with none (its source translates no field it has), or as it is when it was
        declared in ``language``. Untranslated foreign articles are left out, and so are the
        articles the source's filters left out (``FILTERED``), in every language.
        """
        query = (
            sa.select(articles, *_TRANSLATION_COLUMNS)
            .select_from(_with_translations(language))
            .where(_not_filtered())
            .order_by(*NEWEST_FIRST)
        )
        query = filter_articles(query, source_id, include_gone=include_gone)
        rows = self._read(f"feed entries for {language!r}", query)
        shown = (_shown_entry(row, language, with_original=False) for row in rows)
        return [entry for entry in shown if entry is not None]

    def count_localized(self, language: str, source_ids: Collection[str]) -> int:
        """How many entries ``language``'s feeds over ``source_ids`` show, gone ones included
        (a feed keeps them until retention deletes them): fixes the family's archive pages."""
        query = count_shown(language).where(articles.c.source_id.in_(sorted(source_ids)))
        with self._connect(f"feed entry count for {language!r}") as conn:
            return int(conn.scalar(query) or 0)

    def get_localized_window(
        self,
        language: str,
        source_ids: Collection[str],
        *,
        limit: int,
        offset: int = 0,
        with_original: bool = False,
    ) -> list[LocalizedEntry]:
        """``limit`` entries of ``language``'s feeds over ``source_ids``, newest first, after
        skipping the ``offset`` newest: what one feed family shows, without reading the rest
        (``get_localized`` reads everything). ``with_original`` also sets each entry's
        ``original`` (what a bilingual feed shows beside the translation), read from the same
        row."""
        if limit <= 0:
            return []
        with self._connect(f"feed entries for {language!r}") as conn:
            query = (
                sa.select(articles, *_TRANSLATION_COLUMNS)
                .select_from(_with_translations(language))
                .where(articles.c.source_id.in_(sorted(source_ids)), _shown(language))
                .order_by(*_feed_order(conn.dialect.name))
                .limit(limit)
                .offset(max(offset, 0))
            )
            rows = list(conn.execute(query).mappings())
        shown = (_shown_entry(row, language, with_original=with_original) for row in rows)
        return [entry for entry in shown if entry is not None]


def _shown_entry(row: RowMapping, language: str, *, with_original: bool) -> LocalizedEntry | None:
    """What ``language``'s feeds show of a row: its translation (the last good fields, or a
    finished one with none), the article as it is when written in ``language`` (marked when
    its latest translation failed), or nothing (``_shown`` is the same rule in SQL); with its
    ``original`` set when ``with_original``."""
    article = article_from_row(row)
    if row["t_fields"] or row["t_status"] == TranslationStatus.DONE.value:
        entry = localize(article, translation_from_row(_unprefixed(row)))
    elif same_language(article.data.language, language):
        failed = row["t_status"] == TranslationStatus.FAILED.value
        entry = original_entry(article, translation_failed=failed)
    else:
        return None
    return replace(entry, original=article.data) if with_original else entry


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


_TRANSLATION_COLUMNS = tuple(column.label(f"t_{column.name}") for column in translations.c)


def _unprefixed(row: RowMapping) -> dict[str, Any]:
    """The translation half of an article+translation join row, under its own column names."""
    return {column.name: row[f"t_{column.name}"] for column in translations.c}


def _translation_of(
    source_id: str | sa.ColumnElement[str],
    upstream_id: str | sa.ColumnElement[str],
    language: str,
) -> sa.ColumnElement[bool]:
    return sa.and_(
        translations.c.source_id == source_id,
        translations.c.upstream_id == upstream_id,
        translations.c.language == language,
    )


#: Statuses that settle an article while its hash and context match: translated, or left out.
_SETTLED = (TranslationStatus.DONE.value, TranslationStatus.FILTERED.value)


def _needs_translation(context: str | sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """No row, an unsettled one, or one made from another article version or context.

    A ``FILTERED`` row is settled too: the filter is not asked again until the article or the
    context (which includes the source's filters) changes.
    """
    return sa.or_(
        translations.c.status.is_(None),
        translations.c.status.not_in(_SETTLED),
        translations.c.content_hash != articles.c.content_hash,
        translations.c.context != context,
    )


def _not_filtered() -> sa.ColumnElement[bool]:
    """No row, or one that is not ``FILTERED``: what the feeds may show."""
    return sa.or_(
        translations.c.status.is_(None),
        translations.c.status != TranslationStatus.FILTERED.value,
    )


def count_needing_translation(
    language: str, context: str, source_contexts: Mapping[str, str] | None = None
) -> sa.Select[Any]:
    """``len(get_articles_needing_translation(..., include_own_language=True))`` in SQL, each
    source's articles against its own context (``source_contexts``, else ``context``)."""
    expected: str | sa.ColumnElement[str] = context
    if source_contexts:
        expected = sa.case(dict(source_contexts), value=articles.c.source_id, else_=context)
    query = (
        sa.select(sa.func.count())
        .select_from(_with_translations(language))
        .where(_needs_translation(expected))
    )
    return filter_articles(query, None, include_gone=False)


def count_filtered() -> sa.Select[Any]:
    """Present articles with a ``FILTERED`` row, per source (the same in every language)."""
    query = (
        sa.select(translations.c.source_id, sa.func.count(sa.distinct(translations.c.upstream_id)))
        .select_from(
            translations.join(
                articles,
                sa.and_(
                    articles.c.source_id == translations.c.source_id,
                    articles.c.upstream_id == translations.c.upstream_id,
                ),
            )
        )
        .where(translations.c.status == TranslationStatus.FILTERED.value)
        .group_by(translations.c.source_id)
    )
    return filter_articles(query, None, include_gone=False)


def _same_language_sql(
    column: sa.ColumnElement[str | None], language: str
) -> sa.ColumnElement[bool]:
    """``same_language(column, language)`` as SQL (tags are ASCII, so ``lower`` agrees)."""
    primary = language.split("-")[0].split("_")[0].lower()
    escaped = primary.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lowered = sa.func.lower(column)
    return sa.or_(
        lowered == primary,
        lowered.like(f"{escaped}-%", escape="\\"),
        lowered.like(f"{escaped}\\_%", escape="\\"),
    )


def _translated() -> sa.ColumnElement[bool]:
    """The joined translation row has fields to show (the last good ones count), or is a
    finished translation with none (its source translates no field the article has)."""
    return sa.or_(
        translations.c.status == TranslationStatus.DONE.value,
        sa.and_(
            translations.c.status.is_not(None), sa.cast(translations.c.fields, sa.Text) != "{}"
        ),
    )


def _shown(language: str) -> sa.ColumnElement[bool]:
    """``language``'s feeds show the article: translated into it, or written in it, and not
    left out by its source's filters."""
    return sa.and_(
        sa.or_(_translated(), _same_language_sql(articles.c.language, language)),
        _not_filtered(),
    )


def count_shown(language: str) -> sa.Select[Any]:
    """``len(get_localized(language, include_gone=True))`` in SQL: translated or own language."""
    return (
        sa.select(sa.func.count()).select_from(_with_translations(language)).where(_shown(language))
    )


def _feed_order(dialect: str) -> tuple[sa.ColumnElement[Any], ...]:
    """Newest first exactly as the renderer's ``age_key`` orders entries, in SQL.

    ``age_key`` is (published, else the entry's updated date, source id, upstream id); the
    entry's updated date is its translation's ``content_updated_at`` when it is shown
    translated, else ``article_date``. Ids compare bytewise (code points, as Python does):
    PostgreSQL's locale collation would order them otherwise.
    """
    translated_date = sa.case((_translated(), translations.c.content_updated_at), else_=None)
    age = sa.func.coalesce(
        articles.c.published, translated_date, articles.c.updated, articles.c.first_seen
    )
    ids: list[sa.ColumnElement[Any]] = [articles.c.source_id, articles.c.upstream_id]
    if dialect == "postgresql":
        ids = [column.collate("C") for column in ids]
    return (age.desc(), *(column.desc() for column in ids))


def _with_translations(language: str) -> sa.FromClause:
    """Every article, with its ``language`` translation row where there is one."""
    return articles.outerjoin(
        translations, _translation_of(articles.c.source_id, articles.c.upstream_id, language)
    )


def _translation_row(
    conn: Connection, source_id: str, upstream_id: str, language: str, *, lock: bool = False
) -> RowMapping | None:
    """The row, if any; ``lock`` keeps it for this transaction (PostgreSQL's ``FOR UPDATE``)."""
    query = sa.select(translations).where(_translation_of(source_id, upstream_id, language))
    return conn.execute(query.with_for_update() if lock else query).mappings().first()


def _article_date(conn: Connection, source_id: str, upstream_id: str) -> datetime:
    """``article_date`` of a stored article, read inside the caller's transaction."""
    query = sa.select(articles).where(
        articles.c.source_id == source_id, articles.c.upstream_id == upstream_id
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        raise LookupError(f"no article {upstream_id!r} in source {source_id!r} to translate")
    return article_date(article_from_row(row))


def _put_translation(
    conn: Connection,
    key: tuple[str, str, str],
    new_row: Mapping[str, Any],
    update: Mapping[str, Any],
) -> None:
    """Insert ``new_row`` under ``key`` (source, upstream id, language), or apply ``update``.

    One ``INSERT … ON CONFLICT``: a concurrent first write of the same key waits for the other
    and then updates, instead of raising IntegrityError.
    """
    source_id, upstream_id, language = key
    insert = upsert(conn, translations).values(
        source_id=source_id, upstream_id=upstream_id, language=language, **new_row
    )
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[
                translations.c.source_id,
                translations.c.upstream_id,
                translations.c.language,
            ],
            set_={name: insert.excluded[name] for name in update},
        )
    )


def localize(article: Article, record: TranslationRecord) -> LocalizedEntry:
    """The article as ``record.language``'s feeds show it: translated fields over the original.

    Fields the translation lacks keep the original text, so a partial translation still renders
    — unless the translation is of an older version (an upstream edit could not be translated
    yet): then a field the edit added is left out rather than shown untranslated, and readers
    keep the last good translation.
    """
    data, fields = article.data, record.fields
    stale = record.content_hash != article.content_hash

    def text(name: str, original: str | None) -> str | None:
        return fields.get(name, None if stale else original)

    media = tuple(
        replace(
            item,
            caption=text(f"media.{index}.caption", item.caption),
            alt=text(f"media.{index}.alt", item.alt),
        )
        for index, item in enumerate(data.media)
    )
    categories = tuple(
        fields.get(f"categories.{index}", name) for index, name in enumerate(data.categories)
    )
    original = record.source_language or data.language
    return LocalizedEntry(
        source_id=article.source_id,
        upstream_id=data.upstream_id,
        language=record.language,
        original_language=original,
        title=fields.get("title", data.title),
        link=data.link,
        summary=text("summary", data.summary),
        content=text("content", data.content),
        author=data.author,
        categories=categories,
        media=media,
        published=data.published,
        updated=record.content_updated_at or article_date(article),
        machine_translated=record.machine_translated,
        partly_translated=record.machine_translated and same_language(original, record.language),
        original_fields=() if stale else untranslated_fields(data, fields),
        translation_failed=record.status is TranslationStatus.FAILED,
    )


def untranslated_fields(data: EntryData, fields: Mapping[str, str]) -> tuple[str, ...]:
    """The fields ``data`` has that a current translation lacks: the ones its source does not
    translate (the pipeline returns every field it was given)."""
    wanted = {
        "title": ["title"],
        "summary": ["summary"] if data.summary else [],
        "content": ["content"] if data.content else [],
        "media": [
            f"media.{index}.{part}"
            for index, item in enumerate(data.media)
            for part, text in (("caption", item.caption), ("alt", item.alt))
            if text
        ],
    }
    return tuple(
        name for name, keys in wanted.items() if keys and any(key not in fields for key in keys)
    )


def original_entry(article: Article, *, translation_failed: bool = False) -> LocalizedEntry:
    """An article shown untranslated in its own declared language (``translation_failed``:
    a passage in another language it quotes could not be translated)."""
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
        updated=article_date(article),
        translation_failed=translation_failed,
    )


def article_date(article: Article) -> datetime:
    """The date an article carries itself: upstream updated, else published, else first seen.

    An original entry shows it, and so does a translation until its text changes: translating
    is not editing.
    """
    data = article.data
    return data.updated or data.published or article.first_seen
