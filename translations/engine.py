"""The batched translation engine: an installed Argos package's own model, driven directly.

``argostranslate.translate.translate()`` cannot be used as it is: it splits text with MiniSBD,
which downloads a model on first use and fails offline; it translates one text at a time
(with its defaults, 17x slower than this engine on the test model, two cores: see
``benchmarks/translate_throughput.py``); its beam search (beam 4, ``length_penalty=0.2``,
patience 1) gets 61 of the 710 corpus translations wrong, mostly cut short; and its decoder
turns every ``_`` into a space. So this module
loads the package's CTranslate2 model (``<package>/model``) and SentencePiece tokenizer
(``<package>/sentencepiece.model``) itself and translates whole batches of sentences that the
caller has already split (``translations.segment``).

Beam search stops once ``beam_size * patience`` hypotheses have finished, so a short hypothesis
(``"Heavy in Timbuktu."``) can finish first and win; on the test model this happens with
patience 1 whatever the length penalty (0.2 or 1). The defaults here (``patience=2``,
CTranslate2's normalising ``length_penalty=1``) keep searching until the full translation is
found; the tests check every corpus pair both ways. (``length_penalty=0`` with patience 1 also
reproduces the corpus and is about 1.5x faster, but ranks hypotheses by raw log-probability.)

Batching: one ``translate_batch`` call per hop gets every sentence; CTranslate2 sorts them by
length, cuts them into ``max_batch_size`` chunks (little padding), spreads the chunks over
``inter_threads`` workers and returns results in input order.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from translations.errors import TranslationError
from translations.types import AlignedTranslation

if TYPE_CHECKING:
    import ctranslate2
    import numpy
    import sentencepiece

__all__ = [
    "ArgosTranslator",
    "EngineSettings",
    "EngineStats",
    "InstalledPackage",
    "LoadedModel",
    "ModelRouter",
    "align_words",
    "compose_alignments",
    "load_model",
]

#: SentencePiece's word-start marker.
_WORD_START = "\u2581"
#: Stripped from both ends of a word before comparing forms (``camp.`` is ``camp``).
_EDGE_PUNCTUATION = ".,;:!?()[]{}\"'«»\u201c\u201d\u2018\u2019"

Alignment = tuple[tuple[int, int], ...]


class InstalledPackage(Protocol):
    """What the engine needs to know about one installed Argos package (``models.py``)."""

    @property
    def path(self) -> Path: ...
    @property
    def from_code(self) -> str: ...
    @property
    def to_code(self) -> str: ...
    @property
    def model_id(self) -> str:
        """``name@version``: changes whenever the model's output may change."""
        ...


class ModelRouter(Protocol):
    """Finds the packages that translate ``src`` into ``tgt``: one, or two through a pivot.

    Raises ``ModelNotInstalledError`` when no route exists.
    """

    def route(self, src: str, tgt: str) -> Sequence[InstalledPackage]: ...


