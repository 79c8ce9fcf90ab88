"""Render the published files of every language: RSS, Atom (+ RFC 5005 archives), JSON, OPML.

``render_site`` is the one entry point the cycle calls: entries in, ``{relative path: bytes}``
out, ready for ``feeds.publish.atomic.publish``. Output depends only on the entries and the settings
(never on the clock), so re-rendering unchanged content gives byte-identical files and the
publisher writes nothing.

Archive pages (RFC 5005) hold the oldest entries in full pages of ``archive_page_size``, by
published date; a page is written only once full, so old pages never change when new items
arrive. Archiving starts with two full pages at once: a lone archive page could link to no
other archive (RFC 5005 prev/next), which the W3C validator reports as ArchiveIncomplete.
``atom.xml`` holds everything not archived (at least ``item_limit`` entries); RSS and JSON Feed
hold the newest ``item_limit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lingofeed.feeds.render.bilingual import bilingual_entry
from lingofeed.feeds.render.dates import age_key
from lingofeed.feeds.render.errors import RenderError
from lingofeed.feeds.render.formats import (
    ATOM_FILE,
    INDEX_FILE,
    JSON_FILE,
    MIME_ATOM,
    MIME_RSS,
    OPML_FILE,
    RSS_FILE,
)
from lingofeed.feeds.render.ids import entry_id
from lingofeed.feeds.render.json_feed import render_json_feed
from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.links import Link
from lingofeed.feeds.render.pages import render_index, render_opml
from lingofeed.feeds.render.rss_atom import FeedDocument, render_atom, render_rss
from lingofeed.feeds.render.settings import DEFAULT_FEED, FeedFamily, FeedSettings, LanguageMeta
from lingofeed.feeds.render.xml_safe import xml_safe
from lingofeed.feeds.types import LocalizedEntry

__all__ = [
    "DEFAULT_FEED",
    "FeedFamily",
    "FeedSettings",
    "FeedWindow",
    "LanguageMeta",
    "RenderError",
    "archive_count",
    "archive_path",
    "entry_id",
    "normalize_language",
    "render_family",
    "render_language",
    "render_site",
    "window_of",
]


#: The fewest archive pages published: each page then has a prev-archive or next-archive.
MIN_ARCHIVE_PAGES = 2


@dataclass(frozen=True)
class FeedWindow:
    """What one feed family shows in one language, as much as a render needs of it.

    ``count`` is every entry the family has in the language (it fixes how many archive pages
    are full); ``current`` the entries not archived (atom.xml; its newest ``item_limit`` are
    feed.xml and feed.json); ``archive`` the archive pages to write, by number (1 = oldest):
    all of them from ``window_of``, only new or relinked ones from an incremental publish.
    """

    count: int
    current: tuple[LocalizedEntry, ...]
    archive: Mapping[int, tuple[LocalizedEntry, ...]] = field(default_factory=dict, hash=False)


def archive_path(language: str, page: int, family: FeedFamily = DEFAULT_FEED) -> str:
    """Path of archive page ``page`` (1 = oldest) relative to the output directory."""
    return family.path(language, f"archive/{page}.xml")


def archive_count(settings: FeedSettings, count: int) -> int:
    """Full archive pages of a family with ``count`` entries (the newest ``item_limit`` and the
    not yet full page stay in atom.xml)."""
    return _full_pages(count, settings.item_limit, settings.archive_page_size)


def _full_pages(count: int, item_limit: int, page_size: int) -> int:
    """No archive until two pages are full (``MIN_ARCHIVE_PAGES``), so every archive page
    links to a neighbour."""
    pages = max(0, count - item_limit) // page_size
    return pages if pages >= MIN_ARCHIVE_PAGES else 0


def split_archive(
    entries: Sequence[LocalizedEntry], item_limit: int, page_size: int
) -> tuple[list[tuple[LocalizedEntry, ...]], tuple[LocalizedEntry, ...]]:
    """Split entries (oldest first) into full archive pages and the current remainder."""
    pages = _full_pages(len(entries), item_limit, page_size)
    archived = [tuple(entries[n * page_size : (n + 1) * page_size]) for n in range(pages)]
    return archived, tuple(entries[pages * page_size :])


def window_of(settings: FeedSettings, entries: Sequence[LocalizedEntry]) -> FeedWindow:
    """The whole window of ``entries`` (one family, one language): every archive page."""
    oldest_first = sorted(entries, key=age_key)
    pages, current = split_archive(oldest_first, settings.item_limit, settings.archive_page_size)
    return FeedWindow(len(oldest_first), current, dict(enumerate(pages, start=1)))


def _alternates(
    settings: FeedSettings, family: FeedFamily, language: str, name: str, mime: str
) -> tuple[Link, ...]:
    """The same feed in every other language, for hreflang-aware readers and crawlers."""
    return tuple(
        Link(settings.url(family.path(other, name)), "alternate", mime, other)
        for other in settings.languages
        if other != language and settings.publishes(family, other)
    )


def _hub(settings: FeedSettings) -> tuple[Link, ...]:
    return (Link(settings.hub_url, "hub"),) if settings.hub_url else ()


def _archive_links(
    settings: FeedSettings, family: FeedFamily, language: str, page: int, count: int
) -> tuple[Link, ...]:
    links = [Link(settings.url(family.path(language, ATOM_FILE)), "current", MIME_ATOM)]
    if page > 1:
        links.append(
            Link(settings.url(archive_path(language, page - 1, family)), "prev-archive", MIME_ATOM)
        )
    if page < count:
        links.append(
            Link(settings.url(archive_path(language, page + 1, family)), "next-archive", MIME_ATOM)
        )
    return tuple(links)


def _shown(
    settings: FeedSettings, family: FeedFamily, language: str
) -> Callable[[LocalizedEntry], LocalizedEntry]:
    """How ``family``'s feeds show an entry: XML-safe, and interleaved with its original in a
    bilingual twin."""
    if not family.bilingual:
        return xml_safe
    separator = settings.separator(language)
    return lambda entry: xml_safe(bilingual_entry(entry, separator))


def render_family(
    settings: FeedSettings, family: FeedFamily, language: str, window: FeedWindow
) -> dict[str, bytes]:
    """One family's feeds in one language: atom.xml, feed.xml, feed.json and ``window``'s
    archive pages. The one renderer of every feed, default channel, source or channel."""
    language = normalize_language(language)
    if language not in settings.languages:
        raise RenderError(f"language {language!r} is not in settings.languages")
    if not settings.publishes(family, language):
        raise RenderError(f"language {language!r} publishes no bilingual feeds")
    shown = _shown(settings, family, language)
    current = sorted((shown(entry) for entry in window.current), key=age_key)
    pages = archive_count(settings, window.count)
    newest = tuple(reversed(current[-settings.item_limit :]))
    files: dict[str, bytes] = {}
    atom_links = _alternates(settings, family, language, ATOM_FILE, MIME_ATOM) + _hub(settings)
    if pages:
        prev = Link(settings.url(archive_path(language, pages, family)), "prev-archive", MIME_ATOM)
        atom_links += (prev,)
    atom_path = family.path(language, ATOM_FILE)
    atom = FeedDocument(language, atom_path, tuple(reversed(current)), atom_links, family=family)
    files[atom.path] = render_atom(settings, atom)
    for number, page_entries in sorted(window.archive.items()):
        page = FeedDocument(
            language,
            archive_path(language, number, family),
            tuple(sorted((shown(entry) for entry in page_entries), key=age_key, reverse=True)),
            _archive_links(settings, family, language, number, pages),
            archive=True,
            family=family,
        )
        files[page.path] = render_atom(settings, page)
    rss_links = _alternates(settings, family, language, RSS_FILE, MIME_RSS) + _hub(settings)
    rss = FeedDocument(language, family.path(language, RSS_FILE), newest, rss_links, family=family)
    files[rss.path] = render_rss(settings, rss)
    files[family.path(language, JSON_FILE)] = render_json_feed(settings, language, newest, family)
    return files


def render_language(
    settings: FeedSettings, language: str, entries: Sequence[LocalizedEntry]
) -> dict[str, bytes]:
    """The default channel of one language (every archive page) and its feeds.opml."""
    language = normalize_language(language)
    files = render_family(settings, DEFAULT_FEED, language, window_of(settings, entries))
    files[f"{language}/{OPML_FILE}"] = render_opml(settings, language)
    return files


def render_site(
    settings: FeedSettings, entries: Mapping[str, Sequence[LocalizedEntry]]
) -> dict[str, bytes]:
    """Every published file, all at once: every family in every configured language (empty
    when no entries), each language's OPML, and the index."""
    by_language = {normalize_language(code): list(items) for code, items in entries.items()}
    unknown = sorted(set(by_language) - set(settings.languages))
    if unknown:
        raise RenderError(f"entries for languages not in settings.languages: {unknown}")
    files: dict[str, bytes] = {}
    for language in settings.languages:
        shown = by_language.get(language, [])
        files.update(render_language(settings, language, shown))
        for family in settings.families_in(language):
            if family is not DEFAULT_FEED:
                window = window_of(settings, [e for e in shown if family.shows(e.source_id)])
                files.update(render_family(settings, family, language, window))
    files[INDEX_FILE] = render_index(settings, by_language)
    return files
