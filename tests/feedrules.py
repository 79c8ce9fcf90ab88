"""Offline checks of the W3C feed validator rules our feeds have broken before, plus reader rules.

Reusable by any test: ``assert_valid_rss(data)``, ``assert_valid_atom(data)``,
``assert_valid_json_feed(data)``. Each parses with feedparser (no bozo) and with lxml, then
checks what the validator reports (DuplicateAtomLink, InvalidFullLink, InvalidLanguage,
InvalidMIMEType, InvalidUriChar, ArchiveIncomplete, MissingCurrentInArchive,
MissingContentOrAlternate, bad dates) and what readers trip on (more than one alternate link per
entry, duplicate ids within a feed, an empty ``<p></p>`` body); ``assert_distinct_updated``
checks DuplicateUpdated. Failures name the entry.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import feedparser
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|\d{3}))?$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} ([+-]\d{4}|GMT|UT)$"
)
FULL_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$")
TAG_URI = re.compile(r"^tag:[a-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?:[^\s]+$")
HTTP_URL = re.compile(r"^https?://[^\s/]+[^\s]*$")
#: Only the characters RFC 3986 allows in a URI (raw spaces, non-ASCII: InvalidUriChar).
URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
FH = "{http://purl.org/syndication/history/1.0}"
#: Markup a reader shows without text in it.
SHOWN_WITHOUT_TEXT = re.compile(r"<\s*(?:img|video|audio|picture|source|hr)\b", re.I)
ATOM_TEXT_TYPES = {"text", "html", "xhtml"}


def assert_language(tag: str | None, where: str) -> None:
    """BCP 47 in canonical case (``en``, ``pt-BR``), never ``en_US`` (InvalidLanguage)."""
    assert tag is not None and BCP47.match(tag), f"{where}: not a BCP 47 tag: {tag!r}"


def assert_id(value: str | None, where: str) -> None:
    """Ids must be full URIs (InvalidFullLink); tag: URIs must be well formed."""
    assert value and FULL_URI.match(value), f"{where}: id is not a full URI: {value!r}"
    if value.startswith("tag:"):
        assert TAG_URI.match(value), f"{where}: malformed tag: URI {value!r}"


def assert_url(value: str | None, where: str) -> None:
    """An absolute http(s) URL made only of URI characters (InvalidUriChar)."""
    assert value and HTTP_URL.match(value), f"{where}: not an http(s) URL: {value!r}"
    assert URI_CHARS.match(value), f"{where}: InvalidUriChar in {value!r}"


def assert_body(html: str | None, where: str) -> None:
    """A published HTML body shows something: never an empty ``<p></p>``."""
    text = re.sub(r"<[^>]*>", "", html or "").strip()
    assert text or SHOWN_WITHOUT_TEXT.search(html or ""), f"{where}: empty body {html!r}"


def _parse(data: bytes, what: str) -> tuple[Any, Any]:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{what}: feedparser bozo: {parsed.get('bozo_exception')!r}"
    return parsed, etree.fromstring(data)


def _unique(values: list[str], what: str) -> None:
    duplicates = [value for value, count in Counter(values).items() if count > 1]
    assert not duplicates, f"{what}: duplicate ids {duplicates}"


def _assert_atom_links(parent: Any, where: str, *, entry: bool) -> None:
    links = parent.findall(f"{ATOM}link")
    keys = [
        (link.get("rel", "alternate"), link.get("href"), link.get("type"), link.get("hreflang"))
        for link in links
    ]
    assert len(keys) == len(set(keys)), f"{where}: duplicate links {keys}"
    alternates = [key for key in keys if key[0] == "alternate"]
    by_type_lang = [(key[2], key[3]) for key in alternates]
    assert len(by_type_lang) == len(set(by_type_lang)), f"{where}: DuplicateAtomLink {alternates}"
    if entry:
        assert len(alternates) <= 1, f"{where}: {len(alternates)} alternate links: {alternates}"
    for link in links:
        href = link.get("href")
        assert href and FULL_URI.match(href), f"{where}: link href not absolute: {href!r}"
        assert URI_CHARS.match(href), f"{where}: InvalidUriChar in link {href!r}"
        assert link.get("rel"), f"{where}: link without rel (feedgen bug?): {href}"
        if link.get("hreflang") is not None:
            assert_language(link.get("hreflang"), f"{where} link {href}")
        if link.get("rel") == "enclosure":
            assert link.get("type"), f"{where}: enclosure {href} lost its type"
        if link.get("length") is not None:
            assert link.get("length", "").isdigit(), f"{where}: bad length on {href}"


def _assert_atom_text(element: Any, where: str) -> None:
    kind = element.get("type", "text")
    assert kind in ATOM_TEXT_TYPES or "/" in kind, f"{where}: InvalidMIMEType type={kind!r}"


def _assert_atom_entry(element: Any, where: str, feed_has_author: bool) -> str:
    entry_id = element.findtext(f"{ATOM}id")
    assert_id(entry_id, where)
    where = f"{where} {entry_id}"
    assert element.findtext(f"{ATOM}title") is not None, f"{where}: no title"
    for name in ("updated", "published"):
        value = element.findtext(f"{ATOM}{name}")
        if name == "updated" or value is not None:
            assert value and RFC3339.match(value), f"{where}: {name} not RFC 3339: {value!r}"
    if element.get(XML_LANG) is not None:
        assert_language(element.get(XML_LANG), f"{where} xml:lang")
    texts = element.findall(f"{ATOM}content") + element.findall(f"{ATOM}summary")
    alternate = [e for e in element.findall(f"{ATOM}link") if e.get("rel") == "alternate"]
    assert texts or alternate, f"{where}: MissingContentOrAlternate"
    for text in texts:
        _assert_atom_text(text, where)
        if text.get("type") == "html":
            assert_body(text.text, f"{where} {text.tag}")
        elif not text.text:
            assert not alternate, f"{where}: empty {text.tag} though it has a link"
    if not feed_has_author:
        assert element.find(f"{ATOM}author") is not None, f"{where}: no author"
    _assert_atom_links(element, where, entry=True)
    return str(entry_id)


def assert_valid_atom(data: bytes) -> Any:
    """Check an Atom 1.0 document; returns feedparser's result for further checks."""
    parsed, root = _parse(data, "atom")
    assert root.tag == f"{ATOM}feed", f"atom: root is {root.tag}"
    assert_id(root.findtext(f"{ATOM}id"), "atom feed")
    assert root.findtext(f"{ATOM}title"), "atom feed: no title"
    updated = root.findtext(f"{ATOM}updated")
    assert updated and RFC3339.match(updated), f"atom feed: updated not RFC 3339: {updated!r}"
    if root.get(XML_LANG) is not None:
        assert_language(root.get(XML_LANG), "atom feed xml:lang")
    rels = [link.get("rel") for link in root.findall(f"{ATOM}link")]
    assert rels.count("self") == 1, f"atom feed: {rels.count('self')} self links"
    _assert_atom_links(root, "atom feed", entry=False)
    has_author = root.find(f"{ATOM}author") is not None
    ids = [_assert_atom_entry(e, "atom entry", has_author) for e in root.findall(f"{ATOM}entry")]
    _unique(ids, "atom")
    if root.find(f"{FH}archive") is not None:
        assert "current" in rels, "atom archive page: MissingCurrentInArchive"
        assert {"prev-archive", "next-archive"} & set(rels), "atom archive page: ArchiveIncomplete"
    for entry in parsed.entries:
        alternates = [link for link in entry.get("links", []) if link.get("rel") == "alternate"]
        assert len(alternates) <= 1, f"atom (feedparser) {entry.id}: alternates {alternates}"
    return parsed


