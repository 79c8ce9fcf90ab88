"""Bilingual entries: each translated block followed by its original, both marked with ``lang``.

Peers put the whole original after the whole translation, which leaves a reader scrolling
between the two. Translation keeps every element and its nesting, so the two trees have the
same blocks in the same places and can be interleaved block by block: a paragraph, heading or
preformatted block is followed by its original twin; a list item, caption or table cell (whose
parent allows only such children) holds its translation and its original as two ``div``\\ s.
A block whose text did not change (already in the target language, a code sample, a name) is
shown once. Where the two trees do not have the same blocks (an upstream edit not yet
translated), the whole original follows the whole translation after a rule, the peers' way.

An article written in the feed's language with a few passages translated from others (a
French caption in an English article) shows those passages after their translations too. Their
language was detected sentence by sentence and is not recorded, and a block may mix it with the
feed's, so the original says ``lang=""``: HTML's "language unknown" (no ``lang`` at all would
claim the entry's).
"""

from __future__ import annotations

from dataclasses import replace

from lxml.html import HtmlElement
from lxml.html import builder as E

from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.render.original import language_attributes
from lingofeed.feeds.types import EntryData, LocalizedEntry, Media, same_language
from lingofeed.translations.html import parse_fragment, serialise_fragment

#: Blocks followed by a copy of themselves holding the original.
_TWINNED = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "div"})
#: ``source`` of an original whose language is unknown (a translated passage's).
UNKNOWN_LANGUAGE = ""
#: Every element that lays out blocks; the rest (links, emphasis, images) are inline.
_BLOCKS = _TWINNED | {
    "address", "article", "aside", "caption", "dd", "details", "dl", "dt", "figcaption",
    "figure", "footer", "header", "hr", "li", "main", "nav", "ol", "section", "summary",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip


def bilingual_entry(entry: LocalizedEntry, separator: str) -> LocalizedEntry:
    """``entry`` as a bilingual feed shows it: its translated title, summary, content and
    captions each followed by the original (``entry.original``); unchanged when the article
    was written in the feed's language (but for its translated passages) or was not read with
    its original."""
    original = entry.original
    if original is None or entry.original_language is None:
        return replace(entry, bilingual=True)
    if not same_language(entry.original_language, entry.language):
        source = normalize_language(entry.original_language)
    elif entry.partly_translated:
        source = UNKNOWN_LANGUAGE
    else:
        return replace(entry, bilingual=True)
    language = normalize_language(entry.language)
    return replace(
        entry,
        bilingual=True,
        title=_joined(entry.title, original.title, separator),
        summary=_interleaved(entry.summary, original.summary, language, source),
        content=_interleaved(entry.content, original.content, language, source),
        media=_media(entry.media, original, separator),
    )


def interleave(translated: str, original: str, language: str, source: str) -> str:
    """``translated`` HTML with each block followed by its ``original`` (in ``source``, or
    ``UNKNOWN_LANGUAGE``).

    Read and written as the translation layer reads and writes fragments
    (``translations.html``), whose serialiser knows libxml2's quirks: ``<source>`` and
    ``<track>`` without an end tag, an empty ``<li></li>`` kept closed."""
    shown = parse_fragment(translated)
    written = parse_fragment(original)
    if _shape(shown) != _shape(written):
        return serialise_fragment(_side_by_side(shown, written, language, source))
    result = _pair(shown, written, language, source)
    if len(result) == 1:
        return serialise_fragment(result[0])
    root: HtmlElement = E.DIV()
    root.extend(result)
    return serialise_fragment(root)


def _joined(translated: str, original: str, separator: str) -> str:
    return translated if _text(translated) == _text(original) else translated + separator + original


def _interleaved(
    translated: str | None, original: str | None, language: str, source: str
) -> str | None:
    if not translated or not original:
        return translated
    return interleave(translated, original, language, source)


def _media(media: tuple[Media, ...], original: EntryData, separator: str) -> tuple[Media, ...]:
    """Captions as "translation — original"; alt text stays the translation (one description
    of the image for a screen reader)."""
    if len(media) != len(original.media):
        return media
    return tuple(
        replace(item, caption=_joined(item.caption, source.caption, separator))
        if item.caption and source.caption
        else item
        for item, source in zip(media, original.media, strict=True)
    )


def _text(value: str) -> str:
    return " ".join(value.split())


def _is_block(node: object) -> bool:
    return isinstance(node, HtmlElement) and node.tag in _BLOCKS


def _is_container(element: HtmlElement) -> bool:
    """Whether every word of ``element`` is inside a block child (so its children pair up);
    else it is a leaf block, interleaved as a whole."""
    children = list(element)
    if not any(_is_block(child) for child in children) or _text(element.text or ""):
        return False
    for child in children:
        if _text(child.tail or ""):
            return False
        if not _is_block(child) and isinstance(child, HtmlElement) and _text(child.text_content()):
            return False
    return True


def _shape(element: HtmlElement) -> tuple[object, ...]:
    """The block structure two trees must share to be interleaved block by block."""
    if not _is_container(element):
        return (element.tag,)
    return (element.tag, tuple(_shape(child) for child in element if _is_block(child)))


def _pair(
    shown: HtmlElement, written: HtmlElement, language: str, source: str
) -> list[HtmlElement]:
    """The blocks that replace ``shown`` (``written`` is its original, of the same shape)."""
    if _is_container(shown):
        originals = iter([child for child in written if _is_block(child)])
        for child in list(shown):
            if not _is_block(child):
                continue
            position = shown.index(child)
            tail, child.tail = child.tail, None
            replacements = _pair(child, next(originals), language, source)
            shown.remove(child)
            for offset, element in enumerate(replacements):
                shown.insert(position + offset, element)
            replacements[-1].tail = tail
        return [shown]
    if _text(shown.text_content()) == _text(written.text_content()):
        return [shown]
    if shown.tag in _TWINNED:
        written.tail = None
        _mark(shown, language)
        _mark(written, source)
        return [shown, written]
    shown.extend([_moved_into(shown, language), _moved_into(written, source)])
    return [shown]


def _moved_into(element: HtmlElement, language: str) -> HtmlElement:
    """A ``div`` in ``language`` holding ``element``'s text and children (taken from it): how
    a list item, caption or cell holds its translation and its original, its own attributes
    kept once."""
    holder: HtmlElement = E.DIV()
    _mark(holder, language)
    holder.text, element.text = element.text, None
    holder.extend(list(element))
    return holder


def _mark(element: HtmlElement, language: str) -> None:
    if language == UNKNOWN_LANGUAGE:
        element.set("lang", "")
        return
    for key, value in language_attributes(language).items():
        element.set(key, value)


def _side_by_side(
    shown: HtmlElement, written: HtmlElement, language: str, source: str
) -> HtmlElement:
    """The whole translation, a rule, the whole original: for trees that do not pair up."""
    root: HtmlElement = E.DIV()
    root.extend([_moved_into(shown, language), E.HR(), _moved_into(written, source)])
    return root
