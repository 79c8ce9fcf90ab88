"""The translation memory in the store: ``translations.memory.TranslationMemory`` on its table.

Rows are looked up by a SHA-256 of their sentence (an index on long text is slow or refused on
PostgreSQL) and the stored text is compared on read. A write is ``INSERT … ON CONFLICT DO
NOTHING``: the unique key makes a repeated or concurrent write of the same sentence a no-op, and
the first answer stays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lingofeed.feeds.store._base import StorageBase
from lingofeed.feeds.store._types import MemoryStats
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import translation_memory as tm
from lingofeed.translations.memory import TMKey
from lingofeed.translations.types import AlignedTranslation

#: Rows per statement: keeps every dialect far below its bound-parameter limit.
_CHUNK = 200
#: How a row stored without an alignment holds it.
_NO_ALIGNMENT = "[]"


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlTranslationMemory(StorageBase):
    """``TranslationMemory`` in the ``translation_memory`` table of the store's database.

    Safe to share between threads (SQLAlchemy pools connections); ``stats`` are this process's
    advisory counters.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.stats = MemoryStats()

    def get_many(self, keys: Iterable[TMKey]) -> dict[TMKey, AlignedTranslation]:
        wanted: dict[tuple[str, str, str, str], TMKey] = {
            (key.source_hash, key.src, key.tgt, key.model_id): key for key in keys
        }
        found: dict[TMKey, AlignedTranslation] = {}
        groups: dict[tuple[str, str, str], list[str]] = {}
        for source_hash, src, tgt, model_id in wanted:
            groups.setdefault((src, tgt, model_id), []).append(source_hash)
        columns = (tm.c.source_hash, tm.c.source, tm.c.target, tm.c.alignment)
        with self._connect("the translation memory") as conn:
            for (src, tgt, model_id), hashes in groups.items():
                for chunk in _chunks(hashes):
                    query = sa.select(*columns).where(
                        tm.c.src == src,
                        tm.c.tgt == tgt,
                        tm.c.model_id == model_id,
                        tm.c.source_hash.in_(chunk),
                    )
                    for row in conn.execute(query):
                        key = wanted[(row.source_hash, src, tgt, model_id)]
                        if row.source == key.source:
                            found[key] = _decode(row.target, row.alignment)
        self.stats.hits += len(found)
        self.stats.misses += len(wanted) - len(found)
        return found

    def put_many(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        values = [
            {
                "source_hash": key.source_hash,
                "src": key.src,
                "tgt": key.tgt,
                "model_id": key.model_id,
                "source": key.source,
                "target": value.text,
                "alignment": _encode(value),
            }
            for key, value in rows.items()
        ]
        if not values:
            return
        with self._write("the translation memory") as conn:
            statement = upsert(conn, tm).on_conflict_do_nothing()
            for chunk in _chunks(values):
                conn.execute(statement, list(chunk))
        self.stats.writes += len(values)

    def add_alignments(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        values = [
            {
                "key_hash": key.source_hash,
                "key_src": key.src,
                "key_tgt": key.tgt,
                "key_model": key.model_id,
                "key_target": value.text,
                "new_alignment": _encode(value),
            }
            for key, value in rows.items()
            if value.alignment
        ]
        if not values:
            return
        statement = (
            tm.update()
            .where(
                tm.c.source_hash == sa.bindparam("key_hash"),
                tm.c.src == sa.bindparam("key_src"),
                tm.c.tgt == sa.bindparam("key_tgt"),
                tm.c.model_id == sa.bindparam("key_model"),
                tm.c.target == sa.bindparam("key_target"),
                tm.c.alignment == _NO_ALIGNMENT,
            )
            .values(alignment=sa.bindparam("new_alignment"))
        )
        with self._write("the translation memory") as conn:
            for chunk in _chunks(values):
                conn.execute(statement, list(chunk))
        self.stats.writes += len(values)


def _encode(value: AlignedTranslation) -> str:
    return json.dumps([list(pair) for pair in value.alignment])


def _decode(target: str, alignment: str) -> AlignedTranslation:
    pairs = tuple((int(source), int(target_word)) for source, target_word in json.loads(alignment))
    return AlignedTranslation(text=target, alignment=pairs)