def assert_distinct_updated(data: bytes) -> None:
    """No two Atom entries share an ``updated`` (DuplicateUpdated). Not part of
    ``assert_valid_atom``: two upstream items may really carry the same date; only dates we
    give undated items must be distinct."""
    root = etree.fromstring(data)
    dates = [entry.findtext(f"{ATOM}updated") for entry in root.findall(f"{ATOM}entry")]
    shared = [value for value, count in Counter(dates).items() if count > 1]
    assert not shared, f"atom: DuplicateUpdated {shared}"


def assert_valid_rss(data: bytes) -> Any:
    """Check an RSS 2.0 document; returns feedparser's result for further checks."""
    parsed, root = _parse(data, "rss")
    assert root.tag == "rss" and root.get("version") == "2.0", "rss: not an RSS 2.0 document"
    channel = root.find("channel")
    for name in ("title", "link", "description"):
        assert channel.findtext(name), f"rss channel: no {name}"
    assert HTTP_URL.match(channel.findtext("link")), "rss channel: link is not a URL"
    if channel.find("language") is not None:
        assert_language(channel.findtext("language"), "rss channel language")
    for name in ("lastBuildDate", "pubDate"):
        value = channel.findtext(name)
        assert value is None or RFC822.match(value), f"rss channel: {name} not RFC 822: {value!r}"
    rels = [link.get("rel") for link in channel.findall(f"{ATOM}link")]
    assert rels.count("self") == 1, "rss channel: needs exactly one atom:link rel=self"
    _assert_atom_links(channel, "rss channel", entry=False)
    ids = []
    for item in channel.findall("item"):
        guid = item.findtext("guid")
        where = f"rss item {guid}"
        assert_id(guid, where)
        ids.append(str(guid))
        assert item.findtext("title") or item.findtext("description"), f"{where}: empty"
        assert len(item.findall("link")) <= 1, f"{where}: more than one link"
        link = item.findtext("link")
        if link is not None:
            assert_url(link, f"{where} link")
        for name in ("description", "{http://purl.org/rss/1.0/modules/content/}encoded"):
            if item.find(name) is not None:
                assert_body(item.findtext(name), f"{where} {name}")
        date = item.findtext("pubDate")
        assert date is None or RFC822.match(date), f"{where}: pubDate not RFC 822: {date!r}"
        assert len(item.findall("enclosure")) <= 1, f"{where}: more than one enclosure"
        for enclosure in item.findall("enclosure"):
            assert HTTP_URL.match(enclosure.get("url", "")), f"{where}: enclosure url"
            assert enclosure.get("length", "").isdigit(), f"{where}: enclosure length"
            assert "/" in enclosure.get("type", ""), f"{where}: enclosure type"
        assert item.find("author") is None or "@" in item.findtext("author", ""), (
            f"{where}: RSS author must be an e-mail address (use dc:creator)"
        )
    _unique(ids, "rss")
    return parsed


