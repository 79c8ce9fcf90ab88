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
Plain-text fields use ``extract_text``, the same unit logic minus the markup.
"""

from __future__ import annotations

import copy
import html as html_escape
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import lxml.html
from lxml.html import HtmlElement

from translations.glossary import CLOSING, OPENING, Glossary, enforce
from translations.segment import sentence_spans
from translations.types import AlignedTranslation

__all__ = ["HtmlJob", "Rebuilt", "Rendering", "TextJob", "extract", "extract_text"]


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

    @classmethod
    def kept(cls, unit: str, glossary: Glossary | None) -> Rendering:
        """``unit`` as its own translation, with the pair's glossary still applied."""
        return cls(AlignedTranslation.unchanged(unit), glossary, machine_translated=False)


@dataclass(frozen=True)
class Rebuilt:
    """A rebuilt field: ``text``, whether any unit was machine translated, and what was kept and
    why."""

    text: str
    translated: bool
    problems: tuple[str, ...] = ()


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


@dataclass
class _Tag:
    """An inline element of a run: its source word range ``[start, end)`` and its parent tag."""

    element: HtmlElement
    parent: int | None
    opaque: bool
    start: int = 0
    end: int = 0
    trim_leading: bool = False
    trim_trailing: bool = False


class _Target:
    """The target words (slots) of a whole run, and the alignment mapped onto the whole run."""

    def __init__(self) -> None:
        self.slots: list[str] = []
        self.alignment: list[tuple[int, int]] = []
        #: ``(first source word, source words, first slot, slots)`` per sentence.
        self.sentences: list[tuple[int, int, int, int]] = []
        #: Some sentence differs from the source (so the run must be rebuilt).
        self.changed = False
        #: Some sentence is a model's translation.
        self.translated = False

    def add(
        self,
        first: int,
        count: int,
        slots: Sequence[str],
        alignment: Sequence[tuple[int, int]],
        *,
        changed: bool,
        translated: bool,
    ) -> None:
        offset = len(self.slots)
        self.sentences.append((first, count, offset, len(slots)))
        self.slots.extend(slots)
        self.alignment.extend(
            (first + s, offset + t) for s, t in alignment if 0 <= s < count and 0 <= t < len(slots)
        )
        self.changed = self.changed or changed
        self.translated = self.translated or translated

    def proportional(self, word: int) -> int:
        for first, count, offset, size in self.sentences:
            if first <= word < first + count:
                return offset + (word - first) * size // count
        return len(self.slots)

    def anchor(self, word: int) -> int:
        """Where a source position just before ``word`` lands (for empty and void elements)."""
        after = [t for s, t in self.alignment if s == word]
        if after:
            return min(after)
        before = [t for s, t in self.alignment if s == word - 1]
        return max(before) + 1 if before else self.proportional(word)

    def candidate(self, tag: _Tag, words: Sequence[str]) -> tuple[int, int]:
        """Slots for the tag's source words: aligned, else copied, else proportional.

        An opaque element replaces the slots it gets, so it takes only the longest contiguous
        run of aligned slots; a transparent one may wrap a stray word but never loses one.
        """
        start, end = tag.start, tag.end
        if start == end:
            point = self.anchor(start)
            return point, point
        aligned = sorted({t for s, t in self.alignment if start <= s < end})
        if tag.opaque:
            return self._own_run(start, end, aligned, words)
        if aligned:
            return aligned[0], aligned[-1] + 1
        copy_at = self._copy_of(words[start:end])
        if copy_at is not None:
            return copy_at
        first = self.proportional(start)
        return first, max(first + 1, self.proportional(end - 1) + 1)

    def _own_run(
        self, start: int, end: int, aligned: Sequence[int], words: Sequence[str]
    ) -> tuple[int, int]:
        """Slots an opaque element may replace: the longest contiguous run of slots aligned only
        to its words, else an exact copy of them; else none (it is inserted, nothing lost)."""
        mixed = {t for s, t in self.alignment if not start <= s < end}
        own = [t for t in aligned if t not in mixed]
        if own:
            pairs = itertools.groupby(enumerate(own), lambda pair: pair[1] - pair[0])
            longest = max(([t for _, t in run] for _, run in pairs), key=len)
            return longest[0], longest[-1] + 1
        copy_at = self._copy_of(words[start:end])
        if copy_at is not None:
            return copy_at
        point = self.proportional(start)
        return point, point

    def _copy_of(self, words: Sequence[str]) -> tuple[int, int] | None:
        wanted = [_core(word) for word in words]
        cores = [_core(slot) for slot in self.slots]
        for t in range(len(cores) - len(wanted) + 1):
            if cores[t : t + len(wanted)] == wanted:
                return t, t + len(wanted)
        return None


