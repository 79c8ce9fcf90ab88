"""Entries cleaned of the characters XML 1.0 cannot carry, before any writer sees them."""

from __future__ import annotations

import re
from dataclasses import replace

from lingofeed.feeds.types import LocalizedEntry

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