def assert_valid_json_feed(data: bytes) -> dict[str, Any]:
    """Check a JSON Feed 1.1 document; returns the decoded object."""
    feed = json.loads(data)
    assert feed.get("version") == "https://jsonfeed.org/version/1.1", "json: version"
    assert isinstance(feed.get("title"), str) and feed["title"], "json: title"
    for key in ("home_page_url", "feed_url"):
        assert key not in feed or HTTP_URL.match(feed[key]), f"json: {key} not a URL"
    if "language" in feed:
        assert_language(feed["language"], "json feed language")
    assert isinstance(feed.get("items"), list), "json: items must be a list"
    ids = []
    for item in feed["items"]:
        item_id = item.get("id")
        where = f"json item {item_id}"
        assert isinstance(item_id, str) and item_id, f"{where}: id must be a non-empty string"
        ids.append(item_id)
        assert "content_html" in item or "content_text" in item, f"{where}: no content"
        if "content_html" in item:
            assert_body(item["content_html"], f"{where} content_html")
        for key in ("date_published", "date_modified"):
            value = item.get(key)
            assert value is None or RFC3339.match(value), f"{where}: {key} not RFC 3339"
        for key in ("url", "external_url", "image"):
            if key in item:
                assert_url(item[key], f"{where} {key}")
        if "language" in item:
            assert_language(item["language"], f"{where} language")
        for attachment in item.get("attachments", []):
            assert HTTP_URL.match(attachment["url"]), f"{where}: attachment url"
            assert "/" in attachment["mime_type"], f"{where}: attachment mime_type"
    _unique(ids, "json")
    return dict(feed)


def assert_all_valid(files: Mapping[str, bytes]) -> None:
    """Every feed of a rendered site by its own format's rules (RSS, Atom pages, JSON Feed)."""
    for path, data in files.items():
        if path.endswith("feed.xml"):
            assert_valid_rss(data)
        elif path.endswith(".xml"):
            assert_valid_atom(data)
        elif path.endswith(".json"):
            assert_valid_json_feed(data)
