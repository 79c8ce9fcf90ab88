"""RSS 0.9x/1.0/2.0 and Atom 1.0 into ``ParsedFeed``: feedparser, corrected from the XML.

feedparser reads the formats (dates, encodings, text constructs, relative links). Two things
it gets wrong for us are read again from the XML with a locked-down lxml parser:

- ids: feedparser resolves a non-URI id ("slug-1") against the feed URL, so the id would change
  when the feed moves; we keep the id exactly as upstream wrote it.
- media RSS: feedparser drops ``media:description`` into the entry's *content* and loses which
  caption and credit belong to which image.
- links: feedparser invents an entry link from any id (``<id>Correct Value</id>`` becomes
  ``http://host/dir/Correct Value``); only real link elements, and an RSS permalink guid that is
  itself an absolute http(s) URL, become the entry's link.

feedparser guesses whether an RSS text is HTML but not an Atom 0.3 one, whose ``mode="escaped"``
and ``mode="base64"`` titles are HTML in practice: we guess the same way for every format but
Atom 1.0 (whose ``type`` says exactly), so titles come out as plain text, not ``<p>`` literally.

XML may never fetch external entities or DTDs, and entity expansion is bounded (expat's and
libxml2's amplification limits; see the tests).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.parse._common import (
    ParsedFeed,
    absolute,
    categories,
    dedupe_media,
    normalize_language,
    stable_id,
    text_to_html,
)
from lingofeed.feeds.sanitize import collapse_whitespace, plain_text, sanitize_body
from lingofeed.feeds.types import EntryData, Media, Source

_MEDIA = "{http://search.yahoo.com/mrss/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_ITEM_TAGS = frozenset(
    {
        "item",
        f"{_ATOM}entry",
        "{http://purl.org/rss/1.0/}item",
        "{http://my.netscape.com/rdf/simple/0.9/}item",
    }
)
_DESCRIPTION_TAGS = frozenset(
    {
        "description",
        "{http://purl.org/rss/1.0/}description",
        "{http://my.netscape.com/rdf/simple/0.9/}description",
    }
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: The one format whose text constructs say exactly whether they are text or HTML.
_EXACT_TYPES_VERSION = "atom10"
#: feedparser's own guess for RSS texts (conservative: a false positive loses text).
_looks_like_html = _FeedParserMixin.looks_like_html


@dataclass(frozen=True)
class _ItemXml:
    """What we read from an item's XML ourselves: raw id, media, and the RSS description.

    ``captions`` are all ``media:description`` texts: feedparser may have put any of them into
    the entry's summary or content, where they do not belong.
    """

    raw_id: str | None = None
    #: An RSS ``<guid>`` not marked ``isPermaLink="false"``: the item's page, if a web URL.
    permalink: str | None = None
    media: tuple[Media, ...] = ()
    captions: frozenset[str] = frozenset()
    description: str | None = None


def parse_xml_feed(
    source: Source, body: bytes, base_url: str | None, content_type: str | None
) -> ParsedFeed:
    headers = {"content-type": content_type or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        cause = parsed.get("bozo_exception")
        reason = f"not a feed ({cause})" if cause else "not an RSS, Atom or JSON feed"
        raise ParseError(source.id, source.location, reason)
    extras = _items_xml(body, base_url)
    if len(extras) != len(parsed.entries):  # lxml and feedparser disagree: trust feedparser
        extras = [_ItemXml() for _ in parsed.entries]
    feed = parsed.feed
    reader = _Reader(base_url, normalize_language(feed.get("language")), parsed.get("version", ""))
    entries = tuple(
        reader.entry(entry, extra) for entry, extra in zip(parsed.entries, extras, strict=True)
    )
    return ParsedFeed(
        title=reader.text(feed.get("title_detail")) or "",
        link=feed.get("link"),
        language=reader.language,
        entries=entries,
    )


@dataclass(frozen=True)
class _Reader:
    """Reads one document's entries: its base URL, declared language and format version."""

    base_url: str | None
    language: str | None
    version: str

    def entry(self, entry: dict[str, Any], extra: _ItemXml) -> EntryData:
        title = self.text(entry.get("title_detail"))
        link = _alternate(entry, self.base_url) or absolute(None, extra.permalink)
        # dict.get: FeedParserDict would quietly answer published_parsed (and warn) instead.
        updated = _struct_time(dict.get(entry, "updated_parsed"))
        # RSS 1.0 dc:date and Atom's required <updated> are the only dates many feeds give.
        published = _struct_time(entry.get("published_parsed")) or updated
        contents = [c for c in entry.get("content", ()) if not _is_caption(c, extra.captions)]
        content = self.html(contents[0]) if contents else None
        summary_detail = entry.get("summary_detail")
        if summary_detail and _is_caption(summary_detail, extra.captions):
            summary_detail = _html_detail(extra.description) if extra.description else None
        summary = self.html(summary_detail) if summary_detail else None
        if summary and summary == content:  # feedparser copies the only body into both
            summary = None
        details = [*contents, summary_detail or {}, entry.get("title_detail") or {}]
        language = next((d.get("language") for d in details if d.get("language")), self.language)
        upstream_id = extra.raw_id or entry.get("id") or stable_id(title, published, link)
        return EntryData(
            upstream_id=upstream_id,
            title=title,
            link=link,
            summary=summary,
            content=content,
            author=collapse_whitespace(entry.get("author") or "") or None,
            categories=categories(t.get("term") or t.get("label") for t in entry.get("tags", ())),
            media=dedupe_media([*extra.media, *_enclosures(entry, self.base_url)]),
            published=published,
            updated=updated,
            language=normalize_language(language),
        )

    def _is_html(self, detail: Mapping[str, Any], value: str) -> bool:
        """Declared HTML, or (outside Atom 1.0) plain text that looks like HTML, as feedparser
        decides for RSS: a close tag or an entity, and only known HTML elements."""
        if detail.get("type") in _HTML_TYPES:
            return True
        return self.version != _EXACT_TYPES_VERSION and bool(_looks_like_html(value))

    def text(self, detail: Mapping[str, Any] | None) -> str:
        """A title as plain text."""
        if not detail:
            return ""
        value = str(detail.get("value") or "")
        return plain_text(value) if self._is_html(detail, value) else collapse_whitespace(value)

    def html(self, detail: Mapping[str, Any]) -> str | None:
        """A summary or content as sanitised HTML; None when nothing visible is left."""
        value = str(detail.get("value") or "")
        if not self._is_html(detail, value):
            value = text_to_html(value)
        return sanitize_body(value, detail.get("base") or self.base_url)


