"""Status figures from the database, their text/HTML/JSON forms, and the Prometheus metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lingofeed.feeds.types import EntryData
from lingofeed.scheduler.metrics import Metrics
from lingofeed.scheduler.status import (
    SourceInfo,
    Usage,
    as_html,
    as_json,
    as_text,
    snapshot,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SOURCES = (
    SourceInfo("wire", "https://wire.example.org/feed.xml", "every 0:15:00"),
    SourceInfo("desk", "/srv/articles", "cron '*/5 * * * *'"),
    SourceInfo("new", "/srv/new", "every 1:00:00"),
)


def test_usage_totals_add_up_per_language(storage):
    storage.add_usage("en", Usage(1, 10, 0.5, 3, 10))
    storage.add_usage("en", Usage(2, 30, 1.5, 7, 0))
    storage.add_usage("fr", Usage())
    totals = storage.get_usage()
    assert totals["en"] == Usage(3, 40, 2.0, 10, 10)
    assert totals["en"].hit_rate == 0.5
    assert totals["en"].segments_per_second == 20.0
    assert totals["fr"].hit_rate is None and totals["fr"].segments_per_second is None


def test_usage_difference_is_one_batch():
    assert Usage(5, 50, 2.0, 4, 1) - Usage(3, 20, 1.5, 4, 0) == Usage(2, 30, 0.5, 0, 1)


def _seeded(storage):
    storage.upsert_entries("wire", [EntryData("a", "Bonjour", language="fr")], NOW)
    storage.record_fetch_success("wire", NOW, status=200)
    storage.record_fetch_failure("desk", NOW, error="fetch failed: HTTP 500 <oops>")
    storage.add_usage("en", Usage(1, 4, 0.25, 1, 3))
    return snapshot(
        storage,
        now=NOW,
        sources=SOURCES,
        languages={"en": "ctx1", "fr": "ctx1"},
        next_runs={"wire": NOW},
    )


def test_snapshot_reports_each_source_and_language(storage):
    status = _seeded(storage)
    wire, desk, new = status.sources
    assert (wire.result, wire.next_run, wire.error) == ("ok", NOW, None)
    assert (desk.result, desk.error) == ("error", "fetch failed: HTTP 500 <oops>")
    assert (new.result, new.last_fetch) == ("never run", None)
    en, fr = status.languages
    assert (en.items, en.untranslated, en.failed) == (0, 1, 0)
    # shown as written, yet still due a pass for any quoted passage in another language
    assert (fr.items, fr.untranslated) == (1, 1)
    assert en.usage.segments_per_second == 16.0


def test_status_text_is_aligned_tables(storage):
    text = as_text(_seeded(storage))
    lines = text.splitlines()
    assert lines[0] == "lingofeed status at 2024-05-01 12:00:00 UTC"
    header = next(line for line in lines if line.startswith("source "))
    assert header.index("location") == lines[lines.index(header) + 1].index("https://")
    assert "en        0      1             0       25%          16.0        1" in text


def test_status_html_escapes_upstream_text(storage):
    page = as_html(_seeded(storage))
    assert "HTTP 500 &lt;oops&gt;" in page and "<oops>" not in page
    assert "<tr class='source-error'>" in page
    assert "<script" not in page


def test_status_json_carries_rates(storage):
    data = json.loads(as_json(_seeded(storage)))
    assert data["languages"][0]["usage"]["hit_rate"] == 0.25
    assert data["sources"][0]["next_run"] == "2024-05-01T12:00:00+00:00"


def test_metrics_use_their_own_registry():
    first, second = Metrics(), Metrics()
    first.model_call("fr-en", 12, 0.5)
    first.model_call("fr-en", 3, 0.25)
    first.fetched("wire", "ok")
    assert (first.model_calls, first.model_segments, first.model_seconds) == (2, 15, 0.75)
    assert second.model_calls == 0
    text = first.exposition().decode()
    assert 'lingofeed_model_segments_total{pair="fr-en"} 15.0' in text
    assert 'lingofeed_fetches_total{result="ok",source="wire"} 1.0' in text
