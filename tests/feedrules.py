"""Offline checks of the W3C feed validator rules our feeds have broken before, plus reader rules.

Reusable by any test: ``assert_valid_rss(data)``, ``assert_valid_atom(data)``,
``assert_valid_json_feed(data)``. Each parses with feedparser (no bozo) and with lxml, then
checks what the validator reports as errors (DuplicateAtomLink, InvalidFullLink, InvalidLanguage,
InvalidMIMEType, bad dates, MissingTextualContent) and what readers trip on (more than one
alternate link per entry, duplicate ids within a feed). Failures name the entry.
"""

from __future__ import annotations

import json
import re
from collections import Counter
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
ATOM_TEXT_TYPES = {"text", "html", "xhtml"}


def assert_language(tag: str | None, where: str) -> None:
    """BCP 47 in canonical case (``en``, ``pt-BR``), never ``en_US`` (InvalidLanguage)."""
    assert tag is not None and BCP47.match(tag), f"{where}: not a BCP 47 tag: {tag!r}"


def assert_id(value: str | None, where: str) -> None:
    """Ids must be full URIs (InvalidFullLink); tag: URIs must be well formed."""
    assert value and FULL_URI.match(value), f"{where}: id is not a full URI: {value!r}"
    if value.startswith("tag:"):
        assert TAG_URI.match(value), f"{where}: malformed tag: URI {value!r}"


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
    assert texts, f"{where}: MissingTextualContent"
    for text in texts:
        _assert_atom_text(text, where)
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
    for entry in parsed.entries:
        alternates = [link for link in entry.links if link.get("rel") == "alternate"]
        assert len(alternates) <= 1, f"atom (feedparser) {entry.id}: alternates {alternates}"
    return parsed


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
        assert link is None or HTTP_URL.match(link), f"{where}: link not a URL: {link!r}"
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
        assert item.get("content_html") or item.get("content_text"), f"{where}: no content"
        for key in ("date_published", "date_modified"):
            value = item.get(key)
            assert value is None or RFC3339.match(value), f"{where}: {key} not RFC 3339"
        for key in ("url", "external_url", "image"):
            assert key not in item or HTTP_URL.match(item[key]), f"{where}: {key} not a URL"
        if "language" in item:
            assert_language(item["language"], f"{where} language")
        for attachment in item.get("attachments", []):
            assert HTTP_URL.match(attachment["url"]), f"{where}: attachment url"
            assert "/" in attachment["mime_type"], f"{where}: attachment mime_type"
    _unique(ids, "json")
    return dict(feed)
