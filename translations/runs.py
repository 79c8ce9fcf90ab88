"""Runs: the text a reader sees in a block, an attribute or a plain-text field, as words and
sentences (the translation units), and the walk over an HTML tree that finds them.

A block's inline content (text, transparent elements such as ``<a>`` or ``<em>``, opaque ones
such as ``<code>`` or ``<img>``) is flattened to one run; each inline element becomes a ``Tag``
over the run's words (``translations.inline`` places it in the translation). ``Run.render``
turns the renderings of the run's sentences into target words, or keeps a sentence whose
rendering cannot be used (with the reason). ``Walker`` finds every run and translatable
attribute of a tree, always in the same order, and can be moved onto a copy of the tree.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from lxml.html import HtmlElement

from lingofeed.translations.glossary import CLOSING, OPENING, Glossary, enforce
from lingofeed.translations.inline import Tag, Target
from lingofeed.translations.segment import sentence_spans
from lingofeed.translations.types import AlignedTranslation

__all__ = ["Attribute", "Rendering", "Run", "Segment", "Walker"]


def _names(names: str) -> frozenset[str]:
    """A set from a space-separated list, which keeps the tables below readable."""
    return frozenset(names.split())


#: Inline elements re-applied around their translated words.
_TRANSPARENT = _names(
    "a abbr b bdi bdo cite data del dfn em font i ins mark q s small span strong sub sup time u"
)
#: Inline elements carried over unchanged, in place.
_OPAQUE = _names("code kbd samp var img wbr input svg math script style br")
#: Elements whose content is never translated (inline ones are opaque, others skipped).
_UNTOUCHED = _names("code kbd samp var pre script style svg math textarea template")
#: Opaque elements whose text is not prose, so it is not shown to the model.
_SILENT = _names("script style svg math template br wbr img input")
_ATTRIBUTES = ("alt", "title")
_NON_SPACE = re.compile(r"\S+")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Rendering:
    """How one unit comes out in the target language: the model's output and the pair's rules.

    ``machine_translated`` is False for a unit kept as written (nothing to translate in it): it
    is only rewritten where the glossary changes it, and does not make the field translated.
    """

    translation: AlignedTranslation
    glossary: Glossary | None = None
    machine_translated: bool = True
    #: (source, target) language tags: a number may then change format (``12,000`` ->
    #: ``12 000``) without being restored; None compares numbers as written.
    languages: tuple[str, str] | None = None

    @classmethod
    def kept(cls, unit: str, glossary: Glossary | None) -> Rendering:
        """``unit`` as its own translation, with the pair's glossary still applied."""
        return cls(AlignedTranslation.unchanged(unit), glossary, machine_translated=False)


def _untouched(element: HtmlElement) -> bool:
    classes = (element.get("class") or "").split()
    return (
        element.tag in _UNTOUCHED
        or (element.get("translate") or "").lower() == "no"
        or "notranslate" in classes
    )


def _opaque(element: HtmlElement) -> bool:
    """Carried over unchanged inside a run: comments, void and code-like inline elements."""
    if not isinstance(element.tag, str):
        return True
    inline = element.tag in _TRANSPARENT or element.tag in _OPAQUE
    return inline and (element.tag in _OPAQUE or _untouched(element))


def _transparent(element: HtmlElement) -> bool:
    """An inline element holding only text and inline elements, so it can be re-applied."""
    if not isinstance(element.tag, str) or element.tag not in _TRANSPARENT or _untouched(element):
        return False
    return all(_opaque(child) or _transparent(child) for child in element)


class Run:
    """Plain text (a title, an attribute) or a block's inline content, as words and sentences."""

    def __init__(
        self, text: str, lang: str, tags: list[Tag], chars: Sequence[tuple[int, int]]
    ) -> None:
        self.tags = tags
        spans = [match.span() for match in _NON_SPACE.finditer(text)]
        self.words = [text[start:end] for start, end in spans]
        # Words are in order and never overlap: the words of a character range are found by
        # bisection over their starts and ends.
        starts = [start for start, _ in spans]
        ends = [end for _, end in spans]
        for tag, (cs, ce) in zip(tags, chars, strict=True):
            first, last = bisect_right(ends, cs), bisect_left(starts, ce)
            # An empty element (``;<b></b>;``) covers no word, even inside one.
            covered = text[cs:ce].strip()
            if first < last and covered:
                tag.start, tag.end = first, last
                tag.words = tuple(covered.split())
                # Punctuation the element did not wrap in the source stays outside it (a
                # link whose text is a URL ending in ``/`` does not take the full stop).
                tag.trim_leading = OPENING.match(covered) is None
                tag.trim_trailing = CLOSING.search(covered) is None
            else:
                tag.start = tag.end = bisect_left(starts, cs)
        cuts = sentence_spans(text, lang)
        #: (first word, end word) of each sentence; a sentence always holds a word.
        self.sentences = [
            (bisect_left(starts, start), bisect_left(starts, end)) for start, end in cuts
        ]
        edges = [0, *(x for span in cuts for x in span), len(text)]
        #: The whitespace before, between and after sentences, put back in plain text.
        self.gaps = [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]

    def moved(self, copies: Mapping[HtmlElement, HtmlElement]) -> Run:
        """This run with its tags on the copies of their elements."""
        moved = copy.copy(self)
        moved.tags = [dataclasses.replace(tag, element=copies[tag.element]) for tag in self.tags]
        return moved

    def units(self) -> Iterator[str]:
        for first, last in self.sentences:
            yield " ".join(self.words[first:last])

    def tagged_units(self) -> Iterator[str]:
        """The sentences an inline element lies in, overlaps or touches (an empty one at
        their edge): placing it uses their word alignment, which other sentences do without."""
        for first, last in self.sentences:
            if any(
                (tag.start < last and tag.end > first) or first <= tag.start == tag.end <= last
                for tag in self.tags
            ):
                yield " ".join(self.words[first:last])

    def render(self, renderings: Mapping[str, Rendering]) -> tuple[Target, list[str]]:
        """Target slots for every sentence; a sentence without a usable rendering stays as is."""
        target = Target()
        problems: list[str] = []
        for first, last in self.sentences:
            sentence = " ".join(self.words[first:last])
            rendering = renderings.get(sentence)
            if rendering is not None:
                enforced = enforce(
                    sentence, rendering.translation, rendering.glossary, rendering.languages
                )
                trouble = list(enforced.problems)
                if not any(enforced.slots):
                    trouble.append(f"empty translation of {sentence!r}")
                if _BAD_CHARS.search(rendering.translation.text):
                    trouble.append(f"translation of {sentence!r} has characters HTML cannot hold")
                changed = rendering.machine_translated or list(enforced.slots) != sentence.split()
                if not trouble and changed:
                    target.add(
                        first,
                        last - first,
                        enforced.slots,
                        rendering.translation.alignment,
                        changed=True,
                        translated=rendering.machine_translated,
                    )
                    continue
                problems.extend(trouble)
            identity = [(i, i) for i in range(last - first)]
            target.add(
                first,
                last - first,
                self.words[first:last],
                identity,
                changed=False,
                translated=False,
            )
        return target, problems

    def plain(self, target: Target) -> str:
        """The target as plain text, with the source's whitespace between sentences."""
        parts = [self.gaps[0]]
        for (_, _, offset, size), gap in zip(target.sentences, self.gaps[1:], strict=True):
            parts.append(" ".join(slot for slot in target.slots[offset : offset + size] if slot))
            parts.append(gap)
        return "".join(parts)


