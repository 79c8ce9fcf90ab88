"""What rendering needs to know besides the entries: settings, language tags, ids, URLs.

Kept apart from the format writers so RSS, Atom, JSON Feed, index.html and OPML agree on every
URL, id and title: a reader that follows a link from one document to another lands on the same
names. Contains no I/O.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from babel import Locale, UnknownLocaleError

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.types import LocalizedEntry

#: Scheme of the ``machine-translated`` category, so programs can tell it from editors' tags.
MARKER_SCHEME = "https://lingofeed.invalid/ns/markers"
MARKER_TERM = "machine-translated"
#: Feed-level ``updated`` of a feed without entries: fixed, so an empty feed re-renders identically.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The file names of one language's feed family, relative to the language directory.
RSS_FILE = "feed.xml"
ATOM_FILE = "atom.xml"
JSON_FILE = "feed.json"
OPML_FILE = "feeds.opml"
INDEX_FILE = "index.html"

MIME_RSS = "application/rss+xml"
MIME_ATOM = "application/atom+xml"
MIME_JSON = "application/feed+json"
MIME_OPML = "text/x-opml"

# babel has language names but no word for "News": a few defaults, English otherwise.
_NEWS_WORD = {"en": "News", "fr": "Actualités", "de": "Nachrichten", "es": "Noticias",
              "it": "Notizie", "pt": "Notícias", "nl": "Nieuws"}  # fmt: skip
_DEFAULT_NOTICE = {
    "en": "Machine-translated from {language}. Read the original: {link}",
    "fr": "Traduit automatiquement de la version originale ({language}). Original : {link}",
}
#: For an article written in the feed's language with some passages machine translated.
_DEFAULT_NOTICE_PARTIAL = {
    "en": "Some passages were machine translated. Read the original: {link}",
    "fr": "Certains passages ont été traduits automatiquement. Original : {link}",
}


class RenderError(LingofeedError, ValueError):
    """An entry or setting cannot be rendered; the message names the item or setting."""


def normalize_language(code: str) -> str:
    """Return the BCP 47 form of a language code (``en_US`` -> ``en-US``, ``PT_br`` -> ``pt-BR``).

    Validators reject POSIX-style tags (``InvalidLanguage``) and readers compare tags as
    strings, so every tag we write goes through here. Raises RenderError for unknown codes.
    """
    try:
        locale = Locale.parse(code.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError) as error:
        raise RenderError(f"not a language code: {code!r}") from error
    parts = [locale.language]
    if locale.script:
        parts.append(locale.script)
    if locale.territory:
        parts.append(locale.territory)
    return "-".join(parts)


def language_name(code: str, in_language: str) -> str:
    """The name of language ``code`` written in ``in_language`` ("anglais" for en in fr)."""
    locale = Locale.parse(normalize_language(code).replace("-", "_"))
    target = Locale.parse(normalize_language(in_language).replace("-", "_"))
    return locale.get_display_name(target) or code


@dataclass(frozen=True)
class LanguageMeta:
    """What an operator may configure for one language's feeds; None means the default."""

    title: str | None = None
    description: str | None = None
    #: Machine-translation notice; ``{language}`` is the original language's name and
    #: ``{link}`` becomes a link to the original. Plain text: it is escaped when rendered.
    notice: str | None = None
    #: Notice for an article written in this language where only some passages (a quoted
    #: caption, a foreign sentence) were machine translated; same placeholders and escaping.
    notice_partial: str | None = None


@dataclass(frozen=True)
class FeedSettings:
    """Everything rendering needs besides the entries; one per site, passed down explicitly."""

    #: Public URL the output directory is served at, e.g. ``https://news.example/feeds/``.
    base_url: str
    #: Every language published (source language and targets), BCP 47; order is display order.
    languages: tuple[str, ...]
    meta: Mapping[str, LanguageMeta] = field(default_factory=dict, hash=False)
    #: Entries in feed.xml and feed.json; atom.xml also keeps entries not yet archived.
    item_limit: int = 50
    #: Entries per RFC 5005 archive page; pages are only written once full, so they never change.
    archive_page_size: int = 100
    hub_url: str | None = None
    generator: str = "lingofeed"
    #: Feed author, required by Atom when entries have none.
    author: str = "lingofeed"
    #: Date part of the ``tag:`` URIs used as ids: a date the operator owned the host name.
    tag_date: str = "2024"

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/") or not urlsplit(self.base_url).hostname:
            raise RenderError(f"base_url must be an absolute URL ending in '/': {self.base_url!r}")
        if not self.languages:
            raise RenderError("languages: at least one language is needed")
        if self.item_limit < 1 or self.archive_page_size < 1:
            raise RenderError("item_limit and archive_page_size must be at least 1")
        tags = tuple(normalize_language(code) for code in self.languages)
        object.__setattr__(self, "languages", tags)
        meta = {normalize_language(code): value for code, value in self.meta.items()}
        object.__setattr__(self, "meta", meta)

    @property
    def host(self) -> str:
        """Host name of the public URL, the authority of every ``tag:`` id."""
        return urlsplit(self.base_url).hostname or ""

    def url(self, path: str) -> str:
        """Public URL of a published file, ``path`` relative to the output directory."""
        return self.base_url + path

    def title(self, language: str) -> str:
        """Feed title: configured, or "News (English)" in the language itself."""
        configured = self.meta.get(language, LanguageMeta()).title
        if configured:
            return configured
        word = _NEWS_WORD.get(language.split("-")[0], _NEWS_WORD["en"])
        return f"{word} ({language_name(language, language)})"

    def description(self, language: str) -> str:
        """Feed description: configured, or the title (RSS requires one)."""
        return self.meta.get(language, LanguageMeta()).description or self.title(language)


