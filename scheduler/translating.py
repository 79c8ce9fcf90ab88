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
from dataclasses import dataclass, replace

from tqdm import tqdm

from lingofeed.feeds.store import TranslationStatus
from lingofeed.feeds.types import Article
from lingofeed.scheduler.documents import article_document, sanitized, why
from lingofeed.scheduler.events import event
from lingofeed.scheduler.selection import EVERYTHING, Selection
from lingofeed.scheduler.types import CycleContext
from lingofeed.translations.errors import TranslationError
from lingofeed.translations.pipeline import distinct
from lingofeed.translations.types import TranslatedDocument

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
    #: Articles the source's filters left out (never translated, never published).
    filtered: int = 0

    def problem(self) -> str | None:
        """``de: 3 items not translated: <reason>``, or None when nothing failed."""
        if not self.failed:
            return None
        items = "item" if self.failed == 1 else "items"
        return f"{self.language}: {self.failed} {items} not translated: {self.reason}"


def translate_pending(ctx: CycleContext, source_id: str) -> list[LanguageOutcome]:
    """Translate this source's articles that lack a current translation, language by language.

    Articles the source's filters leave out are marked ``FILTERED`` instead: no model work, and
    no feed shows them (``scheduler.selection``).
    """
    outcomes = []
    for job in _jobs(ctx, source_id):
        kept, left_out = _pending(ctx, job)
        filtered = _mark_filtered(ctx, left_out, job.language, job.context)
        if kept:
            outcomes.append(replace(_translate_language(ctx, job, kept), filtered=filtered))
        elif filtered:
            outcomes.append(LanguageOutcome(job.language, filtered=filtered))
    return outcomes


def untranslated(
    ctx: CycleContext, source_id: str
) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """Every sentence of this source's pending articles, in every target language, that the
    translation memory lacks, per language pair: what a distributed cycle gives its
    translation workers before ``translate_pending`` (which then only reads the memory)."""
    wanted: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for job in _jobs(ctx, source_id):
        kept, _ = _pending(ctx, job)
        documents = [article_document(a, job.declared, job.selection) for a in kept]
        for pair, units in ctx.translation.misses(documents, job.language).items():
            wanted.setdefault(pair, []).extend(units)
    return {pair: distinct(units) for pair, units in sorted(wanted.items())}


def _jobs(ctx: CycleContext, source_id: str) -> list[_Job]:
    """The source's translation into each target language, under its current context."""
    configured = next((s for s in ctx.settings.sources if s.source.id == source_id), None)
    selection = configured.selection if configured is not None else EVERYTHING
    declared = configured.source.language if configured is not None else None
    return [
        _Job(
            source_id,
            language,
            selection.context(ctx.translation.translation_context(language)),
            declared,
            selection,
        )
        for language in ctx.settings.language_codes
    ]


def _pending(ctx: CycleContext, job: _Job) -> tuple[list[Article], list[Article]]:
    """The articles lacking a current translation for ``job``: those its filters keep, and
    those they leave out. Own-language articles too: the pipeline keeps their segments already
    in the language and translates only the quoted ones (a French caption in an English
    article)."""
    pending = ctx.storage.get_articles_needing_translation(
        job.language, job.context, source_id=job.source_id, include_own_language=True
    )
    kept: list[Article] = []
    left_out: list[Article] = []
    for article in pending:
        (kept if job.selection.keeps(article.data) else left_out).append(article)
    return kept, left_out


@dataclass(frozen=True)
class _Job:
    """One source's pending articles into one language: what each chunk is translated with."""

    source_id: str
    language: str
    context: str
    #: The source's declared language, or None to detect.
    declared: str | None
    selection: Selection


def _mark_filtered(
    ctx: CycleContext, filtered: Sequence[Article], language: str, context: str
) -> int:
    """Record ``filtered`` as ``FILTERED`` under ``context``; how many there were."""
    for article in filtered:
        _set_status(ctx, article, language, context, TranslationStatus.FILTERED)
    if filtered:
        log.info(
            event("filtered", source=filtered[0].source_id, lang=language, items=len(filtered))
        )
    return len(filtered)


def _translate_language(
    ctx: CycleContext, job: _Job, pending: Sequence[Article]
) -> LanguageOutcome:
    source_id, language = job.source_id, job.language
    outcome = LanguageOutcome(language)
    before = ctx.usage.usage()
    try:
        with progress(source_id, language, len(pending)) as advance:
            for start in range(0, len(pending), CHUNK_SIZE):
                chunk = pending[start : start + CHUNK_SIZE]
                outcome = _merge(outcome, _translate_chunk(ctx, chunk, job))
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


def _translate_chunk(ctx: CycleContext, chunk: Sequence[Article], job: _Job) -> LanguageOutcome:
    language, context = job.language, job.context
    documents = [article_document(article, job.declared, job.selection) for article in chunk]
    by_key = {
        document.key: (article, document)
        for article, document in zip(chunk, documents, strict=True)
    }
    # A source's field choice can leave an article nothing to translate (translate = ["media"]
    # on an item without images): it is done as it is, in its declared language if any.
    untouched = [
        TranslatedDocument(d.key, language, d.language, {}, machine_translated=False)
        for d in documents
        if not d.fields
    ]
    try:
        results = ctx.translation.translate([d for d in documents if d.fields], language)
        results += untouched
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


def _set_status(
    ctx: CycleContext,
    article: Article,
    language: str,
    context: str,
    status: TranslationStatus,
    error: str | None = None,
) -> None:
    ctx.storage.set_translation_status(
        article.source_id,
        article.data.upstream_id,
        language,
        status=status,
        content_hash=article.content_hash,
        context=context,
        error=error,
    )


def _mark_failed(
    ctx: CycleContext, article: Article, language: str, context: str, error: str
) -> None:
    """Record why; the row keeps its last good fields, so the feeds keep showing them."""
    _set_status(ctx, article, language, context, TranslationStatus.FAILED, error)
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
