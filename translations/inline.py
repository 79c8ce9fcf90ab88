"""Inline elements across a translation: where each lands among the target words, and placing it.

``html.py`` flattens a block's inline content to a *run* of words and records each inline element
as a ``Tag`` over a range of source words. Once the run's sentences are translated, a ``Target``
holds the target words (slots) and the word alignment; this module gives every tag a properly
nested slot interval (``_place``: aligned words first, then an exact copy of the wrapped words,
then the proportional position; clipped to its parent and siblings), turns slots and tags into
text and element items (``inline_items``, punctuation the element did not wrap kept outside it),
and inserts those items into the tree (``attach``). Each source element appears exactly once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml.html import HtmlElement

from lingofeed.translations.glossary import CLOSING, OPENING

__all__ = ["Item", "Tag", "Target", "attach", "inline_items"]


@dataclass
class Tag:
    """An inline element of a run: its source word range ``[start, end)`` and its parent tag."""

    element: HtmlElement
    parent: int | None
    opaque: bool
    start: int = 0
    end: int = 0
    trim_leading: bool = False
    trim_trailing: bool = False
    #: The words it wraps, as written inside it (``UNICEF`` of ``L'<abbr>UNICEF</abbr>``).
    words: tuple[str, ...] = ()


class Target:
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

    def candidate(self, tag: Tag, words: Sequence[str]) -> tuple[int, int]:
        """Slots for the tag's source words: aligned, else copied, else proportional.

        An element never grows over a slot aligned to words outside it: it takes the longest
        contiguous run of slots aligned only to its words (an opaque one replaces them). A
        copy of its own text among its aligned slots wins over attention (``UNICEF`` in
        "UNICEF supports the schools", all aligned to ``L'UNICEF``).
        """
        start, end = tag.start, tag.end
        if start == end:
            point = self.anchor(start)
            return point, point
        aligned = sorted({t for s, t in self.alignment if start <= s < end})
        if tag.opaque:
            return self._own_run(start, end, aligned, words)
        copy_at = self._copy_of(tag.words or words[start:end])
        if aligned:
            if copy_at is not None and aligned[0] <= copy_at[0] < aligned[-1] + 1:
                return copy_at
            mixed = {t for s, t in self.alignment if not start <= s < end}
            return _first_longest_run([t for t in aligned if t not in mixed] or aligned)
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
            return _first_longest_run(own)
        copy_at = self._copy_of(words[start:end])
        if copy_at is not None:
            return copy_at
        point = self.proportional(start)
        return point, point

    def _copy_of(self, words: Sequence[str]) -> tuple[int, int] | None:
        """Slots holding ``words`` as written (an elided article before the first one, as in
        the French ``L'UNICEF``, may stay in its slot)."""
        wanted = [_core(word) for word in words]
        cores = [_core(slot) for slot in self.slots]
        for t in range(len(cores) - len(wanted) + 1):
            found = cores[t : t + len(wanted)]
            if found and found[0] != wanted[0]:
                found[0] = _ELISION.sub("", found[0], count=1)
            if found == wanted:
                return t, t + len(wanted)
        return None


def _first_longest_run(slots: Sequence[int]) -> tuple[int, int]:
    """The longest run of consecutive slots in sorted ``slots`` (the first on a tie)."""
    pairs = itertools.groupby(enumerate(slots), lambda pair: pair[1] - pair[0])
    longest = max(([t for _, t in run] for _, run in pairs), key=len)
    return longest[0], longest[-1] + 1


#: An elided article or pronoun glued before a word (``l'``, ``d'``, ``qu'``).
_ELISION = re.compile(r"^[^\W\d_]{1,3}['\u2019](?=\w)")


def _core(word: str) -> str:
    return word.strip(".,;:!?…\"'«»()[]{}")


#: What a run is rebuilt from: text, or ``(tag index, children)`` for an element.
Item = str | tuple[int, list["Item"]]


def _place(tags: Sequence[Tag], words: Sequence[str], target: Target) -> list[tuple[int, int]]:
    """A properly nested slot interval for every tag of a run (``words`` are its source words).

    Parents are placed before children and non-empty candidates before empty ones; each is
    clipped to its parent and to the free gaps left by its siblings, or becomes an empty point.
    """
    depth: list[int] = []
    for tag in tags:
        depth.append(0 if tag.parent is None else depth[tag.parent] + 1)
    wanted = [target.candidate(tag, words) for tag in tags]
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

    def __init__(self, tags: Sequence[Tag], words: Sequence[str], target: Target) -> None:
        self.tags = tags
        self.slots = list(target.slots)
        self.placed = _place(tags, words, target)
        self.children: dict[int | None, list[int]] = {}
        for i, tag in enumerate(tags):
            self.children.setdefault(tag.parent, []).append(i)
        for kids in self.children.values():
            kids.sort(key=lambda i: self.placed[i])
        self.need_space = False

    def emit(self, owner: int | None, lo: int, hi: int) -> list[Item]:
        items: list[Item] = []
        position = lo
        for k in self.children.get(owner, []):
            start, end = self.placed[k]
            self._words(items, position, start)
            self._element(items, k)
            position = max(position, end)
        self._words(items, position, hi)
        return items

    def _words(self, items: list[Item], lo: int, hi: int) -> None:
        for t in range(lo, hi):
            self._text(items, self.slots[t])

    def _text(self, items: list[Item], text: str) -> None:
        if text:
            if self.need_space:
                items.append(" ")
            items.append(text)
            self.need_space = True

    def _element(self, items: list[Item], k: int) -> None:
        start, end = self.placed[k]
        tag, suffix = self.tags[k], ""
        if start < end and tag.trim_leading:
            lead = _match(OPENING, self.slots[start])
            self._text(items, lead)
            self.slots[start] = self.slots[start][len(lead) :]
            self.need_space = self.need_space and not lead
        last = max((t for t in range(start, end) if self.slots[t]), default=end - 1)
        if start < end and tag.trim_trailing:
            suffix = _match(CLOSING, self.slots[last])
            self.slots[last] = self.slots[last][: len(self.slots[last]) - len(suffix)]
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


def attach(
    parent: HtmlElement,
    index: int,
    previous: HtmlElement | None,
    items: Sequence[Item],
    tags: Sequence[Tag],
) -> None:
    """Insert ``items`` into ``parent`` at ``index``, after ``previous`` (None: parent's text).

    Consecutive text items are joined and written once: each write to an lxml text or tail
    converts the whole string again, so word by word was quadratic in the run's length.
    """
    text: list[str] = []
    for item in items:
        if isinstance(item, str):
            text.append(item)
            continue
        _add_text(parent, previous, text)
        k, inner = item
        source = tags[k].element
        if tags[k].opaque:
            element = source
            element.tail = None
        else:
            element = source.makeelement(source.tag, dict(source.attrib))
            attach(element, 0, None, inner, tags)
        parent.insert(index, element)
        index += 1
        previous = element
    _add_text(parent, previous, text)


def _add_text(parent: HtmlElement, previous: HtmlElement | None, text: list[str]) -> None:
    """Append the pending ``text`` items to ``previous``'s tail (None: ``parent``'s text) and
    empty the list."""
    if not text:
        return
    joined = "".join(text)
    text.clear()
    if previous is None:
        parent.text = (parent.text or "") + joined
    else:
        previous.tail = (previous.tail or "") + joined


def inline_items(tags: Sequence[Tag], words: Sequence[str], target: Target) -> list[Item]:
    """The whole run as text and ``(tag index, children)`` items, every tag placed once."""
    return _Emitter(tags, words, target).emit(None, 0, len(target.slots))
