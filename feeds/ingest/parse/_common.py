"""What the JSON Feed and RSS/Atom readers share: the parsed shape and field clean-up.

Contains no format knowledge: ids for entries that have none, language tags, text as HTML,
categories and media de-duplicated, and the rule that only web URLs survive.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from lingofeed.feeds.sanitize import collapse_whitespace
from lingofeed.feeds.types import EntryData, Media

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_WEB_SCHEMES = frozenset({"http", "https"})
#: What stays as is in a URL's path, query and fragment: RFC 3986 reserved and unreserved
#: characters and ``%`` (already-encoded octets); spaces, non-ASCII and the rest get encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"
#: A ``%`` that does not start an encoded octet (``100%``): encoded itself.
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class ParsedFeed:
    """One upstream document: feed-level metadata and its entries (newest kept)."""

    title: str
    link: str | None
    language: str | None
    entries: tuple[EntryData, ...]


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


def categories(terms: Iterable[object]) -> tuple[str, ...]:
    """Non-blank terms, whitespace collapsed, first occurrence kept."""
    seen: dict[str, None] = {}
    for term in terms:
        text = collapse_whitespace(term) if isinstance(term, str) else ""
        if text:
            seen.setdefault(text)
    return tuple(seen)


def dedupe_media(media: Iterable[Media]) -> tuple[Media, ...]:
    """First occurrence per URL (media:content wins over the same file as an enclosure)."""
    seen: dict[str, Media] = {}
    for item in media:
        seen.setdefault(item.url, item)
    return tuple(seen.values())


def absolute(base: str | None, value: object) -> str | None:
    """``value`` resolved against ``base`` if it is then an http(s) URL; None otherwise.

    Readers follow item links and load media: a ``javascript:`` or ``data:`` URL there would
    run or inline whatever upstream chose, so only web URLs are kept, and they are returned
    percent-encoded (``web_url``) because upstream often sends IRIs or raw spaces.
    """
    text = non_blank(value)
    if not text:
        return None
    return web_url(urljoin(base, text.strip()) if base else text.strip())


def web_url(url: str) -> str | None:
    """``url`` as a valid absolute http(s) URI, or None when it is not a web URL with a host.

    Raw spaces, non-ASCII characters and stray ``%`` are percent-encoded as UTF-8 and an
    international host name becomes IDNA, so a published link never carries a character
    the W3C validator rejects (InvalidUriChar); an already-encoded URL comes back unchanged.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # a bad port or bracketed host
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not host:
        return None
    netloc = parts.netloc
    if not netloc.isascii() or any(char.isspace() for char in netloc):
        try:
            netloc = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        netloc += f":{port}" if port is not None else ""
    if any(char.isspace() for char in netloc):
        return None
    path, query, fragment = (_encode(part) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _encode(part: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", part), safe=_URL_SAFE)


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def non_blank(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
