"""The cycle's shared types: what a cycle is given (``CycleContext``) and what it reports.

Kept apart from ``cycle.py`` so the translation step (``translating.py``) and the wiring
(``runtime.py``) can name the context without importing the cycle that imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.store import StorageType
from lingofeed.scheduler.metrics import Metrics
from lingofeed.scheduler.settings import Settings
from lingofeed.scheduler.status import Usage
from lingofeed.translations.types import Document, TranslatedDocument


@dataclass
class CycleContext:
    """What one cycle needs: the current settings and the long-lived parts from ``Runtime``."""

    settings: Settings
    storage: StorageType
    metrics: Metrics
    fetcher: Fetcher
    #: Documents into one target language; one TranslatedDocument per document, same keys.
    translate: Callable[[Sequence[Document], str], list[TranslatedDocument]]
    #: Fingerprint of the glossary and model ids a translation into a language is made with.
    translation_context: Callable[[str], str]
    #: Cumulative model and translation-memory work, read before and after each batch.
    usage: Callable[[], Usage]
    #: Where per-language usage totals are added (the status page reads them).
    record_usage: Callable[[str, Usage], None]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class SourceReport:
    """What happened to one source in one cycle (for logs, tests and ``lingofeed once``)."""

    source_id: str
    fetched: bool = False
    new: int = 0
    changed: int = 0
    translated: int = 0
    failed: int = 0
    files_written: int = 0
    error: str | None = None
    #: One line per language with untranslated items: ``de: 3 items not translated: <why>``.
    problems: tuple[str, ...] = ()
