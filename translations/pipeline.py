"""One cycle's translation: gather, de-duplicate, look up the memory, translate per pair, map back.

Why one batch per cycle rather than per document: the model is fastest on large batches (see the
engine notes: ~40x between per-text calls and one batched call), and the same sentence often
appears in several articles, fields or languages. So every sentence still untranslated, across
all documents and all target languages, is gathered first; each distinct (sentence, source,
target) is looked up once in the translation memory; the misses of one language pair go to the
model in one batch (the unit of work a queue could carry); then every field is rebuilt from the
results, and glossaries are applied there, from the alignment.

Word alignment only where it is used: a sentence with an inline element in it, a protected
token or a glossary term (``glossary.needs_alignment``) goes through ``translate_aligned``; the
others (most sentences) through it with ``align=False``, so a pair costs at most two model
calls. Attention and aligning words cost about as much as all the rest of the pipeline's work
per sentence.

A sentence with nothing to translate once its protected tokens are taken out (``#Tombouctou``,
``28/12 @minusma``: see ``glossary.has_words_to_translate``) never goes to the model, which
would only invent words around it: it is kept as written, with the pair's glossary applied.

Languages are decided per segment: a French caption inside an English article goes through the
French model. The document's declared language is honoured as the fallback for every segment
too short or ambiguous to tell (names, numbers); when it is None or ``"auto"``, the document's
language is detected from all its text first. A segment already in the target language is kept.

A failed pair (no model installed, a model error) never aborts the others: the documents it
touches keep the source text there and carry a problem, so ``complete`` is False and the caller
does not publish them as done. A sentence the model failed on (its output ran away:
``AlignedTranslation.failure``) is the same kind of problem, and is never stored in the
translation memory, so a later cycle or another model tries it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lingofeed.translations.errors import TranslationError
from lingofeed.translations.glossary import (
    Glossary,
    Shielded,
    has_words_to_translate,
    needs_alignment,
    shield,
)
from lingofeed.translations.html import HtmlJob, Rebuilt, Rendering, TextJob, extract, extract_text
from lingofeed.translations.langdetect import (
    DetectionSettings,
    SegmentLanguageDetector,
    primary_language,
)
from lingofeed.translations.memory import TMKey, TranslationMemory
from lingofeed.translations.types import (
    AlignedTranslation,
    AligningTranslator,
    Document,
    FieldKind,
    TranslatedDocument,
)

__all__ = ["PipelineStats", "TranslationPipeline", "Wanted", "distinct"]

_AUTO = "auto"

#: Per language pair, the sentences to translate and whether each needs a word alignment.
Wanted = Mapping[tuple[str, str], Sequence[tuple[str, bool]]]


@dataclass(frozen=True)
class PipelineStats:
    """What one ``translate`` call cost."""

    #: Distinct (sentence, source, target) translations needed (every occurrence when the
    #: pipeline does not de-duplicate).
    sentences_requested: int = 0
    #: Distinct ones found in the translation memory.
    tm_hits: int = 0
    #: Model calls: per language pair with misses, one ``translate_aligned(align=False)`` for
    #: sentences that need no word alignment and one ``translate_aligned`` for those that do.
    model_calls: int = 0
    #: Sentences given to the model (the memory stores each distinct one).
    sentences_translated: int = 0
    #: Language pairs that failed; their segments kept the source text.
    failed_pairs: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class _Prepared:
    """A document read for translation: its language, one job per field, and the language of
    each unit that needs a model (units with nothing to translate are left out)."""

    document: Document
    language: str
    jobs: Mapping[str, HtmlJob | TextJob]
    unit_languages: Mapping[str, str]
    #: Each of those units as its model sees it (asides taken out: ``glossary.shield``).
    shielded: Mapping[str, Shielded]
    #: Units with an inline element in them (their translation needs a word alignment).
    tagged: frozenset[str]


def _units_of(jobs: Iterable[HtmlJob | TextJob]) -> list[str]:
    """The distinct units of a document's fields, in order."""
    return list(dict.fromkeys(unit for job in jobs for unit in job.units))


