"""Concurrent writers on one database, SQLite file and PostgreSQL: every insert path raced, and
schema setup raced.

Each writer has its own engine (its own connections, as another process would), and all start
together at a barrier, so the inserts of one key really meet. A writer that has to wait for
another's transaction waits (SQLite's busy timeout, PostgreSQL's row and advisory locks), never
fails, and the rows come out as if the writers had taken turns.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lingofeed.feeds.store import SqlTranslationMemory, Storage, TranslationStatus, Usage
from lingofeed.feeds.store._articles import _upsert_articles
from lingofeed.feeds.store.db import engine_url, open_engine, upsert
from lingofeed.feeds.store.schema import STORE_SCHEMAS, sources
from lingofeed.feeds.types import EntryData
from lingofeed.translations.memory import TMKey
from lingofeed.translations.types import AlignedTranslation

WRITERS = 4
ROUNDS = 5
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ENTRIES = [EntryData(f"id-{n}", f"Titre {n}", language="fr") for n in range(20)]


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


def _nothing(_store: Storage) -> None:
    pass


def race(
    url: str, write: Callable[[Storage, int], Any], setup: Callable[[Storage], Any] = _nothing
) -> list[Any]:
    """Run ``write(storage, writer)`` in ``WRITERS`` threads at once; their results, in order.

    Every writer opens its own engine on ``url``; an exception in any of them fails the test.
    """
    first = Storage(open_engine(url))
    setup(first)
    first.close()
    stores = [Storage(open_engine(url)) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = write(stores[index], index)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    return results


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """``query``'s rows, read on a connection of the test's own, outside the store."""
    engine = sa.create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(query)]
    finally:
        engine.dispose()


def test_racing_add_source_creates_one_row(url: str) -> None:
    states = race(url, lambda s, _i: s.add_source("wire", "https://wire.example/feed"))
    assert {state.url for state in states} == {"https://wire.example/feed"}
    assert rows(url, "SELECT id, configured_url FROM sources") == [
        ("wire", "https://wire.example/feed")
    ]


def test_racing_fetch_records_on_a_new_source_count_every_failure(url: str) -> None:
    def fail(store: Storage, _index: int) -> None:
        for _ in range(ROUNDS):
            store.record_fetch_failure("wire", T0, error="HTTP 500")

    race(url, fail)
    assert rows(url, "SELECT id, consecutive_failures FROM sources") == [("wire", WRITERS * ROUNDS)]


def test_racing_upserts_of_one_fetch_store_each_item_once_and_report_it_new_once(
    url: str,
) -> None:
    results = race(url, lambda s, _i: s.upsert_entries("wire", ENTRIES, T0))
    new = [upstream_id for result in results for upstream_id in result.new]
    assert sorted(new) == sorted(e.upstream_id for e in ENTRIES)
    assert all(set(r.new) | set(r.unchanged) == {e.upstream_id for e in ENTRIES} for r in results)
    assert rows(url, "SELECT count(*), count(DISTINCT upstream_id) FROM articles") == [(20, 20)]


def _seed(store: Storage) -> None:
    store.upsert_entries("wire", ENTRIES, T0)


def test_racing_saves_of_one_translation_leave_one_row(url: str) -> None:
    def save(store: Storage, index: int) -> None:
        for n in range(ROUNDS):
            store.save_translation(
                "wire", "id-0", "en", fields={"title": "Title"}, content_hash="h",
                context=f"c{index}", now=T0.replace(minute=n),
            )  # fmt: skip

    race(url, save, _seed)
    stored = rows(url, "SELECT status, CAST(fields AS TEXT) FROM translations")
    assert stored == [(TranslationStatus.DONE.value, '{"title": "Title"}')]


def test_racing_status_marks_of_one_translation_leave_one_row(url: str) -> None:
    def mark(store: Storage, index: int) -> None:
        store.set_translation_status(
            "wire", "id-0", "en", status=TranslationStatus.FAILED, content_hash="h",
            context="c", error=f"writer {index}",
        )  # fmt: skip

    race(url, mark, _seed)
    ((status, error),) = rows(url, "SELECT status, error FROM translations")
    assert status == TranslationStatus.FAILED.value and error.startswith("writer ")


def test_racing_usage_adds_lose_no_increment(url: str) -> None:
    def add(store: Storage, _index: int) -> None:
        for _ in range(ROUNDS):
            store.add_usage("en", Usage(model_calls=1, model_segments=3, tm_hits=2))

    race(url, add)
    store = Storage(open_engine(url))
    total = WRITERS * ROUNDS
    assert store.get_usage() == {"en": Usage(total, 3 * total, 0.0, 2 * total, 0)}
    store.close()


def test_racing_memory_puts_keep_one_first_answer_per_key(url: str) -> None:
    keys = [TMKey(f"Phrase {n}.", "fr", "en", "m@1") for n in range(50)]

    def put(store: Storage, index: int) -> None:
        memory = SqlTranslationMemory(store.engine)
        memory.put_many({key: AlignedTranslation(f"Sentence by {index}.") for key in keys})

    race(url, put)
    assert rows(url, "SELECT count(*), count(DISTINCT source_hash) FROM translation_memory") == [
        (50, 50)
    ]
    assert len(rows(url, "SELECT DISTINCT target FROM translation_memory")) == 1


def _open_new_database(url: str, barrier: Any) -> None:
    barrier.wait()
    Storage(open_engine(url)).close()


def test_processes_opening_a_new_database_at_once_all_succeed_and_record_it_once(
    url: str,
) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(WRITERS)
    processes = [spawn.Process(target=_open_new_database, args=(url, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * WRITERS
    assert sorted(rows(url, "SELECT name, version FROM schema_versions")) == sorted(
        (schema.name, schema.version) for schema in STORE_SCHEMAS
    )


def test_upserts_render_as_on_conflict_for_postgresql_too() -> None:
    """The same statements render for PostgreSQL (no server needed to check the SQL)."""

    class PostgresConnection:
        dialect = postgresql.dialect()

    conn: Any = PostgresConnection()
    article = str(_upsert_articles(conn).compile(dialect=conn.dialect))
    assert "ON CONFLICT (source_id, upstream_id) DO UPDATE SET" in article
    assert "first_seen = excluded.first_seen" not in article
    source = upsert(conn, sources).values(id="s").on_conflict_do_nothing()
    assert "ON CONFLICT DO NOTHING" in str(source.compile(dialect=conn.dialect))
    locked = sa.select(sources.c.id).with_for_update()
    assert "FOR UPDATE" in str(locked.compile(dialect=conn.dialect))
