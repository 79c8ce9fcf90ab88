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

Long input: CTranslate2 silently truncates an input past ``max_input_length`` pieces, and a
model with a learned position table fails the whole batch on one; so a sentence longer than
``EngineSettings.max_input_length`` goes in as parts cut at word boundaries (after punctuation
where possible: ``translations.pieces.cut_pieces``) and comes back joined, alignment included.

Runaway output: a model that does not know a lone word ("x", "ok", "Gao") may never end its
sentence, and a model with a position table (the test model's has 256) then raises on the
whole batch. So decoding is capped per batch relative to input length (``_Decoder``); an
output that reaches its cap is not used: that sentence is kept as written (``EngineStats.
runaway``, a warning in the log). Not an error that fails the batch, but not a translation
either: ``translate_aligned`` marks it (``AlignedTranslation.failure``), so the pipeline
reports the field as untranslated and never remembers the source as its translation (issue
11: "Le camp de Tombouctou" was published in the English feed as done). The one exception is
a name (capitalised words only: "Gao", "Ahmed Traoré") or a lone letter ("x"), which is its
own translation; a capitalised single word that is not a name ("Attention") is
indistinguishable from one here.

Batching: the sentences of one hop are sorted by length and cut into ``max_batch_size``
batches (little padding), submitted together to CTranslate2, whose ``inter_threads`` workers
decode them in parallel; results come back in input order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from lingofeed.translations.errors import TranslationError
from lingofeed.translations.modelfile import decoder_positions, package_stamp
from lingofeed.translations.pieces import (
    Matrix,
    align_words,
    compose_alignments,
    cut_pieces,
    shift_alignment,
)
from lingofeed.translations.types import AlignedTranslation

if TYPE_CHECKING:
    import ctranslate2
    import sentencepiece

log = logging.getLogger("lingofeed.translations")

__all__ = [
    "COMPUTE_TYPES",
    "DEVICES",
    "ArgosTranslator",
    "EngineSettings",
    "EngineStats",
    "InstalledPackage",
    "LoadedModel",
    "ModelRouter",
    "cuda_device_count",
    "load_model",
    "supported_compute_types",
]


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

    @property
    def stamp(self) -> tuple[int, ...]:
        """``modelfile.package_stamp`` of ``path`` when the package was read."""
        ...


class ModelRouter(Protocol):
    """Finds the packages that translate ``src`` into ``tgt``: one, or two through a pivot.

    Raises ``ModelNotInstalledError`` when no route exists.
    """

    def route(self, src: str, tgt: str) -> Sequence[InstalledPackage]: ...


#: ``device`` values: ``auto`` takes a CUDA GPU when CTranslate2 sees one, else the CPU.
DEVICES = ("auto", "cpu", "cuda")
#: CTranslate2's compute types: ``default`` keeps the model's own (int8 for Argos packages),
#: ``auto`` takes the fastest the device supports; the others quantise or convert on load.
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


@dataclass(frozen=True)
class EngineSettings:
    """Decoding, threading and device options for every model the engine runs.

    The one definition: ``[engine]`` in the config builds this class (``scheduler.config``),
    and its defaults are the documented ones (``config/lingofeed.example-full.toml``, checked
    by a test).
    """

    #: 2 with ``patience=2`` reproduces the whole corpus both ways, as 3 and 4 do, at about
    #: half beam 4's decoding time (``benchmarks/translate_throughput``).
    beam_size: int = 2
    #: Beam search ends after ``beam_size * patience`` finished hypotheses; 2 avoids truncation.
    patience: float = 2.0
    #: 1.0 is CTranslate2's neutral default; Argos's 0.2 favours short (truncated) outputs.
    length_penalty: float = 1.0
    #: Batches decoded in parallel; with ``intra_threads=1`` this is best on two cores.
    inter_threads: int = 2
    intra_threads: int = 1
    #: Examples per batch (the config's ``batch_size``); sorted by length before cutting.
    max_batch_size: int = 32
    #: Longest output in pieces, whatever the input; each batch is capped lower (``_Decoder``).
    max_decoding_length: int = 512
    #: Longest input in pieces; a longer sentence is translated in parts (``cut_pieces``),
    #: never truncated. 250 + the end token fits a 256-position model (the test model's).
    max_input_length: int = 250
    #: One of ``DEVICES``; ``cuda`` on a machine without one fails when the model loads, so
    #: the config refuses it up front (``scheduler.config``).
    device: str = "auto"
    #: One of ``COMPUTE_TYPES``.
    compute_type: str = "default"

    def __post_init__(self) -> None:
        for name in (
            "beam_size",
            "inter_threads",
            "max_batch_size",
            "max_decoding_length",
            "max_input_length",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"EngineSettings.{name} must be at least 1")
        if self.patience < 1 or self.intra_threads < 0:
            raise ValueError("EngineSettings.patience must be >= 1 and intra_threads >= 0")
        if self.device not in DEVICES or self.compute_type not in COMPUTE_TYPES:
            raise ValueError(
                f"EngineSettings.device must be one of {', '.join(DEVICES)} and compute_type "
                f"one of {', '.join(COMPUTE_TYPES)}"
            )

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
    #: Of those, sentences longer than ``max_input_length`` pieces, translated in parts.
    split: int = 0
    #: Sentences whose output ran away (no end within the decoding cap): kept as written.
    runaway: int = 0


@dataclass(frozen=True)
class LoadedModel:
    """A package's CTranslate2 translator and SentencePiece tokenizer."""

    translator: ctranslate2.Translator
    tokenizer: sentencepiece.SentencePieceProcessor
    #: Rows of the decoder's position table, None when unbounded or unknown.
    positions: int | None = None


class ArgosTranslator:
    """``AligningTranslator`` over installed Argos packages; texts are single sentences.

    Models load on first use and stay loaded, one per language pair, keyed by what was
    installed (``model_id`` and ``stamp``): a newer version installed under a running service
    (same folder, new files) is loaded on the next job, never served under the old id.

    The translation memory keys a result on ``model_id(src, tgt)``, so the weights must be the
    ones that id names even if a package is replaced between that call and ``translate``:
    ``model_id`` reads the installed packages and binds the route it reports to the calling
    thread, and that thread's ``translate`` calls for the pair use it (the pipeline asks for the
    id once per job, so each job sees the install of its start). A bound package whose folder
    changed before its weights were loaded fails that batch (``TranslationError``), to be
    translated by the next job, rather than translating with the new files under the old id.

    Safe to call from several threads (CTranslate2 translators are thread-safe; loading is
    serialised), though one cycle at a time is the plan.
    """

    def __init__(self, router: ModelRouter, settings: EngineSettings | None = None) -> None:
        self._router = router
        self.settings = settings or EngineSettings()
        self.stats = EngineStats()
        self._models: dict[tuple[str, str], tuple[tuple[str, tuple[int, ...]], LoadedModel]] = {}
        self._lock = threading.Lock()
        self._bound = threading.local()

    def model_id(self, src: str, tgt: str) -> str:
        route = tuple(self._router.route(src, tgt))
        self._routes()[(src, tgt)] = route
        return "+".join(package.model_id for package in route)

    def _routes(self) -> dict[tuple[str, str], tuple[InstalledPackage, ...]]:
        """This thread's routes, as its last ``model_id`` call for each pair reported them."""
        routes: dict[tuple[str, str], tuple[InstalledPackage, ...]] | None
        routes = getattr(self._bound, "routes", None)
        if routes is None:
            routes = self._bound.routes = {}
        return routes

    def _route(self, src: str, tgt: str) -> Sequence[InstalledPackage]:
        bound = self._routes().get((src, tgt))
        return bound if bound is not None else self._router.route(src, tgt)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return [result.text for result in self._translate(texts, src, tgt, aligned=False)]

    def translate_aligned(
        self, texts: Sequence[str], src: str, tgt: str, *, align: bool = True
    ) -> list[AlignedTranslation]:
        return self._translate(texts, src, tgt, aligned=align)

    def _translate(
        self, texts: Sequence[str], src: str, tgt: str, *, aligned: bool
    ) -> list[AlignedTranslation]:
        route = self._route(src, tgt)
        results = [AlignedTranslation(text) for text in texts]
        kept: dict[int, str] = {}  # index -> the model whose output ran away
        for position, hop in enumerate(route):
            hop_texts = ["" if i in kept else result.text for i, result in enumerate(results)]
            try:
                hop_results, runaway = self._run(hop, hop_texts, aligned=aligned)
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranslationError(
                    src, tgt, f"model failed on a batch of {len(texts)}", model=hop.model_id
                ) from exc
            for index in sorted(runaway):
                log.warning(
                    "%s: output ran away (no end, or absurdly long); kept as written: %.80r",
                    hop.model_id,
                    texts[index],
                )
            kept.update(dict.fromkeys(runaway, hop.model_id))  # kept ones are blank in later hops
            if aligned and position > 0:
                hop_results = [
                    AlignedTranslation(
                        now.text, compose_alignments(before.alignment, now.alignment)
                    )
                    for before, now in zip(results, hop_results, strict=True)
                ]
            results = hop_results
        with self._lock:
            self.stats.runaway += len(kept)
        for index, model_id in kept.items():
            results[index] = _kept(texts[index], model_id)
        return results

    def _run(
        self, package: InstalledPackage, texts: Sequence[str], *, aligned: bool
    ) -> tuple[list[AlignedTranslation], set[int]]:
        """One hop: every non-blank text through one model; also the indices that ran away.

        A text longer than ``max_input_length`` pieces goes in as several examples (its
        parts), whose translations and alignments are joined back in order. A text any of
        whose parts ran away (``_Decoder``) is reported instead of translated.
        """
        todo = [index for index, text in enumerate(texts) if text.strip()]
        results = [AlignedTranslation("") for _ in texts]
        if not todo:
            return results, set()
        model = self._load(package)
        encoded = model.tokenizer.encode([texts[i] for i in todo], out_type=str)
        parts = [cut_pieces(pieces, self.settings.max_input_length) for pieces in encoded]
        examples = [part for sentence in parts for part in sentence]
        decoder = _Decoder(model, self.settings)
        outputs = iter(decoder.translate(examples, aligned=aligned))
        runaway: set[int] = set()
        with self._lock:
            self.stats.calls += 1
            self.stats.batches += decoder.batches
            self.stats.segments += len(todo)
            self.stats.split += sum(len(sentence) > 1 for sentence in parts)
        for index, sentence in zip(todo, parts, strict=True):
            done = [output for _ in sentence if (output := next(outputs)) is not None]
            if len(done) < len(sentence):
                runaway.add(index)
            elif len(sentence) == 1:
                results[index] = _result(sentence[0], done[0], texts[index], aligned)
            else:
                sources = [model.tokenizer.decode(list(part)) for part in sentence]
                translated = [
                    _result(part, output, source, aligned)
                    for part, output, source in zip(sentence, done, sources, strict=True)
                ]
                results[index] = _joined(sources, translated, texts[index])
        return results, runaway

    def _load(self, package: InstalledPackage) -> LoadedModel:
        """The package's model: the loaded one if it is this id and stamp, else read now.

        The folder is stamped again after reading: if it changed since the package was listed
        (a new version renamed into place), the files read may be the new version's, so they
        are not used under this package's id.
        """
        identity = (package.model_id, package.stamp)
        pair = (package.from_code, package.to_code)
        with self._lock:
            cached = self._models.get(pair)
            if cached is not None and cached[0] == identity:
                return cached[1]
            loaded = load_model(package.path, self.settings)
            if package_stamp(package.path) != package.stamp:
                raise TranslationError(
                    *pair,
                    f"{package.path} was replaced after it was listed for this job; the next "
                    "job translates with the package installed then",
                    model=package.model_id,
                )
            self._models[pair] = (identity, loaded)
            return loaded


class _Decoder:
    """Decodes examples in batches of similar length, with an output cap per batch.

    Why a cap: a model that does not know a lone word ("x", "Gao") may never end the sentence
    ("Gao Gao Gao ..."), and a model with a position table then raises on the whole batch once
    an output reaches the end of the table. So a batch decodes at most
    ``min(positions - 1, 3 * n + 10, max_decoding_length)`` pieces, ``n`` being its longest
    input's pieces. An output of more than ``2 * n + 8`` pieces for its own input of ``n``
    (which includes every output stopped by the cap) is a runaway, not a translation: the test
    model turns "x" into a whole corpus sentence, while no corpus translation exceeds
    ``2 * n + 4`` ("peacekeeping", 1 piece, is "maintien de la paix", 6). A runaway is reported
    as ``None``, whatever else shared its batch, and the caller keeps that sentence as written
    (``_kept``: right for a name or a letter, a failure for anything else). Batches go to
    CTranslate2 asynchronously, so its ``inter_threads`` workers still decode them in parallel.
    """

    def __init__(self, model: LoadedModel, settings: EngineSettings) -> None:
        self._model = model
        self._settings = settings
        self.batches = 0

    def cap(self, pieces: int) -> int:
        """The most pieces a batch whose longest input has ``pieces`` pieces decodes."""
        limit = min(self._settings.max_decoding_length, 3 * pieces + 10)
        positions = self._model.positions
        return limit if positions is None else max(1, min(limit, positions - 1))

    def ran_away(self, pieces: int, output: Sequence[str]) -> bool:
        """Whether ``output`` is no translation of an input of ``pieces`` pieces."""
        return len(output) >= self.cap(pieces) or len(output) > 2 * pieces + 8

    def translate(
        self, examples: Sequence[Sequence[str]], *, aligned: bool
    ) -> list[_Output | None]:
        """One result per example, in order; None for a runaway output.

        ``aligned`` asks the search for its attention, and (at beam >= 2) submits a one-step
        pass whose attention replaces each hypothesis's row 0 (``first_rows``).
        """
        size = self._settings.max_batch_size
        order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
        options = self._settings.decoding_options()
        options["return_attention"] = aligned
        pending = []
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            options["max_decoding_length"] = self.cap(len(examples[batch[-1]]))
            futures = self._model.translator.translate_batch(
                [list(examples[i]) for i in batch], **options, asynchronous=True
            )
            pending.append((batch, futures))
        self.batches = len(pending)
        first = self.first_rows(examples, order) if aligned and options["beam_size"] > 1 else {}
        outputs: list[_Output | None] = [None] * len(examples)
        finished: list[tuple[int, Sequence[str], Matrix]] = []
        for batch, futures in pending:
            for index, future in zip(batch, futures, strict=True):
                result = future.result()
                hypothesis = result.hypotheses[0]
                if self.ran_away(len(examples[index]), hypothesis):
                    continue
                attention = _attention(result, len(hypothesis) if aligned else 0)
                if attention.size and index in first:
                    attention[0] = first[index].result().attention[0][0]
                finished.append((index, hypothesis, attention))
        # One call decodes every output: much cheaper than one call per sentence.
        texts = self._model.tokenizer.decode([list(pieces) for _, pieces, _ in finished])
        for (index, pieces, attention), text in zip(finished, texts, strict=True):
            outputs[index] = _Output(pieces, text, attention)
        return outputs

    def first_rows(
        self, examples: Sequence[Sequence[str]], order: Sequence[int]
    ) -> dict[int, ctranslate2.AsyncTranslationResult]:
        """Each example's first-step attention (its row 0) from a one-step greedy pass.

        Why: with beam >= 2, CTranslate2 4.8.5 returns as row 0 of a hypothesis's attention
        the first-step attention of *another example of the batch* (rows 1+ are right), so an
        alignment built on it changed with what else was in the batch (issue 11). Greedy
        decoding (beam 1) is unaffected, and the first step's attention depends only on the
        source (every hypothesis starts from the start token), so one greedy step per
        example gives the right row 0 whatever the batch: no need to decode the whole
        hypothesis again (a forced ``target_prefix`` pass cost about a quarter of the beam
        search; this one costs one encoder pass and one step, ``benchmarks/
        translate_throughput``). ``min_decoding_length=1`` keeps the step from ending at
        once. Submitted with the search, so both decode at the same time.
        """
        options = self._settings.decoding_options()
        options.update(
            beam_size=1,
            patience=1,
            max_decoding_length=1,
            min_decoding_length=1,
            return_attention=True,
        )
        futures = self._model.translator.translate_batch(
            [list(examples[index]) for index in order], **options, asynchronous=True
        )
        return dict(zip(order, futures, strict=True))


def _attention(result: ctranslate2.TranslationResult, rows: int) -> Matrix:
    """The first ``rows`` rows of a result's attention, as one array.

    Why not the lists CTranslate2 returns: a batch's worth of lists of lists waits for the
    alignment, and tens of thousands of live lists make the cyclic garbage collector walk
    them again and again (issue 11: a fifth of the pipeline's own time). float64 holds
    CTranslate2's float32 values exactly, so the alignment is the same.
    """
    import numpy

    if not rows:
        return numpy.zeros((0, 0))
    return numpy.asarray(result.attention[0][:rows], dtype=numpy.float64)


def _kept(text: str, model_id: str) -> AlignedTranslation:
    """A sentence on which ``model_id``'s output ran away, as written: a name or a lone
    letter is its own translation; anything else is untranslated and says so."""
    if _is_name(text):
        return AlignedTranslation.unchanged(text)
    failure = f"{model_id} gave no translation of {text!r} (its output ran away)"
    return AlignedTranslation.untranslated(text, failure)


def _is_name(text: str) -> bool:
    """Whether every word with a letter in it starts (its first letter) with a capital or
    is a single letter ("x"): names and symbols, no words of a language."""
    words = [word for word in text.split() if any(c.isalpha() for c in word)]
    firsts = [next(c for c in word if c.isalpha()) for word in words]
    return bool(words) and all(
        first.isupper() or len(word) == 1 for word, first in zip(words, firsts, strict=True)
    )


class _Output(NamedTuple):
    """One example's translation: its pieces, their text, and its attention (if asked)."""

    pieces: Sequence[str]
    text: str
    attention: Matrix


def _result(
    source_pieces: Sequence[str], output: _Output, source: str, aligned: bool
) -> AlignedTranslation:
    """One example's translation, aligned with ``source`` (the text of its pieces)."""
    if not aligned:
        return AlignedTranslation(output.text)
    alignment = align_words(source_pieces, output.pieces, output.attention, source, output.text)
    return AlignedTranslation(output.text, alignment)


def _joined(
    sources: Sequence[str], parts: Sequence[AlignedTranslation], sentence: str
) -> AlignedTranslation:
    """The translations of a long ``sentence``'s parts (whose texts are ``sources``) as one.

    The alignment is kept only when every part has one and the parts' words add up to the
    sentence's (a word cut inside does not).
    """
    text = " ".join(part.text for part in parts if part.text.strip())
    alignment: list[tuple[int, int]] = []
    source_words = target_words = 0
    for source, part in zip(sources, parts, strict=True):
        if not part.alignment and part.text.strip():
            return AlignedTranslation(text)
        alignment.extend(shift_alignment(part.alignment, source_words, target_words))
        source_words += len(source.split())
        target_words += len(part.text.split())
    if source_words != len(sentence.split()):
        return AlignedTranslation(text)
    return AlignedTranslation(text, tuple(alignment))


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
    return LoadedModel(translator, tokenizer, decoder_positions(path / "model"))


def cuda_device_count() -> int:
    """CUDA devices CTranslate2 can use here (0 without a GPU, a driver or its CUDA build)."""
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


def supported_compute_types(device: str) -> frozenset[str]:
    """The compute types CTranslate2 runs on ``device`` here (``auto`` resolved as it would
    be); empty for ``cuda`` without a CUDA device."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if cuda_device_count() else "cpu"
    if device == "cuda" and not cuda_device_count():
        return frozenset()
    return frozenset(ctranslate2.get_supported_compute_types(device)) | {"default", "auto"}
