"""Per-segment source language detection, offline, with the article's language as the fallback.

A French caption inside an English article must go through the French model, but a segment
such as ``MINUSMA 2023`` or ``#Gao`` says nothing about its language: guessing there would send
it through the wrong model. So detection is deliberately reluctant: names, numbers, hashtags,
mentions and URLs are removed first, and unless what is left has a few words and the detector
is confident, the caller's fallback (the article's declared or detected language) wins.

lingua-language-detector ships its models in the wheel (nothing downloads) and is restricted to
the languages that matter (the configured sources and targets), which makes it both faster and
more accurate than choosing among 75 languages. Detectors are cached per set of languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import ConfidenceValue, LanguageDetector

__all__ = ["DetectionSettings", "SegmentLanguageDetector", "detect_language", "primary_language"]

#: What says nothing about a language: URLs, e-mail addresses, #hashtags, @mentions, numbers.
_NOISE = re.compile(r"https?://\S+|\S+@\S+|[#@]\w+|[\d.,:/%°+-]*\d[\d.,:/%°+-]*")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class DetectionSettings:
    """How much evidence a segment needs before it may override the article's language."""

    #: Fewer letters than this (after removing noise) keeps the fallback.
    min_letters: int = 10
    #: Fewer words than this keeps the fallback (one word is usually a name).
    min_words: int = 2
    #: The detector's confidence in its best language must reach this.
    min_confidence: float = 0.8


@lru_cache(maxsize=256)
def primary_language(tag: str) -> str:
    """The primary subtag, lower case (``fr`` for ``fr-CA`` or ``fr_CA``).

    Cached: the pipeline asks for every segment and target of a cycle.
    """
    return tag.lower().replace("_", "-").split("-", 1)[0]


class SegmentLanguageDetector:
    """Chooses among ``languages`` (BCP 47 tags) for short segments; returns one of those tags.

    Tags lingua does not know are accepted and never detected (they can still be the fallback).
    Thread-safe: lingua detectors are immutable once built.
    """

    def __init__(
        self, languages: Iterable[str], settings: DetectionSettings = DetectionSettings()
    ) -> None:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        self.settings = settings
        #: lingua's ISO 639-1 name (``FR``) -> the caller's tag (``fr`` or ``fr-CA``).
        self._tags: dict[str, str] = {}
        for tag in languages:
            code = getattr(IsoCode639_1, primary_language(tag).upper(), None)
            if code is not None:
                self._tags.setdefault(code.name, tag)
        self._detector: LanguageDetector | None = None
        if len(self._tags) >= 2:
            codes = [getattr(IsoCode639_1, name) for name in self._tags]
            self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def detect(self, text: str, fallback: str) -> str:
        """The language of ``text``, or ``fallback`` when the segment is short or ambiguous."""
        cleaned = self._evidence(text)
        if cleaned is None or self._detector is None:
            return fallback
        return self._decide(self._detector.compute_language_confidence_values(cleaned), fallback)

    def detect_many(self, segments: Sequence[tuple[str, str]]) -> list[str]:
        """``detect(text, fallback)`` for each ``(text, fallback)``, in order.

        One call for a whole cycle's segments: lingua then scores them on all cores, which
        halves the time detection takes on two cores.
        """
        evidence = [self._evidence(text) for text, _ in segments]
        asked = [index for index, cleaned in enumerate(evidence) if cleaned is not None]
        languages = [fallback for _, fallback in segments]
        if self._detector is None or not asked:
            return languages
        scored = self._detector.compute_language_confidence_values_in_parallel(
            [evidence[index] or "" for index in asked]
        )
        for index, values in zip(asked, scored, strict=True):
            languages[index] = self._decide(values, languages[index])
        return languages

    def _evidence(self, text: str) -> str | None:
        """``text`` without noise, or None when what is left is too little to tell."""
        cleaned = _NOISE.sub(" ", text)
        words = _WORD.findall(cleaned)
        letters = sum(len(word) for word in words)
        if len(words) < self.settings.min_words or letters < self.settings.min_letters:
            return None
        return cleaned

    def _decide(self, values: Sequence[ConfidenceValue], fallback: str) -> str:
        if not values or values[0].value < self.settings.min_confidence:
            return fallback
        return self._tags[values[0].language.iso_code_639_1.name]


@lru_cache(maxsize=16)
def _detector_for(languages: frozenset[str]) -> SegmentLanguageDetector:
    return SegmentLanguageDetector(sorted(languages))


def detect_language(text: str, candidates: Iterable[str], fallback: str) -> str:
    """The language of one segment among ``candidates`` (plus ``fallback``), or ``fallback``.

    ``fallback`` is the article's language: it wins for short or ambiguous segments.
    """
    return _detector_for(frozenset([*candidates, fallback])).detect(text, fallback)
