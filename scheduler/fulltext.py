"""Full text (``full_text = true``): each new or changed item's page, its article as content.

Between fetch and store, every item of a full-text source gets its page's article as its
``content`` (the feed's summary stays the summary, which readers show in lists and previews).
The page of an item that is unchanged upstream is not fetched again: its extraction is read
from the store's page cache, so the stored article stays unchanged and nothing is retranslated.
A new or changed item's page is fetched conditionally (the cached ETag / Last-Modified), and a
304 reuses the cached extraction without extracting again.

A page that fails (a network error, a bad status, too large, not HTML, no article text) keeps
the feed's own content, or the page's last good extraction, and is not tried again before its
backoff is over (``scheduler.backoff``, the sources' own policy: at most once per source run,
then less and less often). A feed that answers 304 lists nothing, so then the stored articles
whose page is due (a retry, or a source that just turned full text on) are fetched from the
store. Pages come through the runtime's page fetcher: the sources' limits, and the address
guard unless ``[service] allow_private_addresses`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from lingofeed.feeds.errors import ExtractError, FetchError
from lingofeed.feeds.ingest.extract import extract_article
from lingofeed.feeds.sanitize import plain_text
from lingofeed.feeds.store import PageState
from lingofeed.feeds.types import EntryData, Source
from lingofeed.scheduler.backoff import backoff
from lingofeed.scheduler.events import event
from lingofeed.scheduler.types import CycleContext

log = logging.getLogger("lingofeed.fulltext")


def with_full_text(
    ctx: CycleContext, source: Source, entries: tuple[EntryData, ...] | None, full: bool
) -> tuple[tuple[EntryData, ...] | None, bool]:
    """The entries to store and whether they are all upstream lists (``full``).

    Fetched ``entries`` come back with their pages' articles. After a 304 (``entries`` None)
    the stored articles whose page is due come back instead, as a partial list (``False``),
    or None when none is due or none of them yielded an article.
    """
    if entries is not None:
        return _enriched(ctx, source, entries), full
    due = _due_from_store(ctx, source)
    if not due:
        return None, full
    return due, False


def _enriched(
    ctx: CycleContext, source: Source, entries: Iterable[EntryData]
) -> tuple[EntryData, ...]:
    """Each entry with its page's article as content, where there is one."""
    listed = tuple(entries)
    states = ctx.storage.get_pages([e.link for e in listed if e.link])
    texts: dict[str, str | None] = {}
    result = []
    for entry in listed:
        link = entry.link
        if link is not None and link not in texts:
            texts[link] = _page_text(ctx, source, entry, entry.content_hash(), states.get(link))
        text = texts.get(link) if link is not None else None
        result.append(replace(entry, content=text) if text else entry)
    return tuple(result)


def _due_from_store(ctx: CycleContext, source: Source) -> tuple[EntryData, ...]:
    """Stored articles whose page has no row yet or whose backoff is over, with the article
    of each page that now worked (those that failed again are left as they are)."""
    now = ctx.clock()
    stored = [a.data for a in ctx.storage.get_articles(source.id) if a.data.link]
    states = ctx.storage.get_pages([data.link for data in stored if data.link])
    updated = []
    for data in stored:
        assert data.link is not None
        state = states.get(data.link)
        if state is not None and not _due(state, now):
            continue
        entry_hash = state.entry_hash if state is not None else data.content_hash()
        text = _fetch_page(ctx, source, data, entry_hash, state)
        if text:
            updated.append(replace(data, content=text))
    return tuple(updated)


def _due(state: PageState, now: datetime) -> bool:
    """A failed page whose backoff is over (a page that worked waits for its item to change)."""
    return state.error is not None and (
        state.next_attempt_at is None or state.next_attempt_at <= now
    )


def _page_text(
    ctx: CycleContext, source: Source, entry: EntryData, entry_hash: str, state: PageState | None
) -> str | None:
    """The article for ``entry``: cached while its item is unchanged or its page backs off,
    else fetched (conditionally); None means keep the feed's own content."""
    if state is not None:
        unchanged = state.error is None and state.entry_hash == entry_hash
        waiting = state.error is not None and not _due(state, ctx.clock())
        if unchanged or waiting:
            return state.content
    text = _fetch_page(ctx, source, entry, entry_hash, state)
    if text is None and state is not None:
        return state.content
    return text


def _fetch_page(
    ctx: CycleContext, source: Source, entry: EntryData, entry_hash: str, state: PageState | None
) -> str | None:
    """Fetch and extract ``entry``'s page and record the outcome: the article (after a 304,
    the stored one), or None when the page failed (the caller keeps what it has)."""
    assert entry.link is not None
    url, now = entry.link, ctx.clock()
    try:
        result = ctx.page_fetcher.fetch(
            source.id,
            url,
            etag=state.etag if state is not None else None,
            last_modified=state.last_modified if state is not None else None,
        )
        text = None
        if not result.not_modified and result.body is not None:
            text = extract_article(
                source.id,
                result.body,
                url=result.final_url,
                content_type=result.content_type,
                title=entry.title,
                longer_than=len(plain_text(_own_text(entry, state))),
            )
    except (FetchError, ExtractError) as exc:
        _record_failure(ctx, source, url, entry_hash, state, exc)
        return None
    ctx.storage.record_page_success(
        url,
        now,
        source_id=source.id,
        entry_hash=entry_hash,
        status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        content=text,
    )
    if text is None:
        log.info(event("page-not-modified", source=source.id, url=url))
        return state.content if state is not None else None
    log.info(event("page-extracted", source=source.id, url=url, chars=len(text)))
    return text


def _own_text(entry: EntryData, state: PageState | None) -> str:
    """The feed's own text of ``entry``: its content, unless that is the page's stored
    article (a stored article after a failed retry), else its summary."""
    if entry.content and (state is None or entry.content != state.content):
        return entry.content
    return entry.summary or ""


def _record_failure(
    ctx: CycleContext,
    source: Source,
    url: str,
    entry_hash: str,
    state: PageState | None,
    exc: FetchError | ExtractError,
) -> None:
    now = ctx.clock()
    failures = (state.consecutive_failures if state is not None else 0) + 1
    status = exc.status if isinstance(exc, FetchError) else None
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    until = now + backoff(failures, retry_after, ctx.settings.retry_backoff)
    ctx.storage.record_page_failure(
        url,
        now,
        source_id=source.id,
        entry_hash=entry_hash,
        error=str(exc),
        status=status,
        next_attempt_at=until,
    )
    log.warning(
        event(
            "page-failed",
            source=source.id,
            url=url,
            failures=failures,
            retry=until.isoformat(),
            error=str(exc),
        )
    )
