"""How a machine-translated entry says so: the notice readers see, the category programs read."""

from __future__ import annotations

import html

from lingofeed.feeds.render.languages import language_name
from lingofeed.feeds.render.original import original_language
from lingofeed.feeds.render.settings import FeedSettings, LanguageMeta
from lingofeed.feeds.types import LocalizedEntry

#: Scheme of the ``machine-translated`` category, so programs can tell it from editors' tags.
MARKER_SCHEME = "https://lingofeed.invalid/ns/markers"
MARKER_TERM = "machine-translated"
_DEFAULT_NOTICE = {
    "en": "Machine-translated from {language}. Read the original: {link}",
    "fr": "Traduit automatiquement de la version originale ({language}). Original : {link}",
}
#: For a translated article whose text is shown as written (its source translates titles only).
_DEFAULT_NOTICE_ORIGINAL_TEXT = {
    "en": "Machine-translated from {language}, except the article text, which is the original. "
    "Read the original: {link}",
    "fr": "Traduit automatiquement ({language}), sauf le texte de l'article, qui est l'original. "
    "Original : {link}",
}
#: For an article written in the feed's language with some passages machine translated.
_DEFAULT_NOTICE_PARTIAL = {
    "en": "Some passages were machine translated. Read the original: {link}",
    "fr": "Certains passages ont été traduits automatiquement. Original : {link}",
}


def notice_html(settings: FeedSettings, entry: LocalizedEntry) -> str | None:
    """The per-entry machine-translation notice as an HTML paragraph, or None if not needed.

    An article written in the feed's language with a few translated passages gets the
    partial notice: "translated from English" on an English original would be untrue. One whose
    text is kept in its own language (the source translates only titles) says that instead.
    """
    if not entry.machine_translated:
        return None
    meta = settings.meta.get(entry.language, LanguageMeta())
    body = "content" if entry.content else "summary"
    if entry.partly_translated:
        template, defaults = meta.notice_partial, _DEFAULT_NOTICE_PARTIAL
    elif original_language(entry, body) is not None:
        template, defaults = meta.notice_original_text, _DEFAULT_NOTICE_ORIGINAL_TEXT
    else:
        template, defaults = meta.notice, _DEFAULT_NOTICE
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
