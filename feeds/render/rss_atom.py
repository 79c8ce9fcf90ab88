"""RSS 2.0 and Atom 1.0 documents with feedgen 1.0.0, plus the extension that repairs its output.

feedgen 1.0.0 drops rel/type/hreflang/length from every Atom ``<entry><link>`` (so an enclosure
becomes a second alternate link), cannot write ``xml:lang`` on entries, drops WebSub and
hreflang links from RSS and knows nothing of RFC 5005 ``fh:archive``. One feed extension and
one entry extension, registered on every generator, write those parts themselves; everything
else goes through feedgen's normal calls. Dates and ids are always set explicitly, because
feedgen's defaults are "now" and would make every re-render look like an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from lingofeed.feeds.render.dates import entry_updated, feed_updated
from lingofeed.feeds.render.formats import MIME_ATOM, MIME_RSS
from lingofeed.feeds.render.ids import entry_id, feed_id
from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.links import Link, entry_links, media_type
from lingofeed.feeds.render.notices import MARKER_SCHEME, MARKER_TERM, notice_html
from lingofeed.feeds.render.original import field_html, original_language
from lingofeed.feeds.render.settings import DEFAULT_FEED, FeedFamily, FeedSettings
from lingofeed.feeds.types import LocalizedEntry

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
FH_NS = "http://purl.org/syndication/history/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_EXTENSION = "lingofeed"


@dataclass(frozen=True)
class FeedDocument:
    """One XML document to write: which entries (newest first) and which feed-level links."""

    language: str
    #: Path relative to the output directory, e.g. ``en/atom.xml``; the self link points there.
    path: str
    entries: tuple[LocalizedEntry, ...]
    #: Links besides self (alternates, hub, RFC 5005 archive links).
    links: tuple[Link, ...] = ()
    #: True for an RFC 5005 archive page (writes ``fh:archive``).
    archive: bool = False
    #: Whose feed this is: its title, description and feed id.
    family: FeedFamily = DEFAULT_FEED


def _set_link(element: Any, link: Link) -> None:
    """Write a link's attributes in a fixed order (byte-stable output)."""
    element.set("rel", link.rel)
    if link.type:
        element.set("type", link.type)
    if link.hreflang:
        element.set("hreflang", link.hreflang)
    if link.length is not None:
        element.set("length", str(link.length))
    if link.title:
        element.set("title", link.title)
    element.set("href", link.href)


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level parts feedgen cannot write: RSS hub/alternate links, ``fh:archive``."""

    def __init__(self) -> None:
        self.rss_links: tuple[Link, ...] = ()
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"dc": DC_NS, "media": MEDIA_NS, "fh": FH_NS}

    def extend_atom(self, feed: Any) -> Any:
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss.find("channel")
        for link in self.rss_links:
            _set_link(etree.SubElement(channel, f"{{{ATOM_NS}}}link"), link)
        return rss


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry-level repairs: Atom links with their attributes, xml:lang, media, dc fields."""

    def __init__(self) -> None:
        self.entry: LocalizedEntry | None = None
        self.feed_language = ""

    def _language(self) -> str | None:
        """The entry's language when it differs from the feed's (else None: inherited)."""
        assert self.entry is not None
        language = normalize_language(self.entry.language)
        return language if language != self.feed_language else None

    def extend_atom(self, element: Any) -> Any:
        assert self.entry is not None
        broken = element.findall("link")
        position = element.index(broken[0]) if broken else len(element)
        for old in broken:
            element.remove(old)
        for offset, link in enumerate(entry_links(self.entry)):
            new = etree.Element("link")
            _set_link(new, link)
            element.insert(position + offset, new)
        if language := self._language():
            element.set(XML_LANG, language)
        if original := original_language(self.entry, "title"):
            element.find("title").set(XML_LANG, original)
        self._add_media(element)
        return element

    def extend_rss(self, item: Any) -> Any:
        assert self.entry is not None
        if self.entry.author:
            etree.SubElement(item, f"{{{DC_NS}}}creator").text = self.entry.author
        if language := self._language():
            etree.SubElement(item, f"{{{DC_NS}}}language").text = language
        if self.entry.media:  # RSS allows one enclosure: the first image.
            first = self.entry.media[0]
            enclosure = etree.SubElement(item, "enclosure")
            enclosure.set("url", first.url)
            enclosure.set("length", str(first.length or 0))
            enclosure.set("type", media_type(first.url, first.type))
        self._add_media(item)
        return item

    def _add_media(self, parent: Any) -> None:
        """``media:content`` per image, with the translated caption and the credit."""
        assert self.entry is not None
        for media in self.entry.media:
            content = etree.SubElement(parent, f"{{{MEDIA_NS}}}content")
            content.set("url", media.url)
            mime = media_type(media.url, media.type)
            content.set("type", mime)
            if mime.startswith("image/"):
                content.set("medium", "image")
            if media.length is not None:
                content.set("fileSize", str(media.length))
            description = media.caption or media.alt
            if description:
                element = etree.SubElement(content, f"{{{MEDIA_NS}}}description")
                element.set("type", "plain")
                if original := original_language(self.entry, "media"):
                    element.set(XML_LANG, original)
                element.text = description
            if media.credit:
                etree.SubElement(content, f"{{{MEDIA_NS}}}credit").text = media.credit


