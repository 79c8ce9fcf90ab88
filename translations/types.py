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
