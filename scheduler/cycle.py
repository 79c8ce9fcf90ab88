"""One cycle for one source: fetch or read -> store -> translate -> render -> publish.

The published feeds are always rendered from the store, never from what was just fetched, and
publishing replaces files atomically: a crash at any point leaves the previous feeds intact and
the next cycle picks up what is still pending. A failing source is recorded on its row with an
exponential backoff and never stops the other sources. Every event is one grep-able log line,
``source=<id> lang=<xx> event=<...> key=value...``. The translation step lives in
``scheduler.translating``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from lingofeed.feeds.errors import FetchError, SourceError, StorageError
from lingofeed.feeds.ingest.files import load_directory
from lingofeed.feeds.ingest.parse import parse_feed
from lingofeed.feeds.publish.atomic import PublishError
from lingofeed.feeds.publish.site import (
    PublishContext,
    SitePublish,
    publish_all,
    publish_source,
    publish_waiting,
)
from lingofeed.feeds.render.errors import RenderError
from lingofeed.feeds.render.settings import (
    CHANNEL,
    SOURCE,
    FeedFamily,
    FeedSettings,
    LanguageMeta,
)
from lingofeed.feeds.store import SourceState
from lingofeed.feeds.types import EntryData, Source
from lingofeed.scheduler.backoff import backoff
from lingofeed.scheduler.events import event
from lingofeed.scheduler.fulltext import with_full_text
from lingofeed.scheduler.removed import retire_removed_sources
from lingofeed.scheduler.settings import ChannelWords, Settings, SourceSettings
from lingofeed.scheduler.translating import translate_pending
from lingofeed.scheduler.types import CycleContext, SourceReport
from lingofeed.scheduler.websub import announce

log = logging.getLogger("lingofeed.cycle")


@dataclass(frozen=True)
class FetchOutcome:
    """What a fetch produced: entries to store, or None when upstream had nothing new (304)."""

    entries: tuple[EntryData, ...] | None
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    #: Where a permanent redirect pointed, to be fetched from now on.
    moved_to: str | None = None
    #: False when some items could not be read (a broken article file): the store must then
    #: not mark the articles it did not see as gone.
    complete: bool = True


def run_cycle(ctx: CycleContext) -> list[SourceReport]:
    """Every configured source once, then one publish of everything changed (``lingofeed
    once``): channels are not debounced, so the cycle ends with the final state published."""
    reports = [run_source(ctx, source, publish=False) for source in ctx.settings.sources]
    written = len(publish_everything(ctx).changed)
    return [*reports[:-1], *[replace(r, files_written=written) for r in reports[-1:]]]


def run_source(
    ctx: CycleContext, configured: SourceSettings, *, publish: bool = True
) -> SourceReport:
    """Fetch, store, translate and (unless ``publish`` is False) publish one source.

    Never raises for a source's own trouble (network, parse, translation): that is recorded on
    the source's row and in the report. Storage failures do raise: nothing can go on without
    the store.
    """
    started = time.perf_counter()
    report = ingest_source(ctx, configured)
    outcomes = translate_pending(ctx, configured.source.id)
    report = replace(
        report,
        translated=sum(outcome.done for outcome in outcomes),
        failed=sum(outcome.failed for outcome in outcomes),
        filtered=max((outcome.filtered for outcome in outcomes), default=0),
        problems=tuple(p for outcome in outcomes if (p := outcome.problem())),
    )
    if publish:
        published = publish_source_feeds(ctx, configured.source.id)
        report = replace(
            report, files_written=len(published.changed), waiting_until=published.waiting_until
        )
    ctx.metrics.observe_source_cycle(configured.source.id, time.perf_counter() - started)
    return report


def ingest_source(ctx: CycleContext, configured: SourceSettings) -> SourceReport:
    """Fetch (or read) and store one source, and forget what it dropped long ago: the part of
    a cycle before translation, which a distributed cycle runs apart from it."""
    source = configured.source
    outcome = _fetch(ctx, source)
    report = SourceReport(source.id, error=outcome if isinstance(outcome, str) else None)
    if isinstance(outcome, FetchOutcome):
        entries, full = outcome.entries, outcome.complete
        if source.full_text:
            entries, full = with_full_text(ctx, source, entries, full)
        if entries is not None:
            report = _store(ctx, source, entries, full)
        if outcome.complete:
            _delete_expired(ctx, source.id)
    return report


def _store(
    ctx: CycleContext, source: Source, entries: tuple[EntryData, ...], full: bool
) -> SourceReport:
    """Store what the source lists (``full``: all of it, so what is missing is gone)."""
    result = ctx.storage.upsert_entries(source.id, entries, ctx.clock(), full=full)
    log.info(
        event(
            "stored",
            source=source.id,
            new=len(result.new),
            changed=len(result.changed),
            unchanged=len(result.unchanged),
            gone=len(result.gone),
        )
    )
    return SourceReport(source.id, True, len(result.new), len(result.changed))


def refresh(ctx: CycleContext) -> SitePublish:
    """Translate what a config edit left pending in every source (a new language, a glossary
    change), then publish once; nothing is fetched. A reload runs it so that an edit shows at
    once, not at each source's next run. Returns what was published."""
    for configured in ctx.settings.sources:
        translate_pending(ctx, configured.source.id)
    return publish_everything(ctx)


