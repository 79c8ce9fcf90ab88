"""Turn an upstream feed body (RSS 0.9x/1.0/2.0, Atom 1.0, JSON Feed 1.1) into ``EntryData``.

feedparser reads the XML formats (dates, encodings, text constructs, relative links). Two things
it gets wrong for us are read again from the XML with a locked-down lxml parser:

- ids: feedparser resolves a non-URI id ("slug-1") against the feed URL, so the id would change
  when the feed moves; we keep the id exactly as upstream wrote it.
- media RSS: feedparser drops ``media:description`` into the entry's *content* and loses which
  caption and credit belong to which image.

JSON Feed is plain ``json``. Every HTML field passes through ``sanitize_html``; titles, captions
and categories become plain text. XML may never fetch external entities or DTDs, and entity
expansion is bounded (expat's and libxml2's amplification limits; see the tests).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from feeds.errors import ParseError
from feeds.sanitize import collapse_whitespace, plain_text, sanitize_html
from feeds.types import EntryData, Media, Source

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
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_WEB_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class ParsedFeed:
    """One upstream document: feed-level metadata and its entries (newest kept)."""

    title: str
    link: str | None
    language: str | None
    entries: tuple[EntryData, ...]


def parse_feed(
    source: Source, body: bytes, *, base_url: str | None, content_type: str | None
) -> ParsedFeed:
    """Parse ``body``; JSON Feed if the content type says JSON or the body looks like JSON.

    ``base_url`` (the final URL after redirects) resolves relative links. Raises ``ParseError``
    naming the source and the reason when the body is not a usable feed.
    """
    if _looks_like_json(body, content_type):
        feed = _parse_json_feed(source, body, base_url)
    else:
        feed = _parse_xml_feed(source, body, base_url, content_type)
    return ParsedFeed(
        feed.title, feed.link, feed.language, keep_newest(feed.entries, source.item_limit)
    )


def keep_newest(entries: Sequence[EntryData], limit: int | None) -> tuple[EntryData, ...]:
    """The ``limit`` newest entries (by published, else updated), in their original order.

    Undated entries rank after dated ones, in document order (feeds list newest first).
    """
    if limit is None or len(entries) <= limit:
        return tuple(entries)

    def rank(index: int) -> tuple[int, float, int]:
        when = entries[index].published or entries[index].updated
        return (0, -when.timestamp(), index) if when else (1, 0.0, index)

    kept = set(sorted(range(len(entries)), key=rank)[:limit])
    return tuple(entry for index, entry in enumerate(entries) if index in kept)


def stable_id(title: str, published: datetime | None, link: str | None = None) -> str:
    """The id of an entry that has none: the link, else a hash of title and date.

    Never anything that changes from one fetch to the next (such as the fetch time).
    """
    if link:
        return link
    stamp = published.isoformat() if published else ""
    digest = hashlib.sha256(f"{title}\n{stamp}".encode()).hexdigest()[:32]
    return f"urn:lingofeed:sha256:{digest}"


def normalize_language(tag: object) -> str | None:
    """BCP 47 spelling of a declared language (``en_US`` -> ``en-US``), or None if blank."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    return tag.strip().replace("_", "-")


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate paragraphs)."""
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)


# -- JSON Feed -----------------------------------------------------------------------------------


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(source: Source, body: bytes, base_url: str | None) -> ParsedFeed:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ParseError(source.id, source.location, reason) from exc
    except UnicodeDecodeError as exc:
        raise ParseError(source.id, source.location, "JSON is not UTF-8") from exc
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ParseError(source.id, source.location, "not a JSON Feed: no 'items' list")
    base = _str(document.get("feed_url")) or base_url
    language = normalize_language(document.get("language"))
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(source.id, source.location, f"JSON Feed item {index} is not an object")
        entries.append(_json_entry(item, base, language))
    return ParsedFeed(
        title=collapse_whitespace(_str(document.get("title")) or ""),
        link=_absolute(base, document.get("home_page_url")),
        language=language,
        entries=tuple(entries),
    )


def _json_entry(item: Mapping[str, Any], base: str | None, language: str | None) -> EntryData:
    link = _absolute(base, item.get("url")) or _absolute(base, item.get("external_url"))
    content = _str(item.get("content_html"))
    if content is None and _str(item.get("content_text")):
        content = text_to_html(str(item["content_text"]))
    summary = _str(item.get("summary"))
    title = collapse_whitespace(_str(item.get("title")) or "")
    published = _iso_datetime(item.get("date_published"))
    authors = _list(item.get("authors")) or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    names = [str(a["name"]) for a in authors if isinstance(a, dict) and _str(a.get("name"))]
    raw_id = item.get("id")
    return EntryData(
        upstream_id=str(raw_id) if raw_id not in (None, "") else stable_id(title, published, link),
        title=title,
        link=link,
        summary=sanitize_html(text_to_html(summary), link or base) if summary else None,
        content=sanitize_html(content, link or base) or None if content else None,
        author=", ".join(names) or None,
        categories=_categories(_list(item.get("tags"))),
        media=_dedupe_media(_json_media(item, base)),
        published=published,
        updated=_iso_datetime(item.get("date_modified")),
        language=normalize_language(item.get("language")) or language,
    )


def _json_media(item: Mapping[str, Any], base: str | None) -> Iterable[Media]:
    image = _absolute(base, item.get("image"))
    if image:
        yield Media(url=image)
    for attachment in _list(item.get("attachments")):
        url = _absolute(base, attachment.get("url")) if isinstance(attachment, dict) else None
        if url:
            size = attachment.get("size_in_bytes")
            yield Media(
                url=url,
                type=_str(attachment.get("mime_type")),
                length=size if isinstance(size, int) else None,
                caption=collapse_whitespace(attachment.get("title") or "") or None,
            )


def _iso_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- RSS / Atom ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ItemXml:
    """What we read from an item's XML ourselves: raw id, media, and the RSS description.

    ``captions`` are all ``media:description`` texts: feedparser may have put any of them into
    the entry's summary or content, where they do not belong.
    """

    raw_id: str | None = None
    media: tuple[Media, ...] = ()
    captions: frozenset[str] = frozenset()
    description: str | None = None


def _parse_xml_feed(
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
    language = normalize_language(feed.get("language"))
    entries = tuple(
        _xml_entry(entry, extra, base_url, language)
        for entry, extra in zip(parsed.entries, extras, strict=True)
    )
    return ParsedFeed(
        title=_text_construct(feed.get("title_detail")) or "",
        link=feed.get("link"),
        language=language,
        entries=entries,
    )


def _xml_entry(
    entry: dict[str, Any], extra: _ItemXml, base_url: str | None, feed_language: str | None
) -> EntryData:
    title = _text_construct(entry.get("title_detail"))
    link = _absolute(base_url, entry.get("link"))
    # dict.get: FeedParserDict would quietly answer published_parsed (and warn) instead.
    updated = _struct_time(dict.get(entry, "updated_parsed"))
    # RSS 1.0 dc:date and Atom's required <updated> are the only dates many feeds give.
    published = _struct_time(entry.get("published_parsed")) or updated
    contents = [c for c in entry.get("content", ()) if not _is_caption(c, extra.captions)]
    content = _html_construct(contents[0], base_url) if contents else None
    summary_detail = entry.get("summary_detail")
    if summary_detail and _is_caption(summary_detail, extra.captions):
        summary_detail = _html_detail(extra.description) if extra.description else None
    summary = _html_construct(summary_detail, base_url) if summary_detail else None
    if summary and summary == content:  # feedparser copies the only body into both
        summary = None
    details = [*contents, summary_detail or {}, entry.get("title_detail") or {}]
    language = next((d.get("language") for d in details if d.get("language")), feed_language)
    upstream_id = extra.raw_id or entry.get("id") or stable_id(title, published or updated, link)
    return EntryData(
        upstream_id=upstream_id,
        title=title,
        link=link,
        summary=summary or None,
        content=content or None,
        author=collapse_whitespace(entry.get("author") or "") or None,
        categories=_categories(
            tag.get("term") or tag.get("label") for tag in entry.get("tags", ())
        ),
        media=_dedupe_media([*extra.media, *_enclosures(entry, base_url)]),
        published=published,
        updated=updated,
        language=normalize_language(language),
    )


def _text_construct(detail: Mapping[str, Any] | None) -> str:
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    return plain_text(value) if detail.get("type") in _HTML_TYPES else collapse_whitespace(value)


def _is_caption(detail: Mapping[str, Any], captions: frozenset[str]) -> bool:
    return bool(captions) and plain_text(str(detail.get("value") or "")) in captions


def _html_detail(value: str) -> dict[str, str]:
    """A feedparser-shaped text construct for HTML we read ourselves."""
    return {"type": "text/html", "value": value}


def _html_construct(detail: Mapping[str, Any], base_url: str | None) -> str:
    value = str(detail.get("value") or "")
    if detail.get("type") not in _HTML_TYPES:
        value = text_to_html(value)
    return sanitize_html(value, detail.get("base") or base_url)


def _enclosures(entry: Mapping[str, Any], base_url: str | None) -> Iterable[Media]:
    for link in entry.get("links", ()):
        href = _absolute(base_url, link.get("href"))
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
        media=tuple(m for e in elements if (m := _media_element(e, item))),
        captions=captions - {""},
        description=description,
    )


def _media_element(element: etree._Element, item: etree._Element) -> Media | None:
    """One media:content/thumbnail; caption and credit from it, its group, or the item."""
    url = _absolute(element.base, element.get("url"))
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


# -- shared --------------------------------------------------------------------------------------


def _categories(terms: Iterable[object]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for term in terms:
        text = collapse_whitespace(term) if isinstance(term, str) else ""
        if text:
            seen.setdefault(text)
    return tuple(seen)


def _dedupe_media(media: Iterable[Media]) -> tuple[Media, ...]:
    """First occurrence per URL (media:content wins over the same file as an enclosure)."""
    seen: dict[str, Media] = {}
    for item in media:
        seen.setdefault(item.url, item)
    return tuple(seen.values())


def _absolute(base: str | None, value: object) -> str | None:
    """``value`` resolved against ``base`` if it is then an http(s) URL; None otherwise.

    Readers follow item links and load media: a ``javascript:`` or ``data:`` URL there would
    run or inline whatever upstream chose, so only web URLs are kept.
    """
    text = _str(value)
    if not text:
        return None
    absolute = urljoin(base, text.strip()) if base else text.strip()
    return absolute if urlsplit(absolute).scheme.lower() in _WEB_SCHEMES else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
