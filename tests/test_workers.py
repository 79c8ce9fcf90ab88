"""lingofeed on PostgreSQL with ``run --distributed`` (server + tick) and three workers.

30 sources (three upstream feeds served on 127.0.0.1, ten sources each) translated into English
and French with the repo's real test models. Every item must be translated and published once;
then upstream grows, a worker is SIGKILLed while it runs a translation job, and the run must
still complete: every feed valid and complete, no item lost or duplicated, the translations equal
to those of a single ``lingofeed once`` on SQLite over the same upstream, and every translation
memory row equal to a fresh translation by the model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lingofeed.feeds.store.db import open_engine
from lingofeed.scheduler.config import load_settings
from lingofeed.translations.engine import ArgosTranslator
from lingofeed.translations.models import ModelStore
from tests.crashharness import FEEDS, PACKAGES, Upstream, check_published
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import LingofeedProcess, RunningService, config_header, lingofeed

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]

SOURCES_PER_FEED = 10
WORKERS = 3
#: Generous: the waits poll and assert nothing about how long things took.
DEADLINE = 300.0

_CONFIG = """item_limit = 1000

[server]
port = 0

[workers]
stalled_after = "3s"
publish_debounce = "1s"

[languages.en]
title = "News"

[languages.fr]
title = "Actualités"
"""


def install(root: Path, upstream: Upstream, database_url: str | None, every: str) -> Path:
    """A lingofeed folder with the test models and 30 sources; returns its config file."""
    root.mkdir(parents=True)
    header = config_header("http://127.0.0.1:8080/")
    if database_url is not None:
        header = header.replace("[service]\n", f'[service]\ndatabase_url = "{database_url}"\n')
    sources = "".join(
        f'\n[[sources]]\nid = "{name}-{k}"\nurl = "{upstream.url(name)}"\n'
        f'language = "{language}"\nevery = "{every}"\n'
        for name, (language, _) in FEEDS.items()
        for k in range(SOURCES_PER_FEED)
    )
    config = root / "lingofeed.toml"
    config.write_text(header + _CONFIG + sources, encoding="utf-8")
    for package in sorted(PACKAGES.glob("*.argosmodel")):
        done = lingofeed("--config", str(config), "models", "install", str(package), cwd=root)
        assert done.returncode == 0, done.stderr
    return config


def translations(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT source_id, upstream_id, language, status, fields FROM translations"
                " ORDER BY 1, 2, 3"
            )
        )
        return [(*row[:4], json.loads(row[4]) if isinstance(row[4], str) else row[4])
                for row in rows]  # fmt: skip


def articles(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT source_id, upstream_id, title FROM articles ORDER BY 1, 2")
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]


def busy_jobs(engine: Engine) -> int:
    """Jobs of the cycle (not the periodic ones) waiting or running."""
    with engine.connect() as conn:
        count = conn.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                " AND task_name NOT IN ('lingofeed:tick', 'lingofeed:retry_stalled', "
                "'lingofeed:source')"
            )
        ).scalar()
    return int(count or 0)


def published_ids(output: Path, language: str) -> list[str]:
    feed = json.loads((output / language / "feed.json").read_text(encoding="utf-8"))
    return [str(item["id"]) for item in feed["items"]]


def wait_settled(engine: Engine, output: Path, items: int) -> None:
    """Until every one of ``items`` articles is translated in both languages, no translation,
    assembly or publish job is left, and both feeds show every item."""
    give_up = time.monotonic() + DEADLINE
    while time.monotonic() < give_up:
        done = [row for row in translations(engine) if row[3] == "done"]
        if len(done) == 2 * items and busy_jobs(engine) == 0:
            shown = [
                published_ids(output, lang) if (output / lang / "feed.json").exists() else []
                for lang in ("en", "fr")
            ]
            if all(len(ids) == items for ids in shown):
                return
        time.sleep(0.5)
    raise AssertionError(f"not settled: {len(done)} of {2 * items} translations done")


def kill_a_translating_worker(engine: Engine, workers: dict[int, LingofeedProcess]) -> bool:
    """SIGKILL the worker that runs a translation job, as soon as one does."""
    give_up = time.monotonic() + DEADLINE
    query = sa.text(
        "SELECT worker_id FROM procrastinate_jobs WHERE status = 'doing'"
        " AND task_name = 'lingofeed:translate' AND worker_id IS NOT NULL LIMIT 1"
    )
    while time.monotonic() < give_up:
        with engine.connect() as conn:
            worker_id = conn.execute(query).scalar()
        if worker_id is not None and int(worker_id) in workers:
            workers.pop(int(worker_id)).kill()
            return True
        time.sleep(0.01)
    return False


def start_workers(config: Path, engine: Engine) -> dict[int, LingofeedProcess]:
    """``WORKERS`` workers, keyed by the id procrastinate gives each (started one by one)."""
    started: dict[int, LingofeedProcess] = {}
    for number in range(WORKERS):
        process = LingofeedProcess(config, "worker", "--name", f"w{number}", log=f"w{number}")
        give_up = time.monotonic() + DEADLINE
        while time.monotonic() < give_up:
            with engine.connect() as conn:
                has = sa.inspect(conn).has_table("procrastinate_workers")
                ids = conn.execute(sa.text("SELECT id FROM procrastinate_workers")).scalars()
                new = [i for i in ids if int(i) not in started] if has else []
            if new:
                started[int(new[0])] = process
                break
            assert process.process.poll() is None, process.log()
            time.sleep(0.1)
    return started


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = FeedServer()
    try:
        yield Upstream(server)
    finally:
        server.close()


def check_memory(engine: Engine, models: Path) -> int:
    """Every memory row's target equals what the model gives for its source now."""
    translator = ArgosTranslator(ModelStore(models))
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT source, src, tgt, model_id, target FROM translation_memory")
        )
        for source, src, tgt, model_id, target in rows:
            groups.setdefault((src, tgt, model_id), []).append((source, target))
    checked = 0
    for (src, tgt, model_id), pairs in groups.items():
        assert translator.model_id(src, tgt) == model_id
        fresh = translator.translate_aligned([source for source, _ in pairs], src, tgt)
        for (source, stored), now in zip(pairs, fresh, strict=True):
            assert stored == now.text, f"memory holds {stored!r} for {source!r}"
            checked += 1
    return checked


