"""Publish the site incrementally: render only the feed families whose inputs changed.

Every source has its own feed family, every channel one over its sources, and the default
channel one over all of them (``FeedSettings.families``); a bilingual language also has each
family's twin, read with the entries' originals (``FeedSettings.families_in``). What each
family in each language was last published from is a ``FeedState`` in the store: a fingerprint
of its settings, a digest of the entries it showed, its entry count and archive pages. A
publish reads, per family, the count and the newest ``item_limit + archive_page_size - 1``
entries (more than any current feed of the family can show), compares their digest with the
state, and renders nothing when they match.
What changed is written through ``atomic.publish`` with the store's manifest of content hashes,
so unchanged files are neither read back nor touched.

A source's job publishes that source's feeds at once and marks the channels that show it (and
the default channel) as waiting; a waiting channel is published when its ``debounce`` window
since its last publish is over, so a channel over a thousand sources is rendered at most once a
window however many of them change. The marks live in the store and are cleared only by the
publish that saw them, so no change is lost to a crash or a stop: the next job, the service's
timer (``SitePublish.waiting_until``) or ``publish_all`` (``lingofeed once``) publishes it.

Archive pages (RFC 5005) are written when they fill up, along with the page before (its
``next-archive`` link appears); all of a family's pages are rewritten only when its settings
change or an entry older than the newest archived one came or went (``FeedState.boundary``).
The published feeds are always rendered from the store, never from what a cycle just fetched,
so a crash at any point leaves the previous files intact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from lingofeed.feeds.publish.atomic import publish, unpublish
from lingofeed.feeds.render import FeedWindow, archive_count, render_family, window_of
from lingofeed.feeds.render.formats import ATOM_FILE, INDEX_FILE, OPML_FILE
from lingofeed.feeds.render.pages import LATEST_COUNT, render_index, render_opml
from lingofeed.feeds.render.settings import DEFAULT_FEED, SOURCE, FeedFamily, FeedSettings
from lingofeed.feeds.store import FeedState, StorageType
from lingofeed.feeds.types import LocalizedEntry

__all__ = ["SitePublish", "publish_all", "publish_source", "publish_waiting"]


@dataclass(frozen=True)
class SitePublish:
    """What one publish did: the files it wrote, and when waiting channels fall due."""

    #: Relative paths whose bytes changed (new files included), e.g. ``fr/sources/a/feed.xml``.
    changed: tuple[str, ...] = ()
    #: When the earliest channel still waiting may be published (None: nothing waits).
    waiting_until: datetime | None = None

    def __add__(self, other: SitePublish) -> SitePublish:
        return SitePublish(self.changed + other.changed, other.waiting_until)


@dataclass(frozen=True)
class PublishContext:
    """Where and from what a publish works, and its clock."""

    storage: StorageType
    settings: FeedSettings
    #: The output directory.
    directory: Path
    now: datetime
    #: Shortest time between two publishes of a channel (``[service] channel_debounce``).
    debounce: timedelta = timedelta()


@dataclass(frozen=True)
class _Feed:
    """One family in one language, as the publisher handles it."""

    family: FeedFamily
    language: str
    #: Source ids it shows.
    members: frozenset[str]
    #: Fingerprint of everything besides the entries its files depend on.
    settings: str

    @property
    def key(self) -> str:
        """The ``FeedState`` key: ``fr``, ``fr/sources/<id>`` or ``fr/channels/<id>``."""
        return self.family.path(self.language, "").rstrip("/")


class _Site:
    """Every feed of ``FeedSettings`` by key, and which channels show each source.

    Built once per settings object (``_site``): the cycle hands the same ``FeedSettings`` to
    every job until the config changes, and building this costs as much as a job.
    """

    def __init__(self, settings: FeedSettings) -> None:
        self.settings = settings
        self.by_source: dict[str, list[_Feed]] = {}
        sources = frozenset(f.id for f in settings.families if f.kind == SOURCE)
        self.sources = sources
        base = _fingerprint(replace(settings, families=()))
        described = {family: _describe(family) for family in settings.every_family}
        every = list(described.values())
        self.feeds: dict[str, _Feed] = {}
        for language in settings.languages:
            for family in settings.families_in(language):
                # The default channel's files include the index and OPML, which list every family.
                shape = every if family is DEFAULT_FEED else described[family]
                members = sources if family.sources is None else family.sources & sources
                feed = _Feed(family, language, members, _fingerprint(base, language, shape))
                self.feeds[feed.key] = feed
        for feed in self.feeds.values():
            for source_id in feed.members:
                self.by_source.setdefault(source_id, []).append(feed)

    def source(self, source_id: str) -> list[_Feed]:
        """The source's own feeds, one per language."""
        return [
            f for f in self.feeds.values() if f.family.kind == SOURCE and f.family.id == source_id
        ]

    def showing(self, source_id: str, language: str) -> list[str]:
        """Keys of the channels (default included) that show ``source_id`` in ``language``."""
        return [
            feed.key
            for feed in self.by_source.get(source_id, [])
            if feed.family.kind != SOURCE and feed.language == language
        ]


