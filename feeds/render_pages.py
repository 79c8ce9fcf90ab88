"""The discovery page (index.html) and one OPML subscription list per language.

Both are built with lxml rather than string templates, so every interpolated title, URL and
date is escaped by the serialiser, not by remembering to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from babel.dates import format_datetime
from lxml import etree
from lxml.html import builder as E
from lxml.html import tostring

from feeds.render_meta import (
    ATOM_FILE,
    EPOCH,
    JSON_FILE,
    MIME_ATOM,
    MIME_JSON,
    MIME_OPML,
    MIME_RSS,
    OPML_FILE,
    RSS_FILE,
    FeedSettings,
)

#: (file name, MIME type, label) of each format, in the order pages list them.
FORMATS = (
    (RSS_FILE, MIME_RSS, "RSS"),
    (ATOM_FILE, MIME_ATOM, "Atom"),
    (JSON_FILE, MIME_JSON, "JSON Feed"),
    (OPML_FILE, MIME_OPML, "OPML"),
)


def _updated_text(language: str, updated: datetime) -> str:
    """The last change, formatted the way a reader of ``language`` expects."""
    if updated == EPOCH:
        return "—"
    return format_datetime(updated, format="medium", tzinfo=None, locale=language.replace("-", "_"))


def render_index(settings: FeedSettings, updated: Mapping[str, datetime]) -> bytes:
    """index.html: ``<link rel=alternate>`` discovery tags and a human-readable list of feeds."""
    head = E.HEAD(E.META(charset="utf-8"), E.TITLE(settings.generator))
    sections = []
    for language in settings.languages:
        items = []
        for name, mime, label in FORMATS:
            url = settings.url(f"{language}/{name}")
            if mime != MIME_OPML:
                head.append(
                    E.LINK(
                        rel="alternate",
                        type=mime,
                        hreflang=language,
                        title=f"{settings.title(language)} ({label})",
                        href=url,
                    )
                )
            items.append(E.LI(E.A(label, href=url, type=mime, hreflang=language)))
        stamp = _updated_text(language, updated.get(language, EPOCH))
        sections.append(
            E.SECTION(
                E.H2(settings.title(language)),
                E.P(settings.description(language)),
                E.P(stamp, E.CLASS("updated")),
                E.UL(*items),
                lang=language,
                id=language,
            )
        )
    body = E.BODY(E.H1(settings.generator), *sections)
    document = E.HTML(head, body, lang=settings.languages[0])
    return b"<!DOCTYPE html>\n" + bytes(tostring(document, encoding="utf-8", pretty_print=True))


def render_opml(settings: FeedSettings, language: str) -> bytes:
    """An OPML 2.0 list a reader can import: the RSS feed (the most widely read format)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = settings.title(language)
    body = etree.SubElement(opml, "body")
    etree.SubElement(
        body,
        "outline",
        type="rss",
        text=settings.title(language),
        title=settings.title(language),
        language=language,
        xmlUrl=settings.url(f"{language}/{RSS_FILE}"),
        htmlUrl=settings.url("index.html"),
    )
    return bytes(etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True))