def test_three_workers_translate_and_publish_every_item_once_and_survive_a_killed_worker(
    tmp_path: Path, postgres_url: str, upstream: Upstream
) -> None:
    config = install(tmp_path / "distributed", upstream, postgres_url, every="10s")
    settings = load_settings(config)
    engine = open_engine(settings.database_url)
    output = settings.output.directory
    server = RunningService(config, "--distributed")
    workers = start_workers(config, engine)
    try:
        per_source = upstream.first_items
        wait_settled(engine, output, 3 * SOURCES_PER_FEED * per_source)
        first = translations(engine)
        upstream.round += 1  # one new item and one edited title per feed
        assert kill_a_translating_worker(engine, workers), "no translation job ever ran"
        wait_settled(engine, output, 3 * SOURCES_PER_FEED * (per_source + 1))
        status = lingofeed("--config", str(config), "status", cwd=config.parent)
        assert status.returncode == 0, status.stderr
        assert "waiting  running  failed  retried" in status.stdout
        assert "last heartbeat" in status.stdout
        page = server.get("/status")
        assert page.status_code == 200 and "Job queues" in page.text
        feed = server.get("/en/atom.xml")
        parsed = feedparser.parse(feed.content)
        assert not parsed.bozo and len(parsed.entries) > 0
    finally:
        for worker in workers.values():
            worker.stop()
        server.stop()
    assert first != translations(engine)  # the second round changed something
    files, temps = check_published(output)
    assert files > 0 and temps == 0
    for language in ("en", "fr"):
        ids = published_ids(output, language)
        assert len(ids) == len(set(ids)) == 3 * SOURCES_PER_FEED * (per_source + 1)

    reference = install(tmp_path / "reference", upstream, None, every="1h")
    done = lingofeed("--config", str(reference), "once", cwd=reference.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    alone = open_engine(load_settings(reference).database_url)
    assert articles(engine) == articles(alone)
    assert translations(engine) == translations(alone)
    assert check_memory(engine, settings.models.directory) > 0