def publish_everything(ctx: CycleContext) -> SitePublish:
    """Retire sources that left the config, then check and publish every feed (``once``, a
    reload, the service's start: a config edited while it was stopped shows at once)."""
    return _publish(ctx, "-", publish_all, retire=True)


def publish_source_feeds(ctx: CycleContext, source_id: str) -> SitePublish:
    """Publish the source's own feeds now and its channels when their debounce allows."""
    return _publish(ctx, source_id, partial(publish_source, source_id=source_id))


def publish_channels(ctx: CycleContext) -> SitePublish:
    """Publish the channels whose debounce window is over (the service's timer calls it)."""
    return _publish(ctx, "-", publish_waiting)


def _fetch(ctx: CycleContext, source: Source) -> FetchOutcome | str | None:
    """Fetch unless disabled or backing off; record the result. A string is the error."""
    now = ctx.clock()
    state = ctx.storage.add_source(source.id, source.url)
    if state.disabled:
        log.info(event("skipped", source=source.id, reason=state.disabled_reason or "disabled"))
        return None
    if state.next_attempt_at is not None and state.next_attempt_at > now:
        log.info(event("backoff", source=source.id, until=state.next_attempt_at.isoformat()))
        return None
    try:
        outcome = fetch_entries(ctx, source, state)
    except SourceError as exc:
        _record_failure(ctx, source, exc, state.consecutive_failures + 1)
        return str(exc)
    if outcome.moved_to is not None:
        log.warning(event("moved", source=source.id, old=source.url, new=outcome.moved_to))
    ctx.storage.record_fetch_success(
        source.id,
        now,
        status=outcome.status,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
        url=outcome.moved_to,
    )
    ctx.metrics.fetched(source.id, "not-modified" if outcome.entries is None else "ok")
    count = "-" if outcome.entries is None else len(outcome.entries)
    log.info(event("fetched", source=source.id, status=outcome.status, entries=count))
    return outcome


def fetch_entries(ctx: CycleContext, source: Source, state: SourceState) -> FetchOutcome:
    """What a source lists now: its directory's files, or its feed (conditional GET with
    ``state``'s validators, from where a permanent redirect last pointed)."""
    if source.directory is not None:
        loaded = load_directory(source)
        for problem in loaded.errors:
            log.warning(event("file-skipped", source=source.id, error=problem))
        return FetchOutcome(loaded.entries, complete=not loaded.errors)
    assert source.url is not None
    url = state.url or source.url
    result = ctx.fetcher.fetch(source.id, url, etag=state.etag, last_modified=state.last_modified)
    moved = result.final_url if result.permanent_redirect and result.final_url != url else None
    if result.not_modified or result.body is None:
        return FetchOutcome(None, result.status, result.etag, result.last_modified, moved)
    parsed = parse_feed(
        source, result.body, base_url=result.final_url, content_type=result.content_type
    )
    return FetchOutcome(parsed.entries, result.status, result.etag, result.last_modified, moved)


