"""The long-lived parts every cycle shares: database, fetchers, models, translator, metrics and
the WebSub sender.

Used by ``lingofeed once`` and ``status`` directly and by the running ``Service``. Opening the
models is optional, so ``status`` never loads a translation model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from lingofeed.feeds.ingest.fetch import PAGE_ACCEPT, Fetcher
from lingofeed.feeds.ingest.guard import AddressGuard
from lingofeed.feeds.publish.websub import WebSubSender
from lingofeed.feeds.store import SqlTranslationMemory, Storage
from lingofeed.feeds.store.db import open_engine
from lingofeed.scheduler import status
from lingofeed.scheduler.contexts import fingerprint
from lingofeed.scheduler.metrics import CountingTranslator, Metrics
from lingofeed.scheduler.selection import EVERYTHING
from lingofeed.scheduler.settings import GlossarySettings, Settings
from lingofeed.scheduler.status import SourceInfo, Usage
from lingofeed.scheduler.types import CycleContext
from lingofeed.scheduler.websub import STOP_WAIT_SECONDS, log_ping
from lingofeed.translations.engine import ArgosTranslator
from lingofeed.translations.errors import ModelNotInstalledError
from lingofeed.translations.glossary import Glossary
from lingofeed.translations.models import ModelStore
from lingofeed.translations.pipeline import PipelineStats, TranslationPipeline, Wanted
from lingofeed.translations.types import AligningTranslator, Document, TranslatedDocument


class Runtime:
    """The long-lived parts shared by every cycle: database, fetcher, models, metrics.

    Settings that may change on reload (sources, languages, glossaries) are not kept here but
    passed to ``context`` for each run, so a reload needs no restart of these parts.
    """

    def __init__(self, settings: Settings, stack: ExitStack, *, load_models: bool) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = open_engine(settings.database_url)
        stack.callback(self.engine.dispose)
        self.storage = Storage(self.engine)
        self.metrics = Metrics()
        self.fetcher = stack.enter_context(Fetcher())
        # Feed URLs are the operator's own, so they may be private; article links come from
        # upstream and get the guard. Separate pools: a connection the feed fetcher opened to
        # a private host must never carry a page request.
        guard = None if settings.allow_private_addresses else AddressGuard()
        self.page_fetcher = stack.enter_context(Fetcher(accept=PAGE_ACCEPT, guard=guard))
        self.memory = SqlTranslationMemory(self.engine)
        self.models = ModelStore(settings.models.directory)
        #: Publish pings to the WebSub hub; closing gives queued ones a moment, then stops.
        self.websub = WebSubSender(log_ping)
        stack.callback(self.websub.close, STOP_WAIT_SECONDS)
        self.translator: CountingTranslator | None = None
        if load_models:
            argos = ArgosTranslator(self.models, settings.engine)
            self.translator = CountingTranslator(argos, self.metrics)

    def context(
        self, settings: Settings, translator: AligningTranslator | None = None
    ) -> CycleContext:
        """A cycle's context; ``translator`` replaces the runtime's own (a distributed
        cycle's jobs that must never run a model pass ``queue.LeftToWorkers``)."""
        return CycleContext(
            settings=settings,
            storage=self.storage,
            metrics=self.metrics,
            fetcher=self.fetcher,
            page_fetcher=self.page_fetcher,
            translation=self.translation(settings, translator),
            usage=self,
            websub=self.websub,
        )

    def translation(
        self, settings: Settings, translator: AligningTranslator | None = None
    ) -> PipelineTranslation:
        """The translation step for ``settings``: their glossaries, the runtime's memory."""
        translator = translator or self.translator
        if translator is None:
            raise RuntimeError("this runtime was opened without models")
        glossaries = {(g.source, g.target): glossary(g) for g in settings.glossaries}
        pipeline = TranslationPipeline(
            translator,
            self.memory,
            glossaries=glossaries,
            languages=_candidate_languages(settings),
        )
        return PipelineTranslation(self, settings, pipeline)

    def translation_context(self, settings: Settings, target: str) -> str:
        """Changes when a glossary or a model used for ``target`` changes: retranslate then.

        Reads the installed packages each time, so installing or upgrading a model under a
        running service retranslates what it affects on the next cycle.
        """
        models = []
        for src in _candidate_languages(settings):
            if src == target:
                continue
            try:
                route = self.models.route(src, target)
            except ModelNotInstalledError:
                models.append(f"{src}:none")
                continue
            models.append(f"{src}:" + "+".join(step.model_id for step in route))
        glossaries = [glossary(g).fingerprint() for g in settings.glossaries if g.target == target]
        return fingerprint(target, models, glossaries)

    def usage(self) -> Usage:
        stats = self.memory.stats
        return Usage(
            model_calls=self.metrics.model_calls,
            model_segments=self.metrics.model_segments,
            model_seconds=self.metrics.model_seconds,
            tm_hits=stats.hits,
            tm_misses=stats.misses,
        )

    def record_usage(self, language: str, usage: Usage) -> None:
        """With ``usage``, makes the runtime the cycle's ``UsageMeter``."""
        self.storage.add_usage(language, usage)

    def status(
        self, settings: Settings, next_runs: Mapping[str, datetime | None]
    ) -> status.StatusSnapshot:
        contexts = {
            code: self.translation_context(settings, code) for code in settings.language_codes
        }
        snapshot = status.snapshot(
            self.storage,
            now=datetime.now(UTC),
            sources=tuple(
                SourceInfo(
                    s.source.id, s.source.location, s.schedule.describe(), s.source.full_text
                )
                for s in settings.sources
            ),
            languages=contexts,
            source_contexts={
                code: {
                    s.source.id: s.selection.context(context)
                    for s in settings.sources
                    if s.selection != EVERYTHING
                }
                for code, context in contexts.items()
            },
            next_runs=next_runs,
            models=tuple(package.describe() for package in self.models.scan().broken),
        )
        return status.with_queues(snapshot, self.engine)


@dataclass(frozen=True)
class PipelineTranslation:
    """``Translating`` for one version of the settings: their pipeline and translation contexts."""

    runtime: Runtime
    settings: Settings
    pipeline: TranslationPipeline

    def translate(self, documents: Sequence[Document], language: str) -> list[TranslatedDocument]:
        return self.pipeline.translate(documents, [language])

    def translation_context(self, language: str) -> str:
        return self.runtime.translation_context(self.settings, language)

    def misses(self, documents: Sequence[Document], language: str) -> Wanted:
        return self.pipeline.misses(documents, [language])

    def fill(self, wanted: Wanted) -> PipelineStats:
        return self.pipeline.fill(wanted)


def glossary(configured: GlossarySettings) -> Glossary:
    return Glossary(dict(configured.terms), configured.protected)


def _candidate_languages(settings: Settings) -> list[str]:
    """Languages an article may be in: declared source languages and the targets."""
    declared = {s.source.language for s in settings.sources if s.source.language}
    return sorted(declared | set(settings.language_codes))


@contextmanager
def open_runtime(settings: Settings, *, load_models: bool = True) -> Iterator[Runtime]:
    """Open the database, fetcher and (unless ``load_models`` is False) the translator."""
    with ExitStack() as stack:
        yield Runtime(settings, stack, load_models=load_models)
