"""HTML-aware translation: translate the text a reader sees in article HTML, keep the markup.

Why whole sentences: cutting a sentence at each inline tag (``<a>``, ``<em>``...) hands the model
fragments it translates badly and in the wrong order. So each block's inline content (a *run*) is
flattened to plain text, split into sentences, and each sentence is one translation unit. After
translation every inline element is re-applied, with all its attributes, around the target words
aligned with the words it wrapped; fallbacks are an exact copy of the wrapped words in the output
(names, numbers), then the proportional position. Each source element appears exactly once,
properly nested: overlapping placements are clipped to their parent and to their siblings, and an
element that finds no room stays in place, empty, rather than being lost or duplicated.

Opaque inline elements (``<code>``, ``<img>``, ``translate="no"``, ``class="notranslate"``...)
are carried over unchanged: their words go to the model (so the sentence reads naturally), then
the element itself replaces the target words aligned with them. ``<pre>``, ``<script>``,
``<style>`` and untouched blocks are skipped. ``alt`` and ``title`` attributes are translated as
plain text. The work happens on an lxml tree, so escaped text (``&lt;script&gt;``) stays text and
the output is serialised by lxml: always well-formed.

Use: ``job = extract(html, lang)``; translate ``job.units``; ``job.rebuild(renderings)``.
Plain-text fields use ``extract_text``, the same unit logic minus the markup. Finding runs and
units is ``translations.runs``; placing inline elements in a translation, ``translations.inline``.
"""

from __future__ import annotations

import copy
import html as html_escape
import re
from collections.abc import Mapping
from dataclasses import dataclass

import lxml.html
from lxml.html import HtmlElement

from lingofeed.translations.inline import Target, attach, inline_items
from lingofeed.translations.runs import Rendering, Run, Segment, Walker

__all__ = [
    "HtmlJob",
    "Rebuilt",
    "Rendering",
    "TextJob",
    "extract",
    "extract_text",
    "parse_fragment",
    "serialise_fragment",
]


@dataclass(frozen=True)
class Rebuilt:
    """A rebuilt field: ``text``, whether any unit was machine translated, and what was kept and
    why."""

    text: str
    translated: bool
    problems: tuple[str, ...] = ()


def _rebuild_segment(segment: Segment, target: Target) -> None:
    run = segment.run
    items = [run.gaps[0], *inline_items(run.tags, run.words, target), run.gaps[-1]]
    container = segment.container
    for member in segment.members:
        container.remove(member)
    if segment.anchor is None:
        container.text = None
        index = 0
    else:
        segment.anchor.tail = None
        index = container.index(segment.anchor) + 1
    attach(container, index, segment.anchor, items, run.tags)


def parse_fragment(markup: str) -> HtmlElement:
    """An HTML fragment as the children (and text) of a ``<div>``.

    libxml2's HTML parser predates ``<source>`` and ``<track>``: it reads what follows one as
    its content (``<video><source src=…>Texte.</video>`` puts "Texte." inside the source).
    Such content is moved back after the void element, where the browser has it.
    """
    root: HtmlElement = lxml.html.fragment_fromstring(markup, create_parent="div")
    for element in list(root.iter(*_VOID)):
        _hoist(element)
    return root


def _hoist(element: HtmlElement) -> None:
    """Move the content of a void ``element`` right after it."""
    parent = element.getparent()
    if parent is None or (element.text is None and len(element) == 0):
        return
    index = parent.index(element)
    children = list(element)
    last_tail = children[-1].tail if children else None
    text = (element.text or "") if not children else None
    tail = element.tail
    for offset, child in enumerate(children, start=1):
        parent.insert(index + offset, child)
    if children:
        element.tail = (element.text or "") or None
        children[-1].tail = (last_tail or "") + (tail or "") or None
    else:
        element.tail = (text or "") + (tail or "") or None
    element.text = None


#: Elements that never have content or an end tag.
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)


#: Void elements libxml2 does not know as such: it would write ``<source ...></source>``.
_UNKNOWN_VOID = frozenset(["source", "track"])
_VOID_MARK = "data-lingofeed-void"
_MARKED = re.compile(rf'<param {_VOID_MARK}="(source|track)"')