_cache: list[_Site] = []


def _site(settings: FeedSettings) -> _Site:
    """The ``_Site`` of ``settings``, kept for the last settings object seen."""
    if _cache and _cache[0].settings is settings:
        return _cache[0]
    site = _Site(settings)
    _cache[:] = [site]
    return site


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def _describe(family: FeedFamily) -> tuple[object, ...]:
    """A family's settings in a stable order (sets and dicts sorted)."""
    members = None if family.sources is None else sorted(family.sources)
    return (family.kind, family.id, family.bilingual, members, sorted(family.meta.items()))


def publish_source(ctx: PublishContext, source_id: str) -> SitePublish:
    """After a source's job: its own feeds now, then every channel whose window is over.

    The channels showing the source are marked waiting when its entries changed.
    """
    site = _site(ctx.settings)
    feeds = site.source(source_id)
    states = ctx.storage.get_feed_states([feed.key for feed in feeds])
    written = _publish_feeds(ctx, site, feeds, states, waiting=True)
    return written + publish_waiting(ctx)


def publish_waiting(ctx: PublishContext) -> SitePublish:
    """Publish the waiting channels whose last publish is at least ``ctx.debounce`` ago."""
    site = _site(ctx.settings)
    waiting = ctx.storage.get_dirty_feeds()
    gone = [key for key in waiting if key not in site.feeds]
    if gone:
        unpublish(ctx.directory, ctx.storage.forget_feeds(gone))
    due = {key: state for key, state in waiting.items() if key in site.feeds}
    later = [
        state.published_at + ctx.debounce
        for state in due.values()
        if state.published_at is not None and state.published_at + ctx.debounce > ctx.now
    ]
    ready = [site.feeds[key] for key, state in due.items() if _is_due(state, ctx)]
    written = _publish_feeds(ctx, site, ready, due, waiting=False)
    return replace(written, waiting_until=min(later, default=None))


def _is_due(state: FeedState, ctx: PublishContext) -> bool:
    return state.published_at is None or state.published_at + ctx.debounce <= ctx.now


def publish_all(ctx: PublishContext) -> SitePublish:
    """Check every feed and publish what changed, waiting channels included, at once.

    For ``lingofeed once`` and after a config edit: each family costs a count and one window
    read when unchanged. Feeds that are no longer configured (a source or channel removed, a
    language dropped) are unpublished: their files and state go.
    """
    site = _site(ctx.settings)
    known = ctx.storage.get_feed_states()
    gone = [key for key in known if key not in site.feeds]
    if gone:
        unpublish(ctx.directory, ctx.storage.forget_feeds(gone))
    sources = [feed for feed in site.feeds.values() if feed.family.kind == SOURCE]
    written = _publish_feeds(ctx, site, sources, known, waiting=True)
    channels = [feed for feed in site.feeds.values() if feed.family.kind != SOURCE]
    states = ctx.storage.get_feed_states([feed.key for feed in channels])
    return written + _publish_feeds(ctx, site, channels, states, waiting=False)


def _publish_feeds(
    ctx: PublishContext,
    site: _Site,
    feeds: Iterable[_Feed],
    states: Mapping[str, FeedState],
    *,
    waiting: bool,
) -> SitePublish:
    """Refresh each of ``feeds``; with ``waiting``, mark the channels of changed ones.

    A feed's state is saved after its files are written, so a crash in between renders it
    again next time (and writes nothing, its files being current). A feed whose atom.xml is
    missing (a wiped output directory) is rendered whatever its state says. The index and OPML
    files go with the default channel.
    """
    storage, directory = ctx.storage, ctx.directory
    changed: list[str] = []
    front_page = False
    for feed in feeds:
        state = states.get(feed.key)
        on_disk = (directory / feed.family.path(feed.language, ATOM_FILE)).exists()
        refreshed = _refresh(storage, site.settings, feed, state if on_disk else None, ctx.now)
        if refreshed is None:
            if state is not None and state.dirty:
                storage.save_feed_state(state)  # nothing new to show: the wait is over
            continue
        files, new_state = refreshed
        if feed.family is DEFAULT_FEED:
            files[f"{feed.language}/{OPML_FILE}"] = render_opml(site.settings, feed.language)
            front_page = True
        changed += publish(directory, files, storage).changed
        marks = _marks(site, feed) if waiting else ()
        storage.save_feed_state(new_state, mark_dirty=marks)
    if front_page:
        changed += publish(directory, {INDEX_FILE: _index(storage, site)}, storage).changed
    return SitePublish(tuple(changed))


