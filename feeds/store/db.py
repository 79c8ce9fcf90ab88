"""The one database layer: engine creation, schema versions, error wrapping.

Contains no business logic. Every table lingofeed keeps (articles, source state, translations,
translation memory) is declared with SQLAlchemy Core in a ``Schema`` and opened through
``open_engine``, so moving from SQLite to PostgreSQL is a change of URL.

Each ``Schema`` has a name and a version kept in the ``schema_versions`` table. A new database
is built straight from the table definitions; an older one is upgraded by the schema's
``migrations`` in one transaction; a database newer than the code is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from lingofeed.feeds.errors import StorageError

Migration = Callable[[Connection], None]

_versions_metadata = sa.MetaData()
schema_versions = sa.Table(
    "schema_versions",
    _versions_metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


@dataclass(frozen=True)
class Schema:
    """A named group of tables with a version and the steps that upgrade older versions."""

    name: str
    metadata: sa.MetaData
    version: int
    #: ``migrations[n]`` upgrades a database from version ``n`` to ``n + 1``.
    migrations: Mapping[int, Migration] = field(default_factory=dict)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the HTTP server read while a cycle writes; foreign keys are off by default."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # In-memory or read-only databases keep their default journal.
        with suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def display_url(engine_or_url: Engine | str) -> str:
    """The database URL without its password, for messages and logs."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else sa.make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def open_engine(url: str, schemas: Sequence[Schema] = ()) -> Engine:
    """Create an engine for ``url`` and bring every schema in ``schemas`` to its current version."""
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StorageError(url, "invalid database URL") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        for schema in schemas:
            ensure_schema(engine, schema)
    except BaseException:
        engine.dispose()
        raise
    return engine


def ensure_schema(engine: Engine, schema: Schema) -> None:
    """Create or upgrade ``schema`` in one transaction; refuse a database newer than the code."""
    with wrap_errors(engine, f"cannot open schema {schema.name!r}"), engine.begin() as conn:
        _versions_metadata.create_all(conn)
        row = conn.execute(
            sa.select(schema_versions.c.version).where(schema_versions.c.name == schema.name)
        ).first()
        if row is None:
            schema.metadata.create_all(conn)
            conn.execute(
                sa.insert(schema_versions).values(name=schema.name, version=schema.version)
            )
            return
        current = int(row[0])
        if current > schema.version:
            raise StorageError(
                display_url(engine),
                f"schema {schema.name!r} is at version {current}, newer than this lingofeed "
                f"({schema.version}); upgrade lingofeed",
            )
        for version in range(current, schema.version):
            step = schema.migrations.get(version)
            if step is None:
                raise StorageError(
                    display_url(engine),
                    f"no migration for schema {schema.name!r} from version {version}",
                )
            step(conn)
        if current != schema.version:
            conn.execute(
                sa.update(schema_versions)
                .where(schema_versions.c.name == schema.name)
                .values(version=schema.version)
            )


@contextmanager
def wrap_errors(engine: Engine, message: str) -> Iterator[None]:
    """Turn operational database failures into StorageError naming the database.

    Only OperationalError (locked, disk I/O, cannot open) and connection-level DBAPI errors are
    wrapped: programming errors are bugs and must surface as they are.
    """
    try:
        yield
    except OperationalError as exc:
        raise StorageError(display_url(engine), message) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StorageError(display_url(engine), message) from exc
        raise