def serialise_fragment(root: HtmlElement) -> str:
    """The fragment's markup. Sets an empty text on empty elements so that libxml2 writes their
    end tag (it writes ``<li></li>x`` as ``<li>x``, which puts ``x`` inside the item), and
    writes ``<source>`` and ``<track>`` without one, as the void elements they are."""
    renamed = []
    for element in root.iterdescendants():
        empty = element.text is None and len(element) == 0
        if empty and isinstance(element.tag, str) and element.tag not in _VOID:
            element.text = ""
        elif element.tag in _UNKNOWN_VOID:
            renamed.append((element, element.tag, dict(element.attrib)))
            element.attrib.clear()
            element.set(_VOID_MARK, element.tag)
            element.attrib.update(renamed[-1][2])
            element.tag = "param"  # a void element libxml2 knows: written without end tag
    head = html_escape.escape(root.text or "", quote=False)
    body = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    for element, tag, attributes in renamed:
        element.tag = tag
        element.attrib.clear()
        element.attrib.update(attributes)
    return head + _MARKED.sub(r"<\1", body)


class HtmlJob:
    """The translation units of one HTML field, and how to put their translations back."""

    def __init__(self, markup: str, lang: str) -> None:
        self._markup = markup
        self._root = parse_fragment(markup) if markup.strip() else None
        self._walker = Walker(self._root, lang) if self._root is not None else None
        runs: list[Run] = []
        if self._walker is not None:
            runs = [s.run for s in self._walker.segments]
            runs += [a.run for a in self._walker.attributes]
        #: Plain-text sentences to translate, each once, in document order.
        self.units: tuple[str, ...] = tuple(dict.fromkeys(u for run in runs for u in run.units()))
        #: Units with an inline element in them: their translation needs a word alignment.
        self.tagged = frozenset(u for run in runs for u in run.tagged_units())

    def rebuild(self, renderings: Mapping[str, Rendering]) -> Rebuilt:
        """The field with every rendered unit translated; others keep their source text."""
        if self._root is None or self._walker is None:
            return Rebuilt(self._markup, False)
        if not any(unit in renderings for unit in self.units):
            return Rebuilt(self._markup, False)
        root = copy.deepcopy(self._root)
        walker = self._walker.moved(dict(zip(self._root.iter(), root.iter(), strict=True)))
        problems: list[str] = []
        changed = translated = False
        for attribute in walker.attributes:
            target, trouble = attribute.run.render(renderings)
            problems.extend(trouble)
            if target.changed:
                attribute.element.set(attribute.name, attribute.run.plain(target))
            changed, translated = changed or target.changed, translated or target.translated
        for segment in walker.segments:
            target, trouble = segment.run.render(renderings)
            problems.extend(trouble)
            if target.changed:
                _rebuild_segment(segment, target)
            changed, translated = changed or target.changed, translated or target.translated
        text = serialise_fragment(root) if changed else self._markup
        return Rebuilt(text, translated, tuple(problems))


class TextJob:
    """The translation units of one plain-text field (title, caption), same logic minus markup."""

    def __init__(self, text: str, lang: str) -> None:
        self._text = text
        self._run = Run(text, lang, [], [])
        self.units: tuple[str, ...] = tuple(dict.fromkeys(self._run.units()))
        #: Plain text has no inline elements.
        self.tagged: frozenset[str] = frozenset()

    def rebuild(self, renderings: Mapping[str, Rendering]) -> Rebuilt:
        target, problems = self._run.render(renderings)
        text = self._run.plain(target) if target.changed else self._text
        return Rebuilt(text, target.translated, tuple(problems))


def extract(markup: str, lang: str) -> HtmlJob:
    """Read an HTML fragment; ``lang`` (BCP 47) guides sentence splitting."""
    return HtmlJob(markup, lang)


def extract_text(text: str, lang: str) -> TextJob:
    """Read a plain-text field; ``lang`` (BCP 47) guides sentence splitting."""
    return TextJob(text, lang)