def _core(word: str) -> str:
    return word.strip(".,;:!?…\"'«»()[]{}")


class _Run:
    """Plain text (a title, an attribute) or a block's inline content, as words and sentences."""

    def __init__(
        self, text: str, lang: str, tags: list[_Tag], chars: Sequence[tuple[int, int]]
    ) -> None:
        self.tags = tags
        spans = [match.span() for match in re.finditer(r"\S+", text)]
        self.words = [text[start:end] for start, end in spans]
        for tag, (cs, ce) in zip(tags, chars, strict=True):
            inside = [i for i, (s, e) in enumerate(spans) if s < ce and e > cs]
            if inside:
                tag.start, tag.end = inside[0], inside[-1] + 1
                # Punctuation the element did not wrap in the source stays outside it.
                covered = text[cs:ce].strip()
                tag.trim_leading = covered[0].isalnum()
                tag.trim_trailing = covered[-1].isalnum()
            else:
                tag.start = tag.end = sum(1 for s, _ in spans if s < cs)
        cuts = sentence_spans(text, lang)
        self.sentences = []
        for start, end in cuts:
            inside = [i for i, (s, _) in enumerate(spans) if start <= s < end]
            self.sentences.append((inside[0], inside[-1] + 1))
        edges = [0, *(x for span in cuts for x in span), len(text)]
        #: The whitespace before, between and after sentences, put back in plain text.
        self.gaps = [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]

    def units(self) -> Iterator[str]:
        for first, last in self.sentences:
            yield " ".join(self.words[first:last])

    def render(self, renderings: Mapping[str, Rendering]) -> tuple[_Target, list[str]]:
        """Target slots for every sentence; a sentence without a usable rendering stays as is."""
        target = _Target()
        problems: list[str] = []
        for first, last in self.sentences:
            sentence = " ".join(self.words[first:last])
            rendering = renderings.get(sentence)
            if rendering is not None:
                enforced = enforce(sentence, rendering.translation, rendering.glossary)
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

    def plain(self, target: _Target) -> str:
        """The target as plain text, with the source's whitespace between sentences."""
        parts = [self.gaps[0]]
        for (_, _, offset, size), gap in zip(target.sentences, self.gaps[1:], strict=True):
            parts.append(" ".join(slot for slot in target.slots[offset : offset + size] if slot))
            parts.append(gap)
        return "".join(parts)


#: What a run is rebuilt from: text, or ``(tag index, children)`` for an element.
_Item = str | tuple[int, list["_Item"]]


