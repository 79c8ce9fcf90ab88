"""Translation memory: what the pipeline reads and writes, keyed by sentence, pair and model.

The TM is what makes an unchanged cycle cost zero model calls, and an edited article cost only
its edited sentences. It holds the model's raw output and word alignment, never the text after
glossary terms or inline tags were applied (those come later, from the alignment), so changing a
glossary invalidates nothing and changing a model invalidates only that model's rows.

This module only says what a memory must do; the store implements it (``feeds.store``'s
``SqlTranslationMemory``, in the same database as the articles), so ``translations`` knows
nothing of where or how rows are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from lingofeed.translations.types import AlignedTranslation

__all__ = ["TMKey", "TranslationMemory"]


@dataclass(frozen=True)
class TMKey:
    """What a translation depends on: the sentence, the pair and the exact model (name@version)."""

    source: str
    src: str
    tgt: str
    model_id: str

    @property
    def source_hash(self) -> str:
        """SHA-256 of the sentence: what an implementation may index instead of long text."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


class TranslationMemory(Protocol):
    """Bulk lookup and store of sentence translations; one call is one database round trip.

    It must never hold a wrong pair: a row is stored only with the output for exactly its key,
    all rows of one ``put_many`` are stored together or not at all, and a repeated or concurrent
    write of a stored key is a no-op rather than a second, possibly different, answer.
    """

    def get_many(self, keys: Iterable[TMKey]) -> dict[TMKey, AlignedTranslation]:
        """The stored translation of each key that has one; missing keys are simply absent."""
        ...

    def put_many(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        """Store ``rows`` in one transaction; keys already stored keep their first answer."""
        ...

    def add_alignments(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        """Give stored rows that have the same text but no alignment the alignment of ``rows``.

        The pipeline asks the model for an alignment only where a sentence needs one, so a row
        may have been stored without; the model is deterministic, so the same text comes back
        and only the alignment is new. A row with an alignment is never changed.
        """
        ...
