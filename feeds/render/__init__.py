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

from collections.abc import Mapping, Sequence

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
from lingofeed.feeds.render.settings import FeedSettings, LanguageMeta
from lingofeed.feeds.render.xml_safe import xml_safe
from lingofeed.feeds.types import LocalizedEntry

__all__ = [
    "FeedSettings",
    "LanguageMeta",
    "RenderError",
    "archive_path",
    "entry_id",
    "normalize_language",
    "render_language",
    "render_site",
]


#: The fewest archive pages published: each page then has a prev-archive or next-archive.
MIN_ARCHIVE_PAGES = 2


def archive_path(language: str, page: int) -> str:
    """Path of archive page ``page`` (1 = oldest) relative to the output directory."""
    return f"{language}/archive/{page}.xml"


def split_archive(
    entries: Sequence[LocalizedEntry], item_limit: int, page_size: int
) -> tuple[list[tuple[LocalizedEntry, ...]], tuple[LocalizedEntry, ...]]:
    """Split entries (oldest first) into full archive pages and the current remainder.

    No archive until two pages are full (``MIN_ARCHIVE_PAGES``), so every archive page links
    to a neighbour.
    """
    pages = max(0, len(entries) - item_limit) // page_size
    pages = pages if pages >= MIN_ARCHIVE_PAGES else 0
    archived = [tuple(entries[n * page_size : (n + 1) * page_size]) for n in range(pages)]
    return archived, tuple(entries[pages * page_size :])


def _alternates(settings: FeedSettings, language: str, name: str, mime: str) -> tuple[Link, ...]:
    """The same feed in every other language, for hreflang-aware readers and crawlers."""
    return tuple(
        Link(settings.url(f"{other}/{name}"), "alternate", mime, other)
        for other in settings.languages
        if other != language
    )


def _hub(settings: FeedSettings) -> tuple[Link, ...]:
    return (Link(settings.hub_url, "hub"),) if settings.hub_url else ()


def _archive_links(
    settings: FeedSettings, language: str, page: int, count: int
) -> tuple[Link, ...]:
    links = [Link(settings.url(f"{language}/{ATOM_FILE}"), "current", MIME_ATOM)]
    if page > 1:
        links.append(
            Link(settings.url(archive_path(language, page - 1)), "prev-archive", MIME_ATOM)
        )
    if page < count:
        links.append(
            Link(settings.url(archive_path(language, page + 1)), "next-archive", MIME_ATOM)
        )
    return tuple(links)


def render_language(
    settings: FeedSettings, language: str, entries: Sequence[LocalizedEntry]
) -> dict[str, bytes]:
    """The feed family of one language: feed.xml, atom.xml, feed.json, archives, feeds.opml."""
    language = normalize_language(language)
    if language not in settings.languages:
        raise RenderError(f"language {language!r} is not in settings.languages")
    oldest_first = sorted((xml_safe(entry) for entry in entries), key=age_key)
    pages, current = split_archive(oldest_first, settings.item_limit, settings.archive_page_size)
    newest = tuple(reversed(oldest_first[-settings.item_limit :]))
    files: dict[str, bytes] = {}
    atom_links = _alternates(settings, language, ATOM_FILE, MIME_ATOM) + _hub(settings)
    if pages:
        prev = Link(settings.url(archive_path(language, len(pages))), "prev-archive", MIME_ATOM)
        atom_links += (prev,)
    atom = FeedDocument(language, f"{language}/{ATOM_FILE}", tuple(reversed(current)), atom_links)
    files[atom.path] = render_atom(settings, atom)
    for number, page_entries in enumerate(pages, start=1):
        page = FeedDocument(
            language,
            archive_path(language, number),
            tuple(reversed(page_entries)),
            _archive_links(settings, language, number, len(pages)),
            archive=True,
        )
        files[page.path] = render_atom(settings, page)
    rss_links = _alternates(settings, language, RSS_FILE, MIME_RSS) + _hub(settings)
    rss = FeedDocument(language, f"{language}/{RSS_FILE}", newest, rss_links)
    files[rss.path] = render_rss(settings, rss)
    files[f"{language}/{JSON_FILE}"] = render_json_feed(settings, language, newest)
    files[f"{language}/{OPML_FILE}"] = render_opml(settings, language)
    return files


def render_site(
    settings: FeedSettings, entries: Mapping[str, Sequence[LocalizedEntry]]
) -> dict[str, bytes]:
    """Every published file: each configured language's feeds (empty when no entries) + index."""
    by_language = {normalize_language(code): list(items) for code, items in entries.items()}
    unknown = sorted(set(by_language) - set(settings.languages))
    if unknown:
        raise RenderError(f"entries for languages not in settings.languages: {unknown}")
    files: dict[str, bytes] = {}
    for language in settings.languages:
        files.update(render_language(settings, language, by_language.get(language, [])))
    files[INDEX_FILE] = render_index(settings, by_language)
    return files
