"""Prometheus metrics for one service, and the translator wrapper that counts model work.

Each ``Metrics`` owns its own ``CollectorRegistry`` (never the process-global one) so two
services in one process, or many tests, never share or clash on counters. The status page reads
the same figures as ``/metrics``: segments per second and model calls come from here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import Metric as PromMetric

from lingofeed.translations.types import AlignedTranslation, AligningTranslator


class Metrics:
    """The service's counters; methods are named for the event they record."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._fetches = Counter(
            "lingofeed_fetches", "Source fetches by result", ["source", "result"], registry=r
        )
        self._documents = Counter(
            "lingofeed_documents_translated",
            "Articles translated into a language, by result (done, failed)",
            ["language", "result"],
            registry=r,
        )
        self._calls = Counter(
            "lingofeed_model_calls", "Batches sent to a translation model", ["pair"], registry=r
        )
        self._segments = Counter(
            "lingofeed_model_segments", "Sentences translated by a model", ["pair"], registry=r
        )
        self._seconds = Counter(
            "lingofeed_model_seconds", "Time spent in translation models", ["pair"], registry=r
        )
        self._cycle = Histogram(
            "lingofeed_source_cycle_seconds",
            "Duration of one source's fetch-translate-publish cycle",
            ["source"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
            registry=r,
        )
        self._last = Gauge(
            "lingofeed_source_last_cycle_timestamp_seconds",
            "When a source's last cycle ended (Unix time)",
            ["source"],
            registry=r,
        )

    def fetched(self, source: str, result: str) -> None:
        self._fetches.labels(source, result).inc()

    def translated(self, language: str, done: int, failed: int) -> None:
        self._documents.labels(language, "done").inc(done)
        self._documents.labels(language, "failed").inc(failed)

    def model_call(self, pair: str, segments: int, seconds: float) -> None:
        self._calls.labels(pair).inc()
        self._segments.labels(pair).inc(segments)
        self._seconds.labels(pair).inc(seconds)

    def observe_source_cycle(self, source: str, seconds: float) -> None:
        self._cycle.labels(source).observe(seconds)
        self._last.labels(source).set_to_current_time()

    @property
    def model_calls(self) -> int:
        return int(_total(self._calls))

    @property
    def model_segments(self) -> int:
        return int(_total(self._segments))

    @property
    def model_seconds(self) -> float:
        return _total(self._seconds)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


def _total(metric: Counter) -> float:
    """Sum of a counter over all its labels."""
    collected: list[PromMetric] = list(metric.collect())
    return sum(s.value for m in collected for s in m.samples if s.name.endswith("_total"))


class CountingTranslator:
    """Wraps the real translator to count batches, sentences and time per language pair.

    The cycle's "nothing new means no model call" guarantee is checked on these counts.
    """

    def __init__(self, inner: AligningTranslator, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        started = time.perf_counter()
        try:
            return self.inner.translate(texts, src, tgt)
        finally:
            self.metrics.model_call(f"{src}-{tgt}", len(texts), time.perf_counter() - started)

    def translate_aligned(
        self, texts: Sequence[str], src: str, tgt: str, *, align: bool = True
    ) -> list[AlignedTranslation]:
        started = time.perf_counter()
        try:
            return self.inner.translate_aligned(texts, src, tgt, align=align)
        finally:
            self.metrics.model_call(f"{src}-{tgt}", len(texts), time.perf_counter() - started)

    def model_id(self, src: str, tgt: str) -> str:
        return self.inner.model_id(src, tgt)
