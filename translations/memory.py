"""Translation memory: raw model output per (sentence, language pair, model), kept in the database.

The TM is what makes an unchanged cycle cost zero model calls, and an edited article cost only
its edited sentences. It stores the model's raw output and word alignment, never the text after
glossary terms or inline tags were applied (those come later, from the alignment), so changing a
glossary invalidates nothing and changing a model invalidates only that model's rows.

It must never hold a wrong pair: a row is written only with the output for exactly its key, all
rows of one ``put_many`` are one transaction (a crash leaves none of them, never half a row), and
the unique key makes a repeated or concurrent write of the same sentence a no-op instead of a
second, possibly different, answer. Sentences are looked up by a SHA-256 of their text (an index
on long text is slow or refused on PostgreSQL) and the stored text is compared on read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lingofeed.feeds.errors import StorageError
from lingofeed.feeds.store.db import Schema, display_url, wrap_errors
from lingofeed.translations.types import AlignedTranslation

__all__ = [
    "TM_SCHEMA",
    "MemoryStats",
    "SqlTranslationMemory",
    "TMKey",
    "TranslationMemory",
]

_metadata = sa.MetaData()
tm_table = sa.Table(
    "translation_memory",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_hash", sa.String(64), nullable=False),
    sa.Column("src", sa.String(35), nullable=False),
    sa.Column("tgt", sa.String(35), nullable=False),
    sa.Column("model_id", sa.String(255), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    #: JSON list of ``[source_word, target_word]`` pairs.
    sa.Column("alignment", sa.Text, nullable=False),
    sa.UniqueConstraint("source_hash", "src", "tgt", "model_id", name="uq_translation_memory_key"),
)
#: Pass to ``feeds.store.db.open_engine`` with the other schemas.
TM_SCHEMA = Schema("translation_memory", _metadata, version=1)

#: Rows per statement: keeps every dialect far below its bound-parameter limit.
_CHUNK = 200
_DIALECTS = ("sqlite", "postgresql")
#: How a row stored without an alignment holds it.
_NO_ALIGNMENT = "[]"


@dataclass(frozen=True)
class TMKey:
    """What a translation depends on: the sentence, the pair and the exact model (name@version)."""

    source: str
    src: str
    tgt: str
    model_id: str

    @property
    def source_hash(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


@dataclass
class MemoryStats:
    """Counters for the status page and metrics; they only grow."""

    hits: int = 0
    misses: int = 0
    writes: int = 0


class TranslationMemory(Protocol):
    """Bulk lookup and store of sentence translations; one call is one database round trip."""

    stats: MemoryStats

    def get_many(self, keys: Iterable[TMKey]) -> dict[TMKey, AlignedTranslation]:
        """The stored translation of each key that has one; missing keys are simply absent."""
        ...

    def put_many(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        """Store ``rows`` in one transaction; keys already stored keep their first answer."""
        ...

    def add_alignments(self, rows: Mapping[TMKey, AlignedTranslation]) -> None:
        """Give stored rows that have the same text but no alignment the alignment of ``rows``.

        The pipeline asks the model for an alignment only where a sentence needs one, so a row
        may have been stored without; the model is deterministic, so the same text comes back
        and only the alignment is new. A row with an alignment is never changed.
        """
        ...


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlTranslationMemory:
    """``TranslationMemory`` in the ``translation_memory`` table of an engine opened with TM_SCHEMA.

    Safe to share between threads (SQLAlchemy pools connections); the counters are advisory.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in _DIALECTS:
            raise StorageError(
                display_url(engine),
                f"the translation memory supports {' and '.join(_DIALECTS)}, "
                f"not {engine.dialect.name}",
            )
        self._engine = engine
        self.stats = MemoryStats()

    def get_many(self, keys: Iterable[TMKey]) -> dict[TMKey, AlignedTranslation]:
        wanted: dict[tuple[str, str, str, str], TMKey] = {
            (key.source_hash, key.src, key.tgt, key.model_id): key for key in keys
        }
        found: dict[TMKey, AlignedTranslation] = {}
        groups: dict[tuple[str, str, str], list[str]] = {}
        for source_hash, src, tgt, model_id in wanted:
            groups.setdefault((src, tgt, model_id), []).append(source_hash)
        columns = (
            tm_table.c.source_hash,
            tm_table.c.source,
            tm_table.c.target,
            tm_table.c.alignment,
        )
        reading = wrap_errors(self._engine, "cannot read the translation memory")
        with reading, self._engine.connect() as conn:
            for (src, tgt, model_id), hashes in groups.items():
                for chunk in _chunks(hashes):
                    query = sa.select(*columns).where(
                        tm_table.c.src == src,
                        tm_table.c.tgt == tgt,
                        tm_table.c.model_id == model_id,
                        tm_table.c.source_hash.in_(chunk),
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
                "alignment": json.dumps([list(pair) for pair in value.alignment]),
            }
            for key, value in rows.items()
        ]
        if not values:
            return
        statement = _insert_ignoring_duplicates(self._engine.dialect.name)
        writing = wrap_errors(self._engine, "cannot write the translation memory")
        with writing, self._engine.begin() as conn:
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
                "new_alignment": json.dumps([list(pair) for pair in value.alignment]),
            }
            for key, value in rows.items()
            if value.alignment
        ]
        if not values:
            return
        c = tm_table.c
        statement = (
            tm_table.update()
            .where(
                c.source_hash == sa.bindparam("key_hash"),
                c.src == sa.bindparam("key_src"),
                c.tgt == sa.bindparam("key_tgt"),
                c.model_id == sa.bindparam("key_model"),
                c.target == sa.bindparam("key_target"),
                c.alignment == _NO_ALIGNMENT,
            )
            .values(alignment=sa.bindparam("new_alignment"))
        )
        writing = wrap_errors(self._engine, "cannot write the translation memory")
        with writing, self._engine.begin() as conn:
            for chunk in _chunks(values):
                conn.execute(statement, list(chunk))
        self.stats.writes += len(values)


def _insert_ignoring_duplicates(dialect: str) -> Any:
    """An INSERT that leaves an existing row for the same key alone (first answer wins)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(tm_table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(tm_table).on_conflict_do_nothing()


def _decode(target: str, alignment: str) -> AlignedTranslation:
    pairs = tuple((int(source), int(target_word)) for source, target_word in json.loads(alignment))
    return AlignedTranslation(text=target, alignment=pairs)
