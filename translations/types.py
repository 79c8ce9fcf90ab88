"""The contracts between the translation layer and its callers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class Translator(Protocol):
    """Turns plain-text segments (already split into sentences) from ``src`` into ``tgt``.

    One call is the unit of work a queue could carry: a batch of segments for one language pair.
    The output has exactly one string per input, in order.
    """

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...

    def model_id(self, src: str, tgt: str) -> str:
        """Package name and version (joined for a pivot), used to key the translation memory."""
        ...


class FieldKind(Enum):
    """How a document field is to be read."""

    TEXT = "text"
    HTML = "html"


@dataclass(frozen=True)
class DocField:
    text: str
    kind: FieldKind = FieldKind.TEXT


@dataclass(frozen=True)
class Document:
    """Something to translate: named fields (``title``, ``content``, ``media.0.caption``...).

    ``language`` is the declared language of the whole document, or None to detect it.
    """

    key: str
    fields: Mapping[str, DocField]
    language: str | None = None


@dataclass(frozen=True)
class TranslatedDocument:
    """One document in one target language."""

    key: str
    language: str
    #: Detected or declared language of the document as a whole.
    source_language: str | None
    fields: Mapping[str, str]
    #: True when at least one segment was machine translated.
    machine_translated: bool
    #: Segments that could not be translated (kept in the source language), with the reason.
    problems: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """False when any segment failed: the caller must not publish this as done."""
        return not self.problems


@dataclass(frozen=True)
class AlignedTranslation:
    """A sentence translation with a word alignment, used to carry tags and glossary terms across.

    Words are ``str.split()`` tokens of the source sentence and of ``text``.
    """

    text: str
    #: ``(source_word_index, target_word_index)`` pairs; may be empty when unknown.
    alignment: tuple[tuple[int, int], ...] = ()
    #: Why the model gave no usable translation, naming the model and the sentence; ``text``
    #: is then the source sentence as written. None for a translation, and for a sentence
    #: that is rightly its own translation (a name). Such a sentence is untranslated: the
    #: caller reports it like any failure and never stores it as a translation, so a later
    #: attempt (another model) is made.
    failure: str | None = None

    @classmethod
    def unchanged(cls, text: str) -> AlignedTranslation:
        """``text`` as its own translation, each word aligned with itself."""
        return cls(text, tuple((i, i) for i in range(len(text.split()))))

    @classmethod
    def untranslated(cls, text: str, failure: str) -> AlignedTranslation:
        """``text`` kept as written because the model failed on it, for ``failure``."""
        return cls(text, failure=failure)


class AligningTranslator(Translator, Protocol):
    """A Translator that can also say which target words came from which source words, and
    on which sentences the model failed (``AlignedTranslation.failure``: ``translate`` keeps
    those as written and cannot tell them from translations)."""

    def translate_aligned(
        self, texts: Sequence[str], src: str, tgt: str, *, align: bool = True
    ) -> list[AlignedTranslation]:
        """One result per text, in order. ``align=False`` leaves every alignment empty: most
        sentences need none, and computing one costs about as much as the rest of the
        pipeline's work on a sentence."""
        ...