def distinct(units: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Each sentence once, sorted, needing an alignment if any occurrence needs one."""
    need: dict[str, bool] = {}
    for unit, aligned in units:
        need[unit] = need.get(unit, False) or aligned
    return sorted(need.items())


def _unaligned(translation: AlignedTranslation) -> bool:
    """A stored translation with words but no alignment (it was not needed then)."""
    return not translation.alignment and bool(translation.text.strip())


def _is_miss(key: TMKey, need: bool, found: Mapping[TMKey, AlignedTranslation]) -> bool:
    """Not in the memory, or stored without the word alignment now needed."""
    return key not in found or (need and _unaligned(found[key]))


def _missing(
    pair_keys: Sequence[tuple[TMKey, bool]], found: Mapping[TMKey, AlignedTranslation]
) -> list[tuple[str, bool]]:
    return [(key.source, need) for key, need in pair_keys if _is_miss(key, need, found)]


def _same_language(a: str, b: str) -> bool:
    """``fr`` and ``fr-CA`` count as the same: no model translates between them."""
    return primary_language(a) == primary_language(b)


class TranslationPipeline:
    """Translates documents into target languages with one model call per language pair.

    ``glossaries`` maps ``(src, tgt)`` to that pair's glossary. ``languages`` are the languages
    segments may be detected as (sources and targets are added); ``default_language`` is the
    fallback for a document with no declared language and too little text to tell.
    ``deduplicate=False`` gives the model every occurrence of a sentence (once per document
    and target) instead of once per cycle, and detects the language of every occurrence: only
    a benchmark wants that, to measure the pipeline's cost per sentence against the model's.
    """

    def __init__(
        self,
        translator: AligningTranslator,
        memory: TranslationMemory,
        *,
        glossaries: Mapping[tuple[str, str], Glossary] | None = None,
        languages: Sequence[str] = (),
        default_language: str = "en",
        detection: DetectionSettings | None = None,
        deduplicate: bool = True,
    ) -> None:
        self._translator = translator
        self._memory = memory
        self._glossaries = dict(glossaries or {})
        self._languages = frozenset(languages)
        self._default_language = default_language
        self._detection = detection or DetectionSettings()
        self._deduplicate = deduplicate
        self._detectors: dict[frozenset[str], SegmentLanguageDetector] = {}
        #: Counters of the last ``translate`` call.
        self.stats = PipelineStats()

    def _detector(self, extra: Sequence[str]) -> SegmentLanguageDetector:
        languages = self._languages | {self._default_language, *extra}
        if languages not in self._detectors:
            self._detectors[languages] = SegmentLanguageDetector(sorted(languages), self._detection)
        return self._detectors[languages]

    def _prepare(
        self, documents: Sequence[Document], detector: SegmentLanguageDetector
    ) -> list[_Prepared]:
        """Each document's language and jobs, and the language of every unit that needs the
        model (all detected in one batch)."""
        read: list[tuple[Document, str, dict[str, HtmlJob | TextJob]]] = []
        for document in documents:
            language = document.language
            if language is None or language == _AUTO:
                everything = " ".join(field.text for field in document.fields.values())
                language = detector.detect(everything, self._default_language)
            jobs: dict[str, HtmlJob | TextJob] = {}
            for name, field in document.fields.items():
                if field.kind is FieldKind.HTML:
                    jobs[name] = extract(field.text, language)
                else:
                    jobs[name] = extract_text(field.text, language)
            read.append((document, language, jobs))
        units = [
            [unit for unit in _units_of(jobs.values()) if has_words_to_translate(unit)]
            for _, _, jobs in read
        ]
        segments = [(u, lang) for (_, lang, _), some in zip(read, units, strict=True) for u in some]
        languages = iter(self._detect(detector, segments))
        prepared = []
        for (document, language, jobs), some in zip(read, units, strict=True):
            detected = {unit: next(languages) for unit in some}
            # A run in another script tells apart only once the language is known.
            shielded = {unit: shield(unit, lang) for unit, lang in detected.items()}
            kept = {u for u, s in shielded.items() if not has_words_to_translate(s.text)}
            prepared.append(
                _Prepared(
                    document,
                    language,
                    jobs,
                    {unit: lang for unit, lang in detected.items() if unit not in kept},
                    shielded,
                    frozenset().union(*(job.tagged for job in jobs.values())),
                )
            )
        return prepared

    def _detect(
        self, detector: SegmentLanguageDetector, segments: Sequence[tuple[str, str]]
    ) -> list[str]:
        """The language of each ``(unit, fallback)``, in order. De-duplicating, each distinct
        one is detected once: the answer depends on nothing else, and the same sentence in
        several documents (a credit, a boilerplate line) is common. Language detection costs
        about as much as all the rest of preparing a sentence."""
        if not self._deduplicate:
            return detector.detect_many(segments)
        distinct = list(dict.fromkeys(segments))
        found = dict(zip(distinct, detector.detect_many(distinct), strict=True))
        return [found[segment] for segment in segments]

    def translate(
        self, documents: Sequence[Document], targets: Sequence[str]
    ) -> list[TranslatedDocument]:
        """Every document in every target language, in order (documents, then targets)."""
        started = time.perf_counter()
        prepared, wanted = self._wanted(documents, targets)
        done, failures, counts = self._translate_pairs(wanted)
        results = [self._rebuild(item, tgt, done, failures) for item in prepared for tgt in targets]
        self.stats = PipelineStats(
            sentences_requested=sum(len(units) for units in wanted.values()),
            tm_hits=counts[0],
            model_calls=counts[1],
            sentences_translated=counts[2],
            failed_pairs=len(failures),
            seconds=time.perf_counter() - started,
        )
        return results

    def misses(self, documents: Sequence[Document], targets: Sequence[str]) -> Wanted:
        """What ``translate`` would give the model: per language pair that has a model, the
        sentences missing from the translation memory (with whether each needs a word
        alignment). Nothing is translated.

        A distributed cycle sends these to workers in batches (``fill``), then calls
        ``translate``, which finds everything in the memory and only rebuilds the documents.
        """
        _, wanted = self._wanted(documents, targets)
        keys = self._keys(wanted, {})
        found = self._memory.get_many({key for pair_keys in keys.values() for key, _ in pair_keys})
        return {
            pair: missing
            for pair, pair_keys in keys.items()
            if (missing := _missing(pair_keys, found))
        }

    def fill(self, wanted: Wanted) -> PipelineStats:
        """Translate ``wanted``'s sentences that the memory lacks and store them there.

        The unit of work of a translation worker: one batch of one language pair. A failing
        pair raises ``TranslationError`` (nothing of it is stored), so the queue retries it.
        """
        started = time.perf_counter()
        _, failures, counts = self._translate_pairs(wanted)
        if failures:
            (src, tgt), reason = min(failures.items())
            raise TranslationError(src, tgt, reason)
        return PipelineStats(
            sentences_requested=sum(len(units) for units in wanted.values()),
            tm_hits=counts[0],
            model_calls=counts[1],
            sentences_translated=counts[2],
            seconds=time.perf_counter() - started,
        )

    def _wanted(
        self, documents: Sequence[Document], targets: Sequence[str]
    ) -> tuple[list[_Prepared], Wanted]:
        """The documents read for translation, and each pair's sentences (distinct, sorted,
        unless the pipeline does not de-duplicate)."""
        declared = [d.language for d in documents if d.language not in (None, _AUTO)]
        detector = self._detector([*targets, *(lang for lang in declared if lang)])
        prepared = self._prepare(documents, detector)
        wanted: dict[tuple[str, str], list[tuple[str, bool]]] = {}
        for item in prepared:
            for unit, src in item.unit_languages.items():
                for tgt in targets:
                    if _same_language(src, tgt):
                        continue
                    glossary = self._glossaries.get((src, tgt))
                    shielded = item.shielded[unit]
                    need = (
                        unit in item.tagged
                        or shielded.needs_alignment
                        or needs_alignment(shielded.text, glossary)
                    )
                    wanted.setdefault((src, tgt), []).append((shielded.text, need))
        if self._deduplicate:
            wanted = {pair: distinct(units) for pair, units in wanted.items()}
        return prepared, wanted

    def _keys(
        self, wanted: Wanted, failures: dict[tuple[str, str], str]
    ) -> dict[tuple[str, str], list[tuple[TMKey, bool]]]:
        """Each pair's memory keys (under the model that would translate it now); a pair
        with no model goes to ``failures`` instead."""
        keys: dict[tuple[str, str], list[tuple[TMKey, bool]]] = {}
        for (src, tgt), units in sorted(wanted.items()):
            try:
                model = self._translator.model_id(src, tgt)
            except TranslationError as error:
                failures[(src, tgt)] = str(error)
                continue
            keys[(src, tgt)] = [(TMKey(unit, src, tgt, model), need) for unit, need in units]
        return keys

    def _translate_pairs(
        self, wanted: Wanted
    ) -> tuple[
        dict[tuple[str, str, str], AlignedTranslation],
        dict[tuple[str, str], str],
        tuple[int, int, int],
    ]:
        """Translations by (sentence, src, tgt), failures by pair, (hits, calls, translated).

        ``wanted`` holds ``(sentence, needs a word alignment)`` per pair; a memory row without
        an alignment is translated again where one is needed (same text, now aligned) and
        completed in the memory.
        """
        failures: dict[tuple[str, str], str] = {}
        keys = self._keys(wanted, failures)
        found = self._memory.get_many({key for pair_keys in keys.values() for key, _ in pair_keys})
        fresh: dict[TMKey, AlignedTranslation] = {}
        calls = translated = 0
        for pair, pair_keys in keys.items():
            misses = [(key, need) for key, need in pair_keys if _is_miss(key, need, found)]
            if not misses:
                continue
            try:
                outputs, pair_calls = self._translate_pair(misses, pair)
            except TranslationError as error:
                failures[pair] = str(error)
                continue
            calls += pair_calls
            fresh.update(outputs)
            translated += len(misses)
        # A sentence the model failed on is never remembered: the next attempt asks again.
        remembered = {key: value for key, value in fresh.items() if value.failure is None}
        self._memory.put_many({k: v for k, v in remembered.items() if k not in found})
        self._memory.add_alignments({k: v for k, v in remembered.items() if k in found})
        done = {(k.source, k.src, k.tgt): v for k, v in (*found.items(), *fresh.items())}
        hits = sum(key not in fresh for key in found)
        return done, failures, (hits, calls, translated)

    def _translate_pair(
        self, misses: Sequence[tuple[TMKey, bool]], pair: tuple[str, str]
    ) -> tuple[dict[TMKey, AlignedTranslation], int]:
        """One pair's misses: those that need a word alignment through ``translate_aligned``,
        the others (most) in a separate call with ``align=False`` (no attention to compute, no
        words to align); and the calls made. An aligned result wins over a plain one of the same
        sentence. Raises ``TranslationError`` when the model fails or miscounts."""
        src, tgt = pair
        plain = [key for key, need in misses if not need]
        with_alignment = [key for key, need in misses if need]
        outputs: dict[TMKey, AlignedTranslation] = {}
        calls = 0
        for batch in (plain, with_alignment):
            if not batch:
                continue
            calls += 1
            texts = [key.source for key in batch]
            results = self._translator.translate_aligned(
                texts, src, tgt, align=batch is with_alignment
            )
            if len(results) != len(batch):
                counts = f"{len(results)} translations for {len(batch)} sentences"
                raise TranslationError(src, tgt, f"model returned {counts}")
            outputs.update(zip(batch, results, strict=True))
        return outputs, calls

    def _rebuild(
        self,
        item: _Prepared,
        tgt: str,
        done: Mapping[tuple[str, str, str], AlignedTranslation],
        failures: Mapping[tuple[str, str], str],
    ) -> TranslatedDocument:
        fields: dict[str, str] = {}
        problems: list[str] = []
        machine_translated = False
        for name, job in item.jobs.items():
            renderings: dict[str, Rendering] = {}
            failed: set[str] = set()  # why units kept their source text
            for unit in job.units:
                src = item.unit_languages.get(unit, item.language)
                if _same_language(src, tgt):
                    continue
                glossary = self._glossaries.get((src, tgt))
                if unit not in item.unit_languages:  # nothing in it for a model
                    renderings[unit] = Rendering.kept(unit, glossary)
                    continue
                shielded = item.shielded[unit]
                translation = done.get((shielded.text, src, tgt))
                if translation is None:
                    failed.add(failures[(src, tgt)])
                    continue
                if translation.failure is not None:
                    failed.add(translation.failure)
                    continue
                renderings[unit] = Rendering(
                    shielded.restore(translation), glossary, languages=(src, tgt)
                )
            rebuilt: Rebuilt = job.rebuild(renderings)
            fields[name] = rebuilt.text
            machine_translated = machine_translated or rebuilt.translated
            problems.extend(f"{name}: {reason}" for reason in sorted(failed))
            problems.extend(f"{name}: {problem}" for problem in rebuilt.problems)
        return TranslatedDocument(
            key=item.document.key,
            language=tgt,
            source_language=item.language,
            fields=fields,
            machine_translated=machine_translated,
            problems=tuple(problems),
        )
