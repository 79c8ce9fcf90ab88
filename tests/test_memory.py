"""Translation memory on a SQLite file and on PostgreSQL: bulk get/put, first answer wins,
concurrent writers.

A locked database is part of the store's contract test (tests/test_storage.py)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lingofeed.feeds.store import SqlTranslationMemory
from lingofeed.feeds.store.db import open_engine
from lingofeed.translations.memory import TMKey, TranslationMemory
from lingofeed.translations.types import AlignedTranslation

MODEL = "translate-fr_en-lingofeed_test@1.0"
CLOSURE = TMKey("Fermeture le 28/12 du camp de #Tombouctou.", "fr", "en", MODEL)
CLOSURE_EN = AlignedTranslation(
    "Closure on 28/12 of the #Timbuktu camp.", ((0, 0), (1, 1), (2, 2), (5, 4), (5, 5))
)


@pytest.fixture
def tm_url(database_url: str) -> str:
    """Every test here runs on each backend (``memory`` opens this URL too)."""
    return database_url


def test_stored_translation_and_alignment_come_back(memory: SqlTranslationMemory) -> None:
    typed: TranslationMemory = memory
    typed.put_many({CLOSURE: CLOSURE_EN})
    assert memory.get_many([CLOSURE]) == {CLOSURE: CLOSURE_EN}


def test_rows_survive_reopening_the_file(tm_url: str) -> None:
    engine = open_engine(tm_url)
    SqlTranslationMemory(engine).put_many({CLOSURE: CLOSURE_EN})
    engine.dispose()
    engine = open_engine(tm_url)
    assert SqlTranslationMemory(engine).get_many([CLOSURE]) == {CLOSURE: CLOSURE_EN}
    engine.dispose()


def test_every_part_of_the_key_matters(memory: SqlTranslationMemory) -> None:
    memory.put_many({CLOSURE: CLOSURE_EN})
    others = [
        TMKey(CLOSURE.source + " ", "fr", "en", MODEL),
        TMKey(CLOSURE.source, "fr", "de", MODEL),
        TMKey(CLOSURE.source, "es", "en", MODEL),
        TMKey(CLOSURE.source, "fr", "en", "translate-fr_en-lingofeed_test@1.1"),
    ]
    assert memory.get_many(others) == {}
    assert (memory.stats.hits, memory.stats.misses) == (0, 4)


def test_counts_hits_misses_and_writes(memory: SqlTranslationMemory) -> None:
    missing = TMKey("Bonjour.", "fr", "en", MODEL)
    memory.put_many({CLOSURE: CLOSURE_EN})
    memory.get_many([CLOSURE, missing])
    memory.get_many([CLOSURE])
    assert (memory.stats.hits, memory.stats.misses, memory.stats.writes) == (2, 1, 1)


def test_first_answer_wins_on_a_repeated_put(memory: SqlTranslationMemory) -> None:
    memory.put_many({CLOSURE: CLOSURE_EN})
    memory.put_many({CLOSURE: AlignedTranslation("Something else.")})
    assert memory.get_many([CLOSURE])[CLOSURE] == CLOSURE_EN


def test_bulk_put_and_get_beyond_one_statement(memory: SqlTranslationMemory) -> None:
    rows = {
        TMKey(f"Phrase numéro {i}.", "fr", "en", MODEL): AlignedTranslation(
            f"Sentence {i}.", ((0, 0),)
        )
        for i in range(1000)
    }
    memory.put_many(rows)
    assert memory.get_many(rows) == rows


def test_concurrent_puts_of_the_same_rows_are_harmless(tm_url: str) -> None:
    rows = {
        TMKey(f"Phrase {i}.", "fr", "en", MODEL): AlignedTranslation(f"Sentence {i}.")
        for i in range(300)
    }
    engines = [open_engine(tm_url) for _ in range(4)]
    errors: list[BaseException] = []

    def put(engine: sa.Engine) -> None:
        try:
            SqlTranslationMemory(engine).put_many(rows)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SqlTranslationMemory(engines[0]).get_many(rows) == rows
    with engines[0].connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM translation_memory")).scalar() == 300
    for engine in engines:
        engine.dispose()


def test_a_failed_put_stores_nothing(memory: SqlTranslationMemory, tm_url: str) -> None:
    good = TMKey("Bonjour.", "fr", "en", MODEL)
    bad = TMKey("Au revoir.", "fr", "en", MODEL)
    with pytest.raises(sa.exc.IntegrityError):
        memory.put_many({good: AlignedTranslation("Hello."), bad: AlignedTranslation(None)})  # type: ignore[arg-type]
    assert memory.get_many([good, bad]) == {}


def test_add_alignments_completes_only_rows_stored_without_one(
    memory: SqlTranslationMemory,
) -> None:
    other = TMKey("Le camp ferme.", "fr", "en", MODEL)
    memory.put_many({CLOSURE: AlignedTranslation(CLOSURE_EN.text), other: CLOSURE_EN})
    memory.add_alignments(
        {CLOSURE: CLOSURE_EN, other: AlignedTranslation(CLOSURE_EN.text, ((0, 0),))}
    )
    assert memory.get_many([CLOSURE, other]) == {CLOSURE: CLOSURE_EN, other: CLOSURE_EN}
    memory.add_alignments({CLOSURE: AlignedTranslation("Another text.", ((0, 0),))})
    assert memory.get_many([CLOSURE]) == {CLOSURE: CLOSURE_EN}  # never a different answer