def _place(run: _Run, target: _Target) -> list[tuple[int, int]]:
    """A properly nested slot interval for every tag of ``run``.

    Parents are placed before children and non-empty candidates before empty ones; each is
    clipped to its parent and to the free gaps left by its siblings, or becomes an empty point.
    """
    tags = run.tags
    depth: list[int] = []
    for tag in tags:
        depth.append(0 if tag.parent is None else depth[tag.parent] + 1)
    wanted = [target.candidate(tag, run.words) for tag in tags]
    placed = [(0, 0)] * len(tags)
    siblings: dict[int | None, list[int]] = {}
    for i in sorted(range(len(tags)), key=lambda i: (depth[i], wanted[i][0] == wanted[i][1], i)):
        parent = tags[i].parent
        lo, hi = (0, len(target.slots)) if parent is None else placed[parent]
        taken = [placed[j] for j in siblings.get(parent, [])]
        cuts = sorted({lo, hi, *(x for span in taken for x in span)})
        gaps = [
            (a, b)
            for a, b in itertools.pairwise(cuts)
            if not any(s <= a and b <= e for s, e in taken if s < e)
        ]
        start, end = min(max(wanted[i][0], lo), hi), min(max(wanted[i][1], lo), hi)
        best = max(gaps, key=lambda g: min(end, g[1]) - max(start, g[0]), default=None)
        if best is not None and min(end, best[1]) - max(start, best[0]) > 0:
            placed[i] = (max(start, best[0]), min(end, best[1]))
        else:
            points = [p for a, b in gaps for p in (a, b)] or cuts
            inside = [start for a, b in gaps if a <= start <= b]
            point = inside[0] if inside else min(points, key=lambda p: abs(p - start))
            placed[i] = (point, point)
        siblings.setdefault(parent, []).append(i)
    return placed


class _Emitter:
    """Turns slots and placed tags into items, spacing words and keeping punctuation outside."""

    def __init__(self, run: _Run, target: _Target) -> None:
        self.tags = run.tags
        self.slots = list(target.slots)
        self.placed = _place(run, target)
        self.children: dict[int | None, list[int]] = {}
        for i, tag in enumerate(run.tags):
            self.children.setdefault(tag.parent, []).append(i)
        for kids in self.children.values():
            kids.sort(key=lambda i: self.placed[i])
        self.need_space = False

    def emit(self, owner: int | None, lo: int, hi: int) -> list[_Item]:
        items: list[_Item] = []
        position = lo
        for k in self.children.get(owner, []):
            start, end = self.placed[k]
            self._words(items, position, start)
            self._element(items, k)
            position = max(position, end)
        self._words(items, position, hi)
        return items

    def _words(self, items: list[_Item], lo: int, hi: int) -> None:
        for t in range(lo, hi):
            self._text(items, self.slots[t])

    def _text(self, items: list[_Item], text: str) -> None:
        if text:
            if self.need_space:
                items.append(" ")
            items.append(text)
            self.need_space = True

    def _element(self, items: list[_Item], k: int) -> None:
        start, end = self.placed[k]
        tag, suffix = self.tags[k], ""
        if start < end and tag.trim_leading:
            lead = _match(OPENING, self.slots[start])
            self._text(items, lead)
            self.slots[start] = self.slots[start][len(lead) :]
            self.need_space = self.need_space and not lead
        if start < end and tag.trim_trailing:
            suffix = _match(CLOSING, self.slots[end - 1])
            self.slots[end - 1] = self.slots[end - 1][: len(self.slots[end - 1]) - len(suffix)]
        if self.need_space:
            items.append(" ")
        self.need_space = False
        inner = [] if tag.opaque else self.emit(k, start, end)
        items.append((k, inner))
        self.need_space = True
        if suffix:
            items.append(suffix)


def _match(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group() if match else ""


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
        self.tags: list[_Tag] = []
        self.chars: list[tuple[int, int]] = []
        self.text(text)

    def text(self, text: str | None) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)

    def member(self, element: HtmlElement, parent: int | None) -> None:
        index = len(self.tags)
        self.tags.append(_Tag(element, parent, opaque=_opaque(element)))
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
class _Segment:
    """A run in the tree: ``container``'s text (or ``anchor``'s tail) and the inline ``members``
    that follow, up to the next block."""

    container: HtmlElement
    anchor: HtmlElement | None
    members: tuple[HtmlElement, ...]
    run: _Run