def _marks(site: _Site, feed: _Feed) -> list[str]:
    return site.showing(feed.family.id, feed.language) if feed.family.kind == SOURCE else []


def _index(storage: StorageType, site: _Site) -> bytes:
    """index.html, from the newest entries of each language's default channel."""
    latest = {
        language: storage.get_localized_window(language, site.sources, limit=LATEST_COUNT)
        for language in site.settings.languages
    }
    return render_index(site.settings, latest)


def _entry_key(entry: LocalizedEntry) -> str:
    return f"{entry.source_id}\0{entry.upstream_id}"


def _refresh(
    storage: StorageType,
    settings: FeedSettings,
    feed: _Feed,
    state: FeedState | None,
    now: datetime,
) -> tuple[dict[str, bytes], FeedState] | None:
    """The files of ``feed`` to publish and its new state; None when its inputs are unchanged.

    Reads the count and the newest ``item_limit + archive_page_size - 1`` entries: every current
    feed of any family shows at most that many of a source's entries, so the digest of this
    span sees every change a channel of the source would show.
    """
    span = settings.item_limit + settings.archive_page_size - 1
    count = storage.count_localized(feed.language, feed.members)
    shown = _window(storage, feed, span)
    pages = archive_count(settings, count)
    digest = _fingerprint(count, shown)
    if state is not None and (state.settings, state.digest) == (feed.settings, digest):
        return None
    current = tuple(shown[: count - pages * settings.archive_page_size])
    archive, boundary = _archive(storage, settings, feed, state, count, pages)
    window = FeedWindow(count, current, archive)
    files = render_family(settings, feed.family, feed.language, window)
    dirty = state.dirty if state is not None else 0
    new_state = FeedState(feed.key, feed.settings, digest, count, pages, boundary, dirty, now)
    return files, new_state


def _archive(
    storage: StorageType,
    settings: FeedSettings,
    feed: _Feed,
    state: FeedState | None,
    count: int,
    pages: int,
) -> tuple[dict[int, tuple[LocalizedEntry, ...]], str]:
    """The archive pages to write, and the new boundary (newest archived entry).

    New full pages and the one before them (it gains a ``next-archive`` link) when the old
    pages are where they were; every page otherwise (first publish, settings changed, an entry
    older than the boundary came or went, fewer pages).
    """
    size = settings.archive_page_size
    newest_archived = _at(storage, feed, count - pages * size) if pages else None
    boundary = _entry_key(newest_archived) if newest_archived is not None else ""
    kept = state is not None and state.settings == feed.settings and state.pages <= pages
    if kept and state is not None and state.pages:
        old = _at(storage, feed, count - state.pages * size)
        kept = old is not None and _entry_key(old) == state.boundary
    if not kept:
        every = _window(storage, feed, count)
        return dict(window_of(settings, every).archive), boundary
    assert state is not None
    if pages == state.pages:
        return {}, boundary
    numbers = range(max(state.pages, 1), pages + 1)
    return {n: _page(storage, feed, count, n, size) for n in numbers}, boundary


def _at(storage: StorageType, feed: _Feed, offset: int) -> LocalizedEntry | None:
    """The entry ``offset`` places from the newest of ``feed`` (0 = newest)."""
    found = _window(storage, feed, 1, offset)
    return found[0] if found else None


def _page(
    storage: StorageType, feed: _Feed, count: int, number: int, size: int
) -> tuple[LocalizedEntry, ...]:
    """Archive page ``number`` (1 = oldest) of a family with ``count`` entries."""
    return tuple(_window(storage, feed, size, count - number * size))


def _window(storage: StorageType, feed: _Feed, limit: int, offset: int = 0) -> list[LocalizedEntry]:
    """``limit`` entries of ``feed`` after the ``offset`` newest; with their originals for a
    bilingual twin, so its digest sees an upstream edit its translation has not caught up with."""
    return storage.get_localized_window(
        feed.language, feed.members, limit=limit, offset=offset, with_original=feed.family.bilingual
    )