def _generator(
    settings: FeedSettings, document: FeedDocument, self_type: str, fmt: str
) -> FeedGenerator:
    """A FeedGenerator with the feed-level fields set, links in the order feedgen needs."""
    language = document.language
    generator = FeedGenerator()
    generator.register_extension(_EXTENSION, _FeedExtension, _EntryExtension)
    generator.id(feed_id(settings, language, document.family))
    generator.title(settings.feed_title(document.family, language))
    generator.description(settings.feed_description(document.family, language))
    generator.language(language)
    generator.author({"name": settings.author})
    generator.generator(settings.generator)
    generator.updated(feed_updated(document.entries))
    generator.link(href=settings.url(document.path), rel="self", type=self_type)
    if fmt == "atom":
        for link in document.links:
            generator.link(_feedgen_link(link))
    else:
        generator.lingofeed.rss_links = document.links
    generator.lingofeed.archive = document.archive
    # Last, because feedgen writes the last link as the RSS channel <link>.
    generator.link(
        href=settings.url("index.html"), rel="alternate", type="text/html", hreflang=language
    )
    for entry in document.entries:
        _add_entry(settings, generator, entry, language, fmt)
    return generator


def _feedgen_link(link: Link) -> dict[str, str]:
    """A feed-level link as feedgen wants it (feed-level links keep their attributes)."""
    fields = {"href": link.href, "rel": link.rel}
    if link.type:
        fields["type"] = link.type
    if link.hreflang:
        fields["hreflang"] = link.hreflang
    if link.title:
        fields["title"] = link.title
    return fields


def _add_entry(
    settings: FeedSettings, generator: FeedGenerator, entry: LocalizedEntry, language: str, fmt: str
) -> None:
    item = generator.add_entry(order="append")
    item.lingofeed.entry = entry
    item.lingofeed.feed_language = language
    item.id(entry_id(settings, entry, fmt))
    item.title(entry.title)
    item.updated(entry_updated(entry))
    if fmt == "atom" and entry.published:
        item.published(entry.published)
    if fmt == "rss":
        item.pubDate(entry.published or entry_updated(entry))
    if entry.link:
        item.link(href=entry.link, rel="alternate")
    if entry.summary:
        item.summary(field_html(entry, "summary", entry.summary), type="html")
    body = entry_body(settings, entry)
    if body:
        item.content(body, type="html")
    elif fmt == "atom" and not entry.link:
        # RFC 4287 4.1.1: an entry without an alternate link must have a content element.
        item.content("", type="text")
    if entry.author and fmt == "atom":
        item.author({"name": entry.author})
    categories = [{"term": term} for term in entry.categories]
    if entry.machine_translated:
        categories.append({"term": MARKER_TERM, "scheme": MARKER_SCHEME})
    if categories:
        item.category(categories)


def entry_body(settings: FeedSettings, entry: LocalizedEntry) -> str:
    """The HTML body a reader shows: content (or summary) plus the notice; "" when neither.

    An empty body is left out of the feed rather than published as an empty ``<p></p>``; a
    field kept untranslated is marked with its language (``field_html``).
    """
    body = field_html(
        entry, "content" if entry.content else "summary", entry.content or entry.summary or ""
    )
    notice = notice_html(settings, entry)
    if notice:
        body = f"{body}\n{notice}" if body else notice
    return body


def render_atom(settings: FeedSettings, document: FeedDocument) -> bytes:
    """An Atom 1.0 document (current feed or archive page)."""
    generator = _generator(settings, document, MIME_ATOM, "atom")
    return bytes(generator.atom_str(pretty=True))


def render_rss(settings: FeedSettings, document: FeedDocument) -> bytes:
    """An RSS 2.0 document."""
    generator = _generator(settings, document, MIME_RSS, "rss")
    return bytes(generator.rss_str(pretty=True))
