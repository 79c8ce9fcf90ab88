"""An entry's links (article page, original, enclosures), as every format writes them."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.types import LocalizedEntry


@dataclass(frozen=True)
class Link:
    """One link as Atom writes it; RSS and JSON Feed use the parts they can express."""

    href: str
    rel: str
    type: str | None = None
    hreflang: str | None = None
    length: int | None = None
    title: str | None = None


def media_type(url: str, declared: str | None) -> str:
    """The declared MIME type, else a guess from the URL (RSS enclosures require one)."""
    return declared or mimetypes.guess_type(url)[0] or "application/octet-stream"


def entry_links(entry: LocalizedEntry) -> tuple[Link, ...]:
    """Exactly one rel=alternate (the article page), rel=via to the original, enclosures.

    The article page is the original for now, so its hreflang is the original language; a
    machine-translated entry also points to it as ``via`` so readers can tell the source.
    """
    links: list[Link] = []
    original_language = (
        normalize_language(entry.original_language) if entry.original_language else None
    )
    if entry.link:
        page_language = original_language or normalize_language(entry.language)
        links.append(Link(entry.link, "alternate", "text/html", page_language))
        if entry.machine_translated:
            links.append(Link(entry.link, "via", "text/html", original_language))
    for media in entry.media:
        mime = media_type(media.url, media.type)
        links.append(Link(media.url, "enclosure", mime, None, media.length, media.caption))
    return tuple(links)