class _RunBuilder:
    """Flattens a block's inline content to text, recording where each inline element sits."""

    def __init__(
        self, container: HtmlElement, anchor: HtmlElement | None, text: str | None
    ) -> None:
        self.container = container
        self.anchor = anchor
        self.members: list[HtmlElement] = []
        self.parts: list[str] = []
        self.length = 0
        self.tags: list[Tag] = []
        self.chars: list[tuple[int, int]] = []
        self.text(text)

    def text(self, text: str | None) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)

    def member(self, element: HtmlElement, parent: int | None) -> None:
        index = len(self.tags)
        self.tags.append(Tag(element, parent, opaque=_opaque(element)))
        self.chars.append((0, 0))
        start = self.length
        if not self.tags[index].opaque:
            self.text(element.text)
            for child in element:
                self.member(child, index)
        elif isinstance(element.tag, str) and element.tag not in _SILENT:
            # Spaces keep its words whole: it replaces whole target words, never half of one.
            self.text(f" {element.text_content()} ")
        else:
            self.text(" ")
        self.chars[index] = (start, self.length)
        self.text(element.tail)


@dataclass(frozen=True)
class Segment:
    """A run in the tree: ``container``'s text (or ``anchor``'s tail) and the inline ``members``
    that follow, up to the next block."""

    container: HtmlElement
    anchor: HtmlElement | None
    members: tuple[HtmlElement, ...]
    run: Run


@dataclass(frozen=True)
class Attribute:
    element: HtmlElement
    name: str
    run: Run


class Walker:
    """Finds every run and translatable attribute of a tree, always in the same order."""

    def __init__(self, root: HtmlElement | None, lang: str) -> None:
        self.lang = lang
        self.segments: list[Segment] = []
        self.attributes: list[Attribute] = []
        if root is not None:
            self._block(root)

    def moved(self, copies: Mapping[HtmlElement, HtmlElement]) -> Walker:
        """The same runs over a copy of the tree (``copies``: element -> its copy), so a
        rebuild need not walk and split the copy again."""
        moved = Walker(None, self.lang)
        moved.attributes = [Attribute(copies[a.element], a.name, a.run) for a in self.attributes]
        moved.segments = [
            Segment(
                copies[s.container],
                None if s.anchor is None else copies[s.anchor],
                tuple(copies[member] for member in s.members),
                s.run.moved(copies),
            )
            for s in self.segments
        ]
        return moved

    def _attributes(self, element: HtmlElement) -> None:
        if isinstance(element.tag, str) and not _untouched(element):
            for name in _ATTRIBUTES:
                value = element.get(name)
                if value and value.strip():
                    self.attributes.append(Attribute(element, name, Run(value, self.lang, [], [])))

    def _inline_attributes(self, element: HtmlElement) -> None:
        self._attributes(element)
        if not _opaque(element):
            for child in element:
                self._inline_attributes(child)

    def _block(self, container: HtmlElement) -> None:
        self._attributes(container)
        builder = _RunBuilder(container, None, container.text)
        for child in list(container):
            if child.tag != "br" and (_opaque(child) or _transparent(child)):
                builder.members.append(child)
                builder.member(child, None)
                self._inline_attributes(child)
                continue
            self._finish(builder)
            if child.tag != "br" and not _untouched(child):
                self._block(child)
            builder = _RunBuilder(container, child, child.tail)
        self._finish(builder)

    def _finish(self, builder: _RunBuilder) -> None:
        text = "".join(builder.parts)
        if text and not text.isspace():
            run = Run(text, self.lang, builder.tags, builder.chars)
            self.segments.append(
                Segment(builder.container, builder.anchor, tuple(builder.members), run)
            )