@dataclass(frozen=True)
class _Attribute:
    element: HtmlElement
    name: str
    run: _Run


class _Walker:
    """Finds every run and translatable attribute of a tree, always in the same order."""

    def __init__(self, root: HtmlElement, lang: str) -> None:
        self.lang = lang
        self.segments: list[_Segment] = []
        self.attributes: list[_Attribute] = []
        self._block(root)

    def _attributes(self, element: HtmlElement) -> None:
        if isinstance(element.tag, str) and not _untouched(element):
            for name in _ATTRIBUTES:
                value = element.get(name)
                if value and value.strip():
                    self.attributes.append(
                        _Attribute(element, name, _Run(value, self.lang, [], []))
                    )

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
        run = _Run("".join(builder.parts), self.lang, builder.tags, builder.chars)
        if run.words:
            self.segments.append(
                _Segment(builder.container, builder.anchor, tuple(builder.members), run)
            )


def _attach(
    parent: HtmlElement,
    index: int,
    previous: HtmlElement | None,
    items: Sequence[_Item],
    tags: Sequence[_Tag],
) -> None:
    """Insert ``items`` into ``parent`` at ``index``, after ``previous`` (None: parent's text)."""
    for item in items:
        if isinstance(item, str):
            if previous is None:
                parent.text = (parent.text or "") + item
            else:
                previous.tail = (previous.tail or "") + item
            continue
        k, inner = item
        source = tags[k].element
        if tags[k].opaque:
            element = source
            element.tail = None
        else:
            element = source.makeelement(source.tag, dict(source.attrib))
            _attach(element, 0, None, inner, tags)
        parent.insert(index, element)
        index += 1
        previous = element


def _rebuild_segment(segment: _Segment, target: _Target) -> None:
    run = segment.run
    items = [run.gaps[0], *_Emitter(run, target).emit(None, 0, len(target.slots)), run.gaps[-1]]
    container = segment.container
    for member in segment.members:
        container.remove(member)
    if segment.anchor is None:
        container.text = None
        index = 0
    else:
        segment.anchor.tail = None
        index = container.index(segment.anchor) + 1
    _attach(container, index, segment.anchor, items, run.tags)


def _parse(markup: str) -> HtmlElement:
    root: HtmlElement = lxml.html.fragment_fromstring(markup, create_parent="div")
    return root


def _serialise(root: HtmlElement) -> str:
    head = html_escape.escape(root.text or "", quote=False)
    return head + "".join(lxml.html.tostring(child, encoding="unicode") for child in root)


class HtmlJob:
    """The translation units of one HTML field, and how to put their translations back."""

    def __init__(self, markup: str, lang: str) -> None:
        self._markup = markup
        self._lang = lang
        self._root = _parse(markup) if markup.strip() else None
        runs: list[_Run] = []
        if self._root is not None:
            walker = _Walker(self._root, lang)
            runs = [s.run for s in walker.segments] + [a.run for a in walker.attributes]
        #: Plain-text sentences to translate, each once, in document order.
        self.units: tuple[str, ...] = tuple(dict.fromkeys(u for run in runs for u in run.units()))

    def rebuild(self, renderings: Mapping[str, Rendering]) -> Rebuilt:
        """The field with every rendered unit translated; others keep their source text."""
        if self._root is None or not any(unit in renderings for unit in self.units):
            return Rebuilt(self._markup, False)
        root = copy.deepcopy(self._root)
        walker = _Walker(root, self._lang)
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
        text = _serialise(root) if changed else self._markup
        return Rebuilt(text, translated, tuple(problems))


class TextJob:
    """The translation units of one plain-text field (title, caption), same logic minus markup."""

    def __init__(self, text: str, lang: str) -> None:
        self._text = text
        self._run = _Run(text, lang, [], [])
        self.units: tuple[str, ...] = tuple(dict.fromkeys(self._run.units()))

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