def _record_failure(ctx: CycleContext, source: Source, exc: SourceError, failures: int) -> None:
    now = ctx.clock()
    status = exc.status if isinstance(exc, FetchError) else None
    if status == 410:
        ctx.storage.disable_source(source.id, now, f"410 Gone: {source.location}")
        ctx.metrics.fetched(source.id, "gone")
        log.error(event("disabled", source=source.id, status=410, reason="gone"))
        return
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    until = now + backoff(failures, retry_after, ctx.settings.retry_backoff)
    ctx.storage.record_fetch_failure(
        source.id, now, error=str(exc), status=status, next_attempt_at=until
    )
    ctx.metrics.fetched(source.id, "error")
    log.error(
        event(
            "fetch-failed",
            source=source.id,
            failures=failures,
            retry=until.isoformat(),
            error=str(exc),
        )
    )


def _delete_expired(ctx: CycleContext, source_id: str) -> None:
    """Forget what upstream dropped more than ``retention_days`` ago (after a complete fetch).

    Only a fetch that succeeded and saw everything upstream lists (a 304 included) confirms an
    item is still gone; after a failed or partial one nothing is deleted. Until it is deleted a
    gone item stays in the published feeds (``feeds.publish.site``).
    """
    before = ctx.clock() - timedelta(days=ctx.settings.retention_days)
    deleted = ctx.storage.delete_gone(before, source_id=source_id)
    if deleted:
        log.info(event("deleted-gone", source=source_id, deleted=deleted, gone_before=before))


def _publish(
    ctx: CycleContext,
    source_id: str,
    publisher: Callable[[PublishContext], SitePublish],
    *,
    retire: bool = False,
) -> SitePublish:
    """Publish what changed from the store, then tell the hub; a failure keeps the old files
    (and the waiting marks, so the next publish retries). ``retire`` first retires removed
    sources (it reads every source's row, so only the publishes that check everything do it)."""
    try:
        if retire:
            retire_removed_sources(ctx.storage, ctx.settings, ctx.clock())
        result = publisher(
            PublishContext(
                ctx.storage,
                feed_settings(ctx.settings),
                ctx.settings.output.directory,
                ctx.clock(),
                ctx.settings.channel_debounce,
            )
        )
    except (OSError, StorageError, PublishError, RenderError) as exc:
        log.error(event("publish-failed", source=source_id, error=exc))
        return SitePublish()
    waiting = result.waiting_until.isoformat() if result.waiting_until else "-"
    log.info(
        event("published", source=source_id, files_written=len(result.changed), waiting=waiting)
    )
    announce(ctx, result.changed)  # the WebSub hub hears of the changed feeds (background)
    return result


_feed_settings: list[tuple[Settings, FeedSettings]] = []


def feed_settings(settings: Settings) -> FeedSettings:
    """What the renderer needs, from the operator's config: one object per settings object
    (kept by identity: hashing a thousand sources' settings per job would cost more than the
    job), so the publisher's per-site tables are built once per config version, not per job."""
    if _feed_settings and _feed_settings[0][0] is settings:
        return _feed_settings[0][1]
    built = _build_feed_settings(settings)
    _feed_settings[:] = [(settings, built)]
    return built


def _build_feed_settings(settings: Settings) -> FeedSettings:
    return FeedSettings(
        base_url=settings.output.base_url,
        languages=settings.language_codes,
        meta={
            language.code: LanguageMeta(
                language.title,
                language.description,
                language.notice,
                language.notice_partial,
                language.notice_original_text,
                language.bilingual,
                language.bilingual_separator,
            )
            for language in settings.languages
        },
        item_limit=settings.output.item_limit,
        hub_url=settings.output.websub_hub,
        families=_families(settings),
    )


def _families(settings: Settings) -> tuple[FeedFamily, ...]:
    """Every channel's feed family, then every source's, in config order."""
    channels = tuple(
        FeedFamily(
            CHANNEL,
            channel.id,
            frozenset(channel.sources),
            {
                code: LanguageMeta(words.title, words.description)
                for code in settings.language_codes
                if (words := channel.words_for(code)) != ChannelWords()
            },
        )
        for channel in settings.channels
    )
    sources = tuple(
        FeedFamily(SOURCE, configured.source.id, frozenset({configured.source.id}))
        for configured in settings.sources
    )
    return channels + sources
