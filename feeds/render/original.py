"""Fields shown as written because their source does not translate them, marked as such.

A source may translate only some fields (``translate = ["title"]``): the others are shown in
the article's own language inside a feed that declares another. Readers (screen readers,
hyphenation, spell checkers) and validators go by the declared language, so such a field says
its own: ``lang`` (and ``dir`` for right-to-left scripts) on a wrapper of its HTML, ``xml:lang``
on its Atom element.
"""

from __future__ import annotations

from babel import Locale

from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.types import LocalizedEntry, same_language


def original_language(entry: LocalizedEntry, field: str) -> str | None:
    """The language ``field`` (``title``, ``summary``, ``content``, ``media``) is shown in when
    it is kept untranslated in a language other than the entry's, else None (inherited)."""
    if field not in entry.original_fields or not entry.original_language:
        return None
    if same_language(entry.original_language, entry.language):
        return None
    return normalize_language(entry.original_language)


def language_attributes(language: str) -> dict[str, str]:
    """``lang`` for ``language``, and ``dir`` when its script is written right to left."""
    locale = Locale.parse(language.replace("-", "_"))
    if locale.character_order == "right-to-left":
        return {"lang": language, "dir": "rtl"}
    return {"lang": language}


def marked(html: str, language: str) -> str:
    """``html`` in a ``div`` that declares ``language`` (and its direction if right-to-left)."""
    attributes = "".join(
        f' {key}="{value}"' for key, value in language_attributes(language).items()
    )
    return f"<div{attributes}>{html}</div>"


def field_html(entry: LocalizedEntry, field: str, html: str) -> str:
    """``html`` of ``field``, marked with its language when it is kept untranslated."""
    language = original_language(entry, field)
    return marked(html, language) if language and html else html
