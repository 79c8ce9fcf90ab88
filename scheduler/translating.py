"""The cycle's translation step: one source's pending articles into each target language.

Articles go to the pipeline in chunks of ``CHUNK_SIZE`` documents: large enough that the
pipeline still de-duplicates and batches well, small enough that a first large cycle shows
progress (a tqdm bar on a terminal, ``event=translate-progress`` log lines otherwise) and that
one failing chunk does not cost the others. An article whose translation is incomplete is marked
failed with the reason and keeps its last good translation in the feeds; the failures are
reported upwards so ``lingofeed once`` never reports success for them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm

from lingofeed.feeds.store import TranslationStatus
from lingofeed.feeds.types import Article
from lingofeed.scheduler.documents import article_document, sanitized, why
from lingofeed.scheduler.events import event
from lingofeed.scheduler.types import CycleContext
from lingofeed.translations.errors import TranslationError
from lingofeed.translations.pipeline import distinct

log = logging.getLogger("lingofeed.cycle")

#: Documents per pipeline call.
CHUNK_SIZE = 100
#: More pending documents than this in one language show progress.
PROGRESS_THRESHOLD = 50


@dataclass(frozen=True)
class LanguageOutcome:
    """How one source's pending articles fared in one target language."""

    language: str
    done: int = 0
    failed: int = 0
    #: Why the first failed article failed, for the operator.
    reason: str | None = None

    def problem(self) -> str | None:
        """``de: 3 items not translated: <reason>``, or None when nothing failed."""
        if not self.failed:
            return None
        items = "item" if self.failed == 1 else "items"
        return f"{self.language}: {self.failed} {items} not translated: {self.reason}"


def translate_pending(ctx: CycleContext, source_id: str) -> list[LanguageOutcome]:
    """Translate this source's articles that lack a current translation, language by language."""
    outcomes = []
    for language in ctx.settings.language_codes:
        context = ctx.translation.translation_context(language)
        # Own-language articles too: the pipeline keeps their segments already in ``language``
        # and translates only the quoted ones (a French caption in an English article).
        pending = ctx.storage.get_articles_needing_translation(
            language, context, source_id=source_id, include_own_language=True
        )
        if pending:
            outcomes.append(_translate_language(ctx, source_id, pending, language, context))
    return outcomes


def untranslated(
    ctx: CycleContext, source_id: str
) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """Every sentence of this source's pending articles, in every target language, that the
    translation memory lacks, per language pair: what a distributed cycle gives its
    translation workers before ``translate_pending`` (which then only reads the memory)."""
    wanted: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    declared = _declared_language(ctx, source_id)
    for language in ctx.settings.language_codes:
        context = ctx.translation.translation_context(language)
        pending = ctx.storage.get_articles_needing_translation(
            language, context, source_id=source_id, include_own_language=True
        )
        if not pending:
            continue
        documents = [article_document(article, declared) for article in pending]
        for pair, units in ctx.translation.misses(documents, language).items():
            wanted.setdefault(pair, []).extend(units)
    return {pair: distinct(units) for pair, units in sorted(wanted.items())}


def _declared_language(ctx: CycleContext, source_id: str) -> str | None:
    return next((s.source.language for s in ctx.settings.sources if s.source.id == source_id), None)


def _translate_language(
    ctx: CycleContext, source_id: str, pending: Sequence[Article], language: str, context: str
) -> LanguageOutcome:
    declared = _declared_language(ctx, source_id)
    outcome = LanguageOutcome(language)
    before = ctx.usage.usage()
    try:
        with progress(source_id, language, len(pending)) as advance:
            for start in range(0, len(pending), CHUNK_SIZE):
                chunk = pending[start : start + CHUNK_SIZE]
                outcome = _merge(outcome, _translate_chunk(ctx, chunk, language, context, declared))
                advance(len(chunk))
    finally:
        used = ctx.usage.usage() - before
        ctx.usage.record_usage(language, used)
        log.info(
            event(
                "cycle-usage",
                source=source_id,
                lang=language,
                model_calls=used.model_calls,
                segments=used.model_segments,
                tm_hits=used.tm_hits,
            )
        )
    ctx.metrics.translated(language, outcome.done, outcome.failed)
    log.info(
        event("translated", source=source_id, lang=language, done=outcome.done,
              failed=outcome.failed)
    )  # fmt: skip
    return outcome


def _merge(total: LanguageOutcome, chunk: LanguageOutcome) -> LanguageOutcome:
    return LanguageOutcome(
        total.language,
        total.done + chunk.done,
        total.failed + chunk.failed,
        total.reason or chunk.reason,
    )


def _translate_chunk(
    ctx: CycleContext,
    chunk: Sequence[Article],
    language: str,
    context: str,
    declared: str | None,
) -> LanguageOutcome:
    documents = [article_document(article, declared) for article in chunk]
    by_key = {
        document.key: (article, document)
        for article, document in zip(chunk, documents, strict=True)
    }
    try:
        results = ctx.translation.translate(documents, language)
    except TranslationError as exc:  # keep the published versions; retry next cycle
        source_id = chunk[0].source_id
        log.exception(event("translate-crashed", source=source_id, lang=language, error=exc))
        for article in chunk:
            _mark_failed(ctx, article, language, context, str(exc))
        return LanguageOutcome(language, 0, len(chunk), str(exc))
    done = failed = 0
    reason = None
    now = ctx.clock()
    for result in results:
        article, document = by_key[result.key]
        if not result.complete:
            error = why(result.problems)
            reason = reason or error
            _mark_failed(ctx, article, language, context, error)
            failed += 1
            continue
        ctx.storage.save_translation(
            article.source_id,
            article.data.upstream_id,
            language,
            fields=sanitized(result, document, article.data.link),
            content_hash=article.content_hash,
            context=context,
            now=now,
            source_language=result.source_language,
            machine_translated=result.machine_translated,
        )
        done += 1
    return LanguageOutcome(language, done, failed, reason)


def _mark_failed(
    ctx: CycleContext, article: Article, language: str, context: str, error: str
) -> None:
    """Record why; the row keeps its last good fields, so the feeds keep showing them."""
    ctx.storage.set_translation_status(
        article.source_id,
        article.data.upstream_id,
        language,
        status=TranslationStatus.FAILED,
        content_hash=article.content_hash,
        context=context,
        error=error,
    )
    log.warning(
        event(
            "translation-failed",
            source=article.source_id,
            lang=language,
            item=article.data.upstream_id,
            error=error,
        )
    )


@contextmanager
def progress(source_id: str, language: str, total: int) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` after each chunk: a tqdm bar when stderr is a terminal, log lines otherwise.

    Nothing is shown for ``PROGRESS_THRESHOLD`` documents or fewer: the ``translated`` line
    that follows at once says enough.
    """
    if total <= PROGRESS_THRESHOLD:
        yield lambda _count: None
        return
    if sys.stderr.isatty():
        with tqdm(total=total, desc=f"{source_id} -> {language}", unit="doc") as bar:
            yield bar.update
        return
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        log.info(
            event("translate-progress", source=source_id, lang=language, done=done, total=total)
        )

    yield advance