@dataclass(frozen=True)
class EngineSettings:
    """Decoding and threading options for every model the engine runs."""

    beam_size: int = 4
    #: Beam search ends after ``beam_size * patience`` finished hypotheses; 2 avoids truncation.
    patience: float = 2.0
    #: 1.0 is CTranslate2's neutral default; Argos's 0.2 favours short (truncated) outputs.
    length_penalty: float = 1.0
    #: Batches decoded in parallel; with ``intra_threads=1`` this is best on two cores.
    inter_threads: int = 2
    intra_threads: int = 1
    #: Examples per batch; CTranslate2 sorts by length before cutting batches.
    max_batch_size: int = 64
    #: Longest output in pieces; a safety net against a model that never ends a sentence.
    max_decoding_length: int = 512
    device: str = "cpu"
    compute_type: str = "default"

    def __post_init__(self) -> None:
        for name in ("beam_size", "inter_threads", "max_batch_size", "max_decoding_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"EngineSettings.{name} must be at least 1")
        if self.patience < 1 or self.intra_threads < 0:
            raise ValueError("EngineSettings.patience must be >= 1 and intra_threads >= 0")

    def decoding_options(self) -> dict[str, Any]:
        """The ``translate_batch`` keyword arguments every call uses (benchmarks reuse them)."""
        return {
            "beam_size": self.beam_size,
            "patience": self.patience,
            "length_penalty": self.length_penalty,
            "max_batch_size": self.max_batch_size,
            "batch_type": "examples",
            "max_decoding_length": self.max_decoding_length,
            "replace_unknowns": True,
        }


@dataclass
class EngineStats:
    """Model work done so far; tests and the cycle assert that an unchanged cycle adds nothing."""

    #: ``translate_batch`` calls (one per hop of each non-empty ``translate`` call).
    calls: int = 0
    #: Batches of at most ``max_batch_size`` examples those calls were cut into.
    batches: int = 0
    #: Sentences given to a model (a pivot counts each sentence once per hop).
    segments: int = 0


@dataclass(frozen=True)
class LoadedModel:
    """A package's CTranslate2 translator and SentencePiece tokenizer."""

    translator: ctranslate2.Translator
    tokenizer: sentencepiece.SentencePieceProcessor


class ArgosTranslator:
    """``AligningTranslator`` over installed Argos packages; texts are single sentences.

    Models load on first use and stay loaded. Safe to call from several threads (CTranslate2
    translators are thread-safe; loading is serialised), though one cycle at a time is the plan.
    """

    def __init__(self, router: ModelRouter, settings: EngineSettings | None = None) -> None:
        self._router = router
        self.settings = settings or EngineSettings()
        self.stats = EngineStats()
        self._models: dict[Path, LoadedModel] = {}
        self._lock = threading.Lock()

    def model_id(self, src: str, tgt: str) -> str:
        return "+".join(package.model_id for package in self._router.route(src, tgt))

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return [result.text for result in self._translate(texts, src, tgt, aligned=False)]

    def translate_aligned(
        self, texts: Sequence[str], src: str, tgt: str
    ) -> list[AlignedTranslation]:
        return self._translate(texts, src, tgt, aligned=True)

    def _translate(
        self, texts: Sequence[str], src: str, tgt: str, *, aligned: bool
    ) -> list[AlignedTranslation]:
        route = self._router.route(src, tgt)
        results = [AlignedTranslation(text) for text in texts]
        for position, hop in enumerate(route):
            try:
                hop_results = self._run(hop, [result.text for result in results], aligned=aligned)
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranslationError(
                    src, tgt, f"model failed on a batch of {len(texts)}", model=hop.model_id
                ) from exc
            if aligned and position > 0:
                hop_results = [
                    AlignedTranslation(
                        now.text, compose_alignments(before.alignment, now.alignment)
                    )
                    for before, now in zip(results, hop_results, strict=True)
                ]
            results = hop_results
        return results

    def _run(
        self, package: InstalledPackage, texts: Sequence[str], *, aligned: bool
    ) -> list[AlignedTranslation]:
        """One hop: every non-blank text through one model in one ``translate_batch`` call."""
        todo = [index for index, text in enumerate(texts) if text.strip()]
        results = [AlignedTranslation("") for _ in texts]
        if not todo:
            return results
        model = self._load(package)
        pieces: list[list[str]] = model.tokenizer.encode([texts[i] for i in todo], out_type=str)
        settings = self.settings
        outputs = model.translator.translate_batch(
            pieces, **settings.decoding_options(), return_attention=aligned
        )
        with self._lock:
            self.stats.calls += 1
            self.stats.batches += -(-len(todo) // settings.max_batch_size)
            self.stats.segments += len(todo)
        for index, source_pieces, output in zip(todo, pieces, outputs, strict=True):
            target_pieces = output.hypotheses[0]
            text = model.tokenizer.decode(target_pieces)
            alignment: Alignment = ()
            if aligned:
                alignment = align_words(
                    source_pieces, target_pieces, output.attention[0], texts[index], text
                )
            results[index] = AlignedTranslation(text, alignment)
        return results

    def _load(self, package: InstalledPackage) -> LoadedModel:
        with self._lock:
            loaded = self._models.get(package.path)
            if loaded is None:
                loaded = self._models[package.path] = load_model(package.path, self.settings)
            return loaded


def load_model(path: Path, settings: EngineSettings) -> LoadedModel:
    """Load ``<path>/model`` and ``<path>/sentencepiece.model`` with ``settings``' device and
    threads (heavy imports happen here)."""
    import ctranslate2
    import sentencepiece

    translator = ctranslate2.Translator(
        str(path / "model"),
        device=settings.device,
        compute_type=settings.compute_type,
        inter_threads=settings.inter_threads,
        intra_threads=settings.intra_threads,
    )
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(path / "sentencepiece.model"))
    return LoadedModel(translator, tokenizer)


def _word_starts(pieces: Sequence[str]) -> list[int]:
    """The index of each word's first piece: a word-start marker (even a bare one) opens a word.

    A bare marker (``▁`` before ``#`` or ``«``) belongs to the word it opens; its attention row
    often carries that word's best evidence.
    """
    return [i for i, piece in enumerate(pieces) if i == 0 or piece.startswith(_WORD_START)]


def _attention_weights(
    source_starts: Sequence[int],
    target_starts: Sequence[int],
    attention: Sequence[Sequence[float]],
) -> numpy.ndarray[Any, numpy.dtype[numpy.float64]]:
    """Per (target word, source word): the sum over the target word's pieces of each piece's
    strongest pull to the source word.

    The maximum over a source word's pieces, not the sum: a sum favours words cut into many
    pieces (``28/12`` is six) over the word actually attended to. A word with no attention
    (rows or columns the model did not return) weighs 0.
    """
    import numpy

    weights = numpy.zeros((len(target_starts), len(source_starts)))
    matrix = numpy.asarray(attention, dtype=numpy.float64)
    if matrix.ndim != 2 or not matrix.size:
        return weights
    # Words whose first piece has attention; their pieces are contiguous, so reduceat works.
    columns = [start for start in source_starts if start < matrix.shape[1]]
    rows = [start for start in target_starts if start < matrix.shape[0]]
    per_source = numpy.maximum.reduceat(matrix, columns, axis=1)
    weights[: len(rows), : len(columns)] = numpy.add.reduceat(per_source, rows, axis=0)
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
    attention: Sequence[Sequence[float]],
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