def notice_html(settings: FeedSettings, entry: LocalizedEntry) -> str | None:
    """The per-entry machine-translation notice as an HTML paragraph, or None if not needed.

    An article written in the feed's language with a few translated passages gets the
    partial notice: "translated from English" on an English original would be untrue.
    """
    if not entry.machine_translated:
        return None
    meta = settings.meta.get(entry.language, LanguageMeta())
    template, defaults = (
        (meta.notice_partial, _DEFAULT_NOTICE_PARTIAL)
        if entry.partly_translated
        else (meta.notice, _DEFAULT_NOTICE)
    )
    if template is None:
        template = defaults.get(entry.language.split("-")[0], defaults["en"])
    original = entry.original_language
    name = language_name(original, entry.language) if original else "?"
    if not entry.link:
        template = without_link(template)
    link = (
        f'<a href="{html.escape(entry.link)}">{html.escape(entry.link)}</a>' if entry.link else ""
    )
    text = html.escape(template).replace("{language}", html.escape(name))
    return f'<p class="lingofeed-notice">{text.replace("{link}", link)}</p>'


def without_link(template: str) -> str:
    """A notice template for an entry with no link to its original.

    "Machine-translated from {language}. Read the original: {link}" would end in a dangling
    "Read the original:"; drop the sentence that holds ``{link}`` (or, in a one-sentence
    template, the placeholder and the punctuation before it).
    """
    if "{link}" not in template:
        return template
    head, _, tail = template.partition("{link}")
    end = head.rfind(". ")
    if end >= 0:
        return head[: end + 1] + tail.lstrip(" .")
    return head.rstrip(" :,;-—") + tail


def entry_id(settings: FeedSettings, entry: LocalizedEntry, fmt: str) -> str:
    """A stable ``tag:`` URI for one entry in one language and format.

    Derived only from source id, upstream id, language and format, so edits, re-renders and
    moving the output directory keep it; distinct per language and format because newsboat
    keys items by id across every subscribed feed.
    """
    digest = hashlib.sha256(f"{entry.source_id}\0{entry.upstream_id}".encode()).hexdigest()[:24]
    source = quote(entry.source_id, safe="")
    return (
        f"tag:{settings.host},{settings.tag_date}:{source}/{digest}/"
        f"{normalize_language(entry.language)}/{fmt}"
    )


def feed_id(settings: FeedSettings, language: str) -> str:
    """The Atom feed id of one language (shared by atom.xml and its archive pages, RFC 5005)."""
    return f"tag:{settings.host},{settings.tag_date}:feeds/{language}"


def entry_updated(entry: LocalizedEntry) -> datetime:
    """When this language's content last changed; falls back to published.

    Raises RenderError naming the entry when neither date is known, instead of inventing "now"
    (which would make every re-render look like an update).
    """
    value = entry.updated or entry.published
    if value is None:
        raise RenderError(
            f"entry {entry.upstream_id!r} of source {entry.source_id!r} ({entry.language}) "
            "has neither updated nor published date"
        )
    return value


def age_key(entry: LocalizedEntry) -> tuple[datetime, str, str]:
    """Sort key by age: published date (stable across edits), then ids to break ties."""
    return (entry.published or entry_updated(entry), entry.source_id, entry.upstream_id)


def feed_updated(entries: Sequence[LocalizedEntry]) -> datetime:
    """Feed-level updated: the newest entry change, never the time of rendering."""
    return max((entry_updated(entry) for entry in entries), default=EPOCH)


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


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str | None) -> str | None:
    return _NOT_XML.sub("", value) if value is not None else None


def xml_safe(entry: LocalizedEntry) -> LocalizedEntry:
    """The entry without characters XML cannot carry (lxml refuses them, failing the feed).

    Upstream text is sanitised as HTML, not as XML 1.0, so a stray control character in one
    title would otherwise stop every feed of the language from being written.
    """
    media = tuple(
        replace(
            item,
            caption=_xml_text(item.caption),
            credit=_xml_text(item.credit),
            alt=_xml_text(item.alt),
        )
        for item in entry.media
    )
    categories = tuple(filter(None, (_xml_text(term) for term in entry.categories)))
    return replace(
        entry,
        title=_xml_text(entry.title) or "(untitled)",
        summary=_xml_text(entry.summary),
        content=_xml_text(entry.content),
        author=_xml_text(entry.author),
        categories=categories,
        media=media,
    )
