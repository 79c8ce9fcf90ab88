"""The distributed mode's rules that need no running workers: when a source is due, the
``[workers]`` settings, and the one-line refusal of a database that is not PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lingofeed.feeds.store import SourceState
from lingofeed.feeds.types import Source
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.queue import DistributedError, conninfo, is_due
from lingofeed.scheduler.settings import ConfigError, Schedule, SourceSettings
from tests.fixtures.service import config_header, lingofeed

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


def configured(every: timedelta | None = None, cron: str | None = None) -> SourceSettings:
    return SourceSettings(
        Source(id="wire", url="https://upstream.example/feed.xml", language="fr"),
        Schedule(every=every, cron=cron),
    )


def fetched(at: datetime, **changes: object) -> SourceState:
    return replace(
        SourceState("wire", "https://upstream.example/feed.xml", last_fetch_at=at), **changes
    )


def test_a_source_never_fetched_is_due() -> None:
    assert is_due(configured(timedelta(minutes=15)), None, NOW)


def test_a_source_is_due_once_its_interval_has_passed_since_the_last_fetch() -> None:
    source = configured(timedelta(minutes=15))
    assert not is_due(source, fetched(NOW - timedelta(minutes=14)), NOW)
    assert is_due(source, fetched(NOW - timedelta(minutes=15)), NOW)


def test_a_cron_source_is_due_when_a_cron_time_passed_since_the_last_fetch() -> None:
    source = configured(cron="0 * * * *")
    assert not is_due(source, fetched(NOW.replace(minute=0)), NOW.replace(minute=59))
    assert is_due(source, fetched(NOW.replace(minute=0)), NOW.replace(hour=13, minute=0))


def test_a_failing_source_waits_for_its_backoff_and_a_disabled_one_never_runs() -> None:
    source = configured(timedelta(minutes=1))
    backing_off = fetched(NOW - timedelta(hours=1), next_attempt_at=NOW + timedelta(minutes=5))
    assert not is_due(source, backing_off, NOW)
    assert is_due(source, backing_off, NOW + timedelta(minutes=5))
    assert not is_due(source, fetched(NOW - timedelta(hours=1), disabled=True), NOW)


def write_config(folder: Path, extra: str = "", database_url: str | None = None) -> Path:
    (folder / "articles").mkdir(parents=True)
    header = config_header("http://127.0.0.1:8080/")
    if database_url is not None:
        header = header.replace("[service]\n", f'[service]\ndatabase_url = "{database_url}"\n')
    config = folder / "lingofeed.toml"
    config.write_text(
        header + '\n[languages.en]\ntitle = "News"\n\n[[sources]]\nid = "articles"\n'
        'directory = "articles"\nlanguage = "fr"\n' + extra,
        encoding="utf-8",
    )
    return config


def test_the_workers_table_is_read_and_a_bad_interval_is_reported_at_its_line(
    tmp_path: Path,
) -> None:
    good = write_config(
        tmp_path / "good", '\n[workers]\nbatch_segments = 16\nstalled_after = "1m"\n'
    )
    workers = load_settings(good).workers
    assert (workers.batch_segments, workers.stalled_after) == (16, timedelta(minutes=1))
    bad = write_config(tmp_path / "bad", '\n[workers]\nstalled_after = "soon"\n')
    lines = bad.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.startswith("stalled_after"))
    with pytest.raises(ConfigError, match=rf"lingofeed.toml:{line}: workers\.stalled_after: bad"):
        load_settings(bad)


def test_the_full_example_config_documents_the_workers_table() -> None:
    text = (REPO / "config" / "lingofeed.example-full.toml").read_text(encoding="utf-8")
    for key in ("[workers]", "batch_segments", "stalled_after", "publish_debounce"):
        assert key in text


def test_workers_need_postgresql_and_say_so_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(DistributedError, match="PostgreSQL database_url"):
        conninfo("sqlite:///var/lingofeed.sqlite")
    assert conninfo("postgresql+psycopg://lf:secret@db/lingofeed") == (
        "postgresql://lf:secret@db/lingofeed"
    )
    config = write_config(tmp_path)
    done = lingofeed("--config", str(config), "worker", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "lingofeed: error: workers need a PostgreSQL database_url, not sqlite ([service] "
        "database_url or LINGOFEED_DATABASE_URL; SQLite runs everything in `lingofeed run`)"
    ]