def _alternate(entry: Mapping[str, Any], base_url: str | None) -> str | None:
    """The first real rel=alternate link element (never one feedparser made from an id)."""
    for link in entry.get("links") or ():
        if link.get("rel", "alternate") == "alternate" and (
            url := absolute(base_url, link.get("href"))
        ):
            return url
    return None


def _is_caption(detail: Mapping[str, Any], captions: frozenset[str]) -> bool:
    return bool(captions) and plain_text(str(detail.get("value") or "")) in captions


def _html_detail(value: str) -> dict[str, str]:
    """A feedparser-shaped text construct for HTML we read ourselves."""
    return {"type": "text/html", "value": value}


def _enclosures(entry: Mapping[str, Any], base_url: str | None) -> Iterable[Media]:
    for link in entry.get("links", ()):
        href = absolute(base_url, link.get("href"))
        if link.get("rel") == "enclosure" and href:
            length = str(link.get("length") or "")
            yield Media(href, link.get("type") or None, int(length) if length.isdigit() else None)


def _struct_time(value: Any) -> datetime | None:
    """A feedparser date as aware UTC; None when absent or unrepresentable (year 0)."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _items_xml(body: bytes, base_url: str | None) -> list[_ItemXml]:
    """Raw ids and media per item, in document order, read without network or DTDs."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser, base_url=base_url)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    return [_item_xml(item) for item in root.iter(*_ITEM_TAGS)]


def _item_xml(item: etree._Element) -> _ItemXml:
    raw_id = item.get(_RDF_ABOUT)
    for tag in ("guid", f"{_ATOM}id"):
        found = item.find(tag)
        if found is not None and (found.text or "").strip():
            raw_id = found.text.strip()
    guid = item.find("guid")
    permanent = guid is not None and (guid.get("isPermaLink") or "true").lower() != "false"
    contents = list(item.iter(f"{_MEDIA}content"))
    elements = contents or list(item.iter(f"{_MEDIA}thumbnail"))
    captions = frozenset(
        plain_text(element.text or "") for element in item.iter(f"{_MEDIA}description")
    )
    description = next(
        (child.text for child in item if child.tag in _DESCRIPTION_TAGS and child.text), None
    )
    return _ItemXml(
        raw_id=raw_id or None,
        permalink=raw_id if permanent else None,
        media=tuple(m for e in elements if (m := _media_element(e, item))),
        captions=captions - {""},
        description=description,
    )


def _media_element(element: etree._Element, item: etree._Element) -> Media | None:
    """One media:content/thumbnail; caption and credit from it, its group, or the item."""
    url = absolute(element.base, element.get("url"))
    if not url:
        return None
    scopes = [element, element.getparent(), item]
    size = element.get("fileSize") or ""
    return Media(
        url=url,
        type=element.get("type"),
        length=int(size) if size.isdigit() else None,
        caption=_first_text(scopes, "description"),
        credit=_first_text(scopes, "credit"),
    )


def _first_text(scopes: Sequence[etree._Element | None], name: str) -> str | None:
    for scope in scopes:
        found = scope.find(f"{_MEDIA}{name}") if scope is not None else None
        if found is not None and (found.text or "").strip():
            text = found.text
            return plain_text(text) if found.get("type") == "html" else collapse_whitespace(text)
    return None
