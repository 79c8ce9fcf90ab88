"""SentencePiece pieces and the words around them: word alignment from attention, and cutting a
sentence too long for a model into parts at word boundaries.

Both work on the pieces CTranslate2 sees and the ``str.split()`` words the rest of the
translation layer uses (``AlignedTranslation``): a piece starting with the word-start marker
``▁`` opens a word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import numpy

__all__ = [
    "Alignment",
    "Matrix",
    "align_words",
    "compose_alignments",
    "cut_pieces",
    "shift_alignment",
]

#: SentencePiece's word-start marker.
WORD_START = "\u2581"
#: Stripped from both ends of a word before comparing forms (``camp.`` is ``camp``).
_EDGE_PUNCTUATION = ".,;:!?()[]{}\"'«»\u201c\u201d\u2018\u2019"
#: A part of a long sentence preferably ends after one of these.
_PAUSE = tuple(".!?;:,")

Alignment = tuple[tuple[int, int], ...]
#: An attention matrix: one row per target piece, one column per source piece.
Matrix: TypeAlias = "numpy.ndarray[Any, numpy.dtype[numpy.float64]]"


def cut_pieces(pieces: Sequence[str], limit: int) -> list[Sequence[str]]:
    """``pieces`` in parts of at most ``limit`` pieces, so no model input is ever truncated.

    CTranslate2 silently drops what lies past its ``max_input_length``, and a model with a
    learned position table (the test model's has 256 rows) fails on the whole batch. A part
    ends at the last word start of its window that follows punctuation (``.;:,``), else at the
    last word start; a single word longer than ``limit`` is cut inside.
    """
    if len(pieces) <= limit:
        return [pieces]
    parts: list[Sequence[str]] = []
    start = 0
    while len(pieces) - start > limit:
        window = range(start + 1, start + limit + 1)
        starts = [i for i in window if pieces[i].startswith(WORD_START)]
        pauses = [i for i in starts if pieces[i - 1].endswith(_PAUSE)]
        end = (pauses or starts or [start + limit])[-1]
        parts.append(pieces[start:end])
        start = end
    parts.append(pieces[start:])
    return parts


def shift_alignment(alignment: Alignment, source: int, target: int) -> Alignment:
    """``alignment`` of a part of a sentence, moved to where the part's words start."""
    return tuple((s + source, t + target) for s, t in alignment)


def _word_starts(pieces: Sequence[str]) -> list[int]:
    """The index of each word's first piece: a word-start marker (even a bare one) opens a word.

    A bare marker (``▁`` before ``#`` or ``«``) belongs to the word it opens; its attention row
    often carries that word's best evidence.
    """
    return [i for i, piece in enumerate(pieces) if i == 0 or piece.startswith(WORD_START)]


def _attention_weights(
    source_starts: Sequence[int],
    target_starts: Sequence[int],
    attention: Matrix | Sequence[Sequence[float]],
) -> Matrix:
    """Per (target word, source word): the sum over the target word's pieces of each piece's
    strongest pull to the source word.

    The maximum over a source word's pieces, not the sum: a sum favours words cut into many
    pieces (``28/12`` is six) over the word actually attended to. A word with no attention
    (rows or columns the model did not return) weighs 0.
    """
    import numpy

    matrix = numpy.asarray(attention, dtype=numpy.float64)
    if matrix.ndim != 2 or not matrix.size:
        return numpy.zeros((len(target_starts), len(source_starts)))
    # Words whose first piece has attention; their pieces are contiguous, so reduceat works.
    columns = [start for start in source_starts if start < matrix.shape[1]]
    rows = [start for start in target_starts if start < matrix.shape[0]]
    per_source = numpy.maximum.reduceat(matrix, columns, axis=1)
    summed = numpy.add.reduceat(per_source, rows, axis=0)
    if len(rows) == len(target_starts) and len(columns) == len(source_starts):
        return summed  # every word has attention (the usual case): nothing to pad
    weights = numpy.zeros((len(target_starts), len(source_starts)))
    weights[: len(rows), : len(columns)] = summed
    return weights


def _anchors(source: Sequence[str], target: Sequence[str]) -> dict[int, int]:
    """Target word -> source word for words the model copies: identical, or hashtag/mention.

    A tiny model's attention is noisy, and copied tokens (numbers, names, ``#tags``) are
    exactly where inline tags and glossary terms most often sit, so they are matched on form:
    a word found once on each side (ignoring case and edge punctuation), and the n-th
    ``#``/``@`` word of each side when both sides have as many.
    """

    source_forms = [word.strip(_EDGE_PUNCTUATION).casefold() for word in source]
    target_forms = [word.strip(_EDGE_PUNCTUATION).casefold() for word in target]
    source_counts, target_counts = Counter(source_forms), Counter(target_forms)
    anchors = {
        index: source_forms.index(word)
        for index, word in enumerate(target_forms)
        if word and target_counts[word] == 1 and source_counts[word] == 1
    }
    for marker in "#@":
        source_tags = [i for i, word in enumerate(source_forms) if word.startswith(marker)]
        if not source_tags:
            continue
        target_tags = [i for i, word in enumerate(target_forms) if word.startswith(marker)]
        if len(source_tags) == len(target_tags):
            anchors.update(zip(target_tags, source_tags, strict=True))
    return anchors


def align_words(
    source_pieces: Sequence[str],
    target_pieces: Sequence[str],
    attention: Matrix | Sequence[Sequence[float]],
    source: str,
    target: str,
) -> Alignment:
    """``(source_word, target_word)`` pairs over ``str.split()`` words, one per target word.

    Copied words are matched on form (``_anchors``); every other target word goes to the source
    word its pieces attended to most (the first on a tie). Returns ``()`` when the pieces do
    not match the words of the texts (unusual normalisation), rather than guessing.
    """
    source_split, target_split = source.split(), target.split()
    source_starts = _word_starts(source_pieces)
    target_starts = _word_starts(target_pieces)
    if len(source_starts) != len(source_split) or len(target_starts) != len(target_split):
        return ()
    strongest = _attention_weights(source_starts, target_starts, attention).argmax(axis=1)
    anchors = _anchors(source_split, target_split)
    return tuple(
        (anchors.get(index, int(best)), index) for index, best in enumerate(strongest.tolist())
    )


def compose_alignments(first: Alignment, second: Alignment) -> Alignment:
    """Alignment through a pivot: ``(a, c)`` for each ``(a, b)`` in first, ``(b, c)`` in second."""
    by_pivot: dict[int, list[int]] = {}
    for source_word, pivot_word in first:
        by_pivot.setdefault(pivot_word, []).append(source_word)
    pairs = {
        (source_word, target_word)
        for pivot_word, target_word in second
        for source_word in by_pivot.get(pivot_word, ())
    }
    return tuple(sorted(pairs, key=lambda pair: (pair[1], pair[0])))
