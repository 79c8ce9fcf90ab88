"""What every per-domain part of ``Storage`` shares: the engine, reads and transactions.

Every operational database failure becomes ``StorageError`` naming the database and what was
being read or written, so a locked or full disk is reported, not mistaken for a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from lingofeed.feeds.store.db import (
    ensure_schema,
    read_connection,
    require_dialect,
    write_transaction,
)
from lingofeed.feeds.store.schema import STORE_SCHEMAS, articles

#: Feed order: by published, else updated, else first seen; ties by id (then source, as two
#: sources may use one id) for an output that is the same on every backend and every run.
NEWEST_FIRST = (
    sa.func.coalesce(articles.c.published, articles.c.updated, articles.c.first_seen).desc(),
    articles.c.upstream_id,
    articles.c.source_id,
)


class StorageBase:
    """The engine (every table created or upgraded on open) and its two ways in."""

    def __init__(self, engine: Engine) -> None:
        require_dialect(engine)
        for schema in STORE_SCHEMAS:
            ensure_schema(engine, schema)
        self.engine = engine

    def close(self) -> None:
        """Release pooled connections; the engine's owner may still use it."""
        self.engine.dispose()

    @contextmanager
    def _connect(self, what: str) -> Iterator[Connection]:
        """A connection for reading; an operational failure names what was being read."""
        with read_connection(self.engine, f"cannot read {what}") as conn:
            yield conn

    def _read(self, what: str, query: sa.Executable) -> list[RowMapping]:
        with self._connect(what) as conn:
            return list(conn.execute(query).mappings())

    @contextmanager
    def _write(self, what: str) -> Iterator[Connection]:
        """One write transaction (``write_transaction``); a failure names what was being written."""
        with write_transaction(self.engine, f"cannot write {what}") as conn:
            yield conn
