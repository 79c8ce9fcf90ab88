"""The discovery page (index.html) and one OPML subscription list per language.

Both are built with lxml rather than string templates, so every interpolated title, URL and
date is escaped by the serialiser, not by remembering to. The page depends only on the entries
and settings (dates are the entries' own, never "now"), so unchanged content re-renders
byte-identically and the publisher leaves it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_date
from lxml import etree
from lxml.html import builder as E
from lxml.html import tostring

from lingofeed.feeds.render.dates import age_key, feed_updated
from lingofeed.feeds.render.formats import (
    ATOM_FILE,
    JSON_FILE,
    MIME_ATOM,
    MIME_JSON,
    MIME_OPML,
    MIME_RSS,
    OPML_FILE,
    RSS_FILE,
)
from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.settings import (
    CHANNEL,
    DEFAULT_FEED,
    SOURCE,
    FeedFamily,
    FeedSettings,
)
from lingofeed.feeds.render.xml_safe import xml_safe
from lingofeed.feeds.types import LocalizedEntry

#: (file name, MIME type, label) of each format, in the order pages list them.
FORMATS = (
    (RSS_FILE, MIME_RSS, "RSS"),
    (ATOM_FILE, MIME_ATOM, "Atom"),
    (JSON_FILE, MIME_JSON, "JSON Feed"),
    (OPML_FILE, MIME_OPML, "OPML"),
)
#: The formats of a feed family (OPML lists families, it is not one).
FEED_FORMATS = tuple(format_ for format_ in FORMATS if format_[1] != MIME_OPML)
#: Entry titles each language's card lists.
LATEST_COUNT = 5

#: The page's own words per language (English for any other); ``{date}`` is a babel date.
_WORDS = {
    "en": {
        "intro": "Machine-translated news feeds, one per language. Add a feed to your feed "
        "reader to follow it; article titles link to the originals.",
        "latest": "Latest articles",
        "subscribe": "Subscribe",
        "updated": "Updated {date}",
        "empty": "No articles yet.",
        "channels": "Channels",
        "sources": "Sources",
        "bilingual": "Bilingual: translation and original",
    },
    "fr": {
        "intro": "Des fils d'actualité traduits automatiquement, un par langue. Ajoutez un fil "
        "à votre lecteur de flux pour le suivre ; les titres renvoient aux articles originaux.",
        "latest": "Derniers articles",
        "subscribe": "S'abonner",
        "updated": "Mis à jour le {date}",
        "empty": "Aucun article pour l'instant.",
        "channels": "Canaux",
        "sources": "Sources",
        "bilingual": "Bilingue : traduction et original",
    },
}

_CSS = """
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#f5f6f8;--card:#fff;
--line:#dfe3e8;--accent:#0a58ca}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa3ad;--bg:#141619;
--card:#1e2125;--line:#33383e;--accent:#7fb2ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:72rem;margin:0 auto;padding:2rem 1rem 3rem}
h1{margin:0 0 .25rem;font-size:1.75rem}
.intro{margin:0 0 1.75rem;color:var(--muted);max-width:46rem}
.feeds{display:grid;gap:1.25rem;align-items:start;
grid-template-columns:repeat(auto-fit,minmax(min(100%,21rem),1fr))}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem}
.card h2{margin:0;font-size:1.25rem;line-height:1.3}
.card p{margin:.25rem 0 0}
.description,.updated,.empty,.latest time{color:var(--muted)}
.updated,.latest time{font-size:.85rem}
.card h3{margin:1.25rem 0 .4rem;font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;
color:var(--muted)}
.latest{list-style:none;margin:0;padding:0}
.latest li{padding:.5rem 0;border-top:1px solid var(--line)}
.latest a{color:var(--fg);font-weight:600;text-decoration:none}
.latest a:hover,.latest a:focus{text-decoration:underline}
.latest time{display:block}
time{unicode-bidi:isolate}
.formats{display:flex;flex-wrap:wrap;gap:.5rem}
.formats a{padding:.3rem .85rem;border:1px solid var(--accent);border-radius:999px;
color:var(--accent);font-size:.9rem;text-decoration:none}
.formats a:hover,.formats a:focus{background:var(--accent);color:var(--card)}
.families{list-style:none;margin:0;padding:0}
.families li{padding:.4rem 0;border-top:1px solid var(--line)}
.families .formats a{padding:.1rem .6rem;font-size:.8rem}
"""


def _words_language(language: str) -> str:
    """The language the page's own words are written in for ``language``'s card."""
    primary = language.split("-")[0]
    return primary if primary in _WORDS else "en"


def _label(element: etree._Element, language: str) -> etree._Element:
    """``element`` (holding the page's words), marked English where it falls back to English."""
    if _words_language(language) != language.split("-")[0]:
        element.set("lang", "en")
    return element


def _locale(language: str) -> Locale:
    return Locale.parse(language.replace("-", "_"))


def _time(value: datetime, language: str) -> etree._Element:
    """A ``<time>`` with the date as a reader of ``language`` writes it (UTC, no time of day)."""
    shown = format_date(value, format="medium", locale=_locale(language))
    return E.TIME(shown, datetime=value.isoformat())


def _updated(entries: Sequence[LocalizedEntry], language: str) -> etree._Element:
    """The "Updated <date>" line: the newest entry change, as the feeds say it."""
    words = _WORDS[_words_language(language)]
    before, _, after = words["updated"].partition("{date}")
    updated = E.P(E.CLASS("updated"), before, _time(feed_updated(entries), language), after)
    return _label(updated, language)


def _web_url(url: str | None) -> str | None:
    """``url`` if it is http(s): only those become hrefs on the page, whatever upstream sent."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _latest_item(entry: LocalizedEntry, language: str) -> etree._Element:
    """One entry: its title linked to the original article, and its published date."""
    title: etree._Element | str = entry.title
    link = _web_url(entry.link)
    if link:
        original = entry.original_language
        hreflang = {"hreflang": normalize_language(original)} if original else {}
        title = E.A(entry.title, href=link, **hreflang)
    item = E.LI(title)
    date = entry.published or entry.updated
    if date is not None:
        item.append(_time(date, language))
    return item


def _card(
    settings: FeedSettings, language: str, entries: Sequence[LocalizedEntry]
) -> etree._Element:
    """One language: its title, description, last change, latest entries and feed links."""
    words = _WORDS[_words_language(language)]
    card = E.SECTION(E.CLASS("card"), E.H2(settings.title(language)), id=language, lang=language)
    if settings.description(language) != settings.title(language):
        card.append(E.P(E.CLASS("description"), settings.description(language)))
    if _locale(language).character_order == "right-to-left":
        card.set("dir", "rtl")
    if entries:
        card.append(_updated(entries, language))
    newest = sorted(entries, key=age_key, reverse=True)[:LATEST_COUNT]
    card.append(_label(E.H3(words["latest"]), language))
    if newest:
        items = [_latest_item(xml_safe(entry), language) for entry in newest]
        card.append(E.OL(E.CLASS("latest"), *items))
    else:
        card.append(_label(E.P(E.CLASS("empty"), words["empty"]), language))
    card.append(
        E.DIV(
            E.CLASS("subscribe"),
            _label(E.H3(words["subscribe"]), language),
            _format_links(settings, DEFAULT_FEED, language, FORMATS),
        )
    )
    if settings.bilingual(language):
        card.append(
            E.DIV(
                E.CLASS("subscribe bilingual"),
                _label(E.H3(words["bilingual"]), language),
                _format_links(settings, DEFAULT_FEED.twin(), language, FEED_FORMATS),
            )
        )
    for kind in (CHANNEL, SOURCE):
        families = [family for family in settings.families_in(language) if family.kind == kind]
        if families:
            card.append(_label(E.H3(words[kind]), language))
            card.append(_family_list(settings, families, language))
    return card


def _format_links(
    settings: FeedSettings,
    family: FeedFamily,
    language: str,
    formats: Sequence[tuple[str, str, str]],
) -> etree._Element:
    """One family's subscribe buttons in one language."""
    links = [
        E.A(label, href=settings.url(family.path(language, name)), type=mime, hreflang=language)
        for name, mime, label in formats
    ]
    return E.P(E.CLASS("formats"), *links)


def _family_list(
    settings: FeedSettings, families: Sequence[FeedFamily], language: str
) -> etree._Element:
    """Every channel (or source) of a language: its title and its feeds."""
    return E.UL(
        E.CLASS("families"),
        *[
            E.LI(
                settings.feed_title(family, language),
                _format_links(settings, family, language, FEED_FORMATS),
                id=f"{language}-{family.kind}-{family.id}" + ("-bilingual" * family.bilingual),
            )
            for family in families
        ],
    )


def _discovery_links(settings: FeedSettings) -> list[etree._Element]:
    """``<link rel=alternate>`` for the default channel and every channel (and their bilingual
    twins), so readers given the page find them; per-source feeds are listed in the page and the
    OPML only (a thousand sources would make a head of thousands of links)."""
    return [
        E.LINK(
            rel="alternate",
            type=mime,
            hreflang=language,
            title=f"{settings.feed_title(family, language)} ({label})",
            href=settings.url(family.path(language, name)),
        )
        for language in settings.languages
        for family in settings.families_in(language)
        if family.kind != SOURCE
        for name, mime, label in FEED_FORMATS
    ]


def render_index(settings: FeedSettings, entries: Mapping[str, Sequence[LocalizedEntry]]) -> bytes:
    """index.html: what this server is, and per language a card to read and subscribe from."""
    first = settings.languages[0]
    head = E.HEAD(
        E.META(charset="utf-8"),
        E.META(name="viewport", content="width=device-width, initial-scale=1"),
        E.TITLE(settings.generator),
        *_discovery_links(settings),
        E.STYLE(_CSS),
    )
    cards = [_card(settings, code, entries.get(code, ())) for code in settings.languages]
    main = E.MAIN(
        E.H1(settings.generator),
        _label(E.P(E.CLASS("intro"), _WORDS[_words_language(first)]["intro"]), first),
        E.DIV(E.CLASS("feeds"), *cards),
    )
    document = E.HTML(head, E.BODY(main), lang=first)
    return b"<!DOCTYPE html>\n" + bytes(tostring(document, encoding="utf-8", pretty_print=True))


def render_opml(settings: FeedSettings, language: str) -> bytes:
    """An OPML 2.0 list a reader can import: every family's RSS feed (the most widely read
    format) in ``language``, the default channel first, then channels, then sources."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = settings.title(language)
    body = etree.SubElement(opml, "body")
    for family in settings.families_in(language):
        title = settings.feed_title(family, language)
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=title,
            title=title,
            language=language,
            xmlUrl=settings.url(family.path(language, RSS_FILE)),
            htmlUrl=settings.url("index.html"),
        )
    return bytes(etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True))
