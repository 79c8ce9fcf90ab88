"""The cycle's shared types: what a cycle is given (``CycleContext``) and what it reports.

Kept apart from ``cycle.py`` so the translation step (``translating.py``) and the wiring
(``runtime.py``) can name the context without importing the cycle that imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.publish.websub import WebSubSender
from lingofeed.feeds.store import StorageType
from lingofeed.scheduler.metrics import Metrics
from lingofeed.scheduler.settings import Settings
from lingofeed.scheduler.status import Usage
from lingofeed.translations.pipeline import Wanted
from lingofeed.translations.types import Document, TranslatedDocument


class Translating(Protocol):
    """The translation step's translator, built for one version of the settings (glossaries)."""

    def translate(self, documents: Sequence[Document], language: str) -> list[TranslatedDocument]:
        """Documents into one target language; one TranslatedDocument per document, same keys."""
        ...

    def translation_context(self, language: str) -> str:
        """Fingerprint of the glossary and model ids a translation into ``language`` uses."""
        ...

    def misses(self, documents: Sequence[Document], language: str) -> Wanted:
        """The sentences ``translate`` would give a model, per language pair (none translated)."""
        ...


class UsageMeter(Protocol):
    """Cumulative model and translation-memory work, and where per-language totals go."""

    def usage(self) -> Usage:
        """The work done so far, read before and after each batch."""
        ...

    def record_usage(self, language: str, usage: Usage) -> None:
        """Add one batch's work to ``language``'s totals (the status page reads them)."""
        ...


@dataclass
class CycleContext:
    """What one cycle needs: the current settings and the long-lived parts from ``Runtime``."""

    settings: Settings
    storage: StorageType
    metrics: Metrics
    fetcher: Fetcher
    #: Fetches article pages for full text: its own connection pool, with the address guard
    #: unless ``[service] allow_private_addresses`` is set.
    page_fetcher: Fetcher
    #: Documents into a target language, and the context their translations are stored under.
    translation: Translating
    #: Model and translation-memory work, per language (``Runtime`` implements it).
    usage: UsageMeter
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Where publish pings for changed feeds go (None: no pings, whatever the config says).
    websub: WebSubSender | None = None


@dataclass(frozen=True)
class SourceReport:
    """What happened to one source in one cycle (for logs, tests and ``lingofeed once``)."""

    source_id: str
    fetched: bool = False
    new: int = 0
    changed: int = 0
    translated: int = 0
    failed: int = 0
    #: Items the source's filters left out this cycle (never translated, never published).
    filtered: int = 0
    files_written: int = 0
    error: str | None = None
    #: One line per language with untranslated items: ``de: 3 items not translated: <why>``.
    problems: tuple[str, ...] = ()
    #: When channels this run changed may be published (their debounce window ends).
    waiting_until: datetime | None = None
