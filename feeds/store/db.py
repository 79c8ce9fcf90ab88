"""The one database layer: engine creation, schema versions, error wrapping.

Contains no business logic. Every table lingofeed keeps (articles, source state, translations,
translation memory) is declared with SQLAlchemy Core in a ``Schema`` and opened through
``open_engine``, so moving from SQLite to PostgreSQL is a change of URL.

Each ``Schema`` has a name and a version kept in the ``schema_versions`` table. A new database
is built straight from the table definitions; an older one is upgraded by the schema's
``migrations`` in one transaction; a database newer than the code is refused.

Several processes may write one database at once (cycles of a scaled-out service, ``lingofeed
once`` beside the service). Every write is one ``write_transaction``: on SQLite it starts with
``BEGIN IMMEDIATE``, so writers queue on the busy timeout instead of failing when a transaction
that began by reading tries to write (SQLite answers that with an immediate "database is
locked", which no timeout retries). Reads take a snapshot (``read_connection``: a plain ``BEGIN``
on SQLite, ``REPEATABLE READ`` on PostgreSQL) and never block writers. Schema setup is such a
write transaction too, and on PostgreSQL it also holds an advisory lock, so two processes
opening a new database build it once.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
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


#: The dialects whose ``INSERT … ON CONFLICT`` the store uses.
DIALECTS = ("sqlite", "postgresql")
#: How long a SQLite writer waits for another process's write transaction to end.
BUSY_TIMEOUT_MS = 10_000
#: Execution option that makes a SQLite transaction start with ``BEGIN IMMEDIATE``.
_WRITE = "lingofeed_write"
#: ``pg_advisory_xact_lock`` key held while a schema is created or upgraded ("lingofee").
_SCHEMA_LOCK = 0x6C696E676F666565


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; foreign keys are off by default.

    ``isolation_level = None`` stops the sqlite3 module from opening transactions itself (it
    would start them only before the first INSERT, leaving earlier reads outside): ``_begin``
    opens each one instead.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # In-memory or read-only databases keep their default journal.
        with suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _begin(conn: Connection) -> None:
    """Open a SQLite transaction: a snapshot for reading, or the write lock at once for writing."""
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


#: The driver a plain ``postgresql://`` URL gets: psycopg 3 (SQLAlchemy's own default for
#: that spelling is psycopg2, which lingofeed does not install).
POSTGRES_DRIVER = "psycopg"
#: ``scheme://user:password@`` — what ``display_url`` hides when a URL does not even parse.
_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


def engine_url(url: str) -> sa.URL:
    """``url`` as SQLAlchemy should open it: ``postgresql://`` runs on psycopg 3.

    An explicit driver (``postgresql+psycopg2://``) is kept: the operator chose it.
    """
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername=f"postgresql+{POSTGRES_DRIVER}")
    return parsed


def display_url(engine_or_url: Engine | str) -> str:
    """The database URL without its password, for messages and logs.

    A URL that does not parse loses everything between ``://`` and ``@`` instead.
    """
    if isinstance(engine_or_url, Engine):
        return engine_or_url.url.render_as_string(hide_password=True)
    try:
        return sa.make_url(engine_or_url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return _CREDENTIALS.sub("***@", engine_or_url)


def open_engine(
    url: str, schemas: Sequence[Schema] = (), *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Engine:
    """Create an engine for ``url`` and bring every schema in ``schemas`` to its current version.

    ``busy_timeout_ms`` is how long a SQLite writer waits for another one before it fails.
    """
    try:
        engine = sa.create_engine(engine_url(url))
    except (sa.exc.ArgumentError, ValueError, ImportError) as exc:
        # None of these messages quotes the URL, so the password stays out of the chain too.
        raise StorageError(display_url(url), "invalid database URL") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout_ms))
        sa.event.listen(engine, "begin", _begin)
    try:
        for schema in schemas:
            ensure_schema(engine, schema)
    except BaseException:
        engine.dispose()
        raise
    return engine


def ensure_schema(engine: Engine, schema: Schema) -> None:
    """Create or upgrade ``schema`` in one transaction; refuse a database newer than the code.

    Safe to run from several processes at once: the transaction holds the write lock (SQLite)
    or an advisory lock (PostgreSQL) from its first statement, so a second process waits, then
    finds the schema at its version and does nothing.
    """
    with write_transaction(engine, f"cannot open schema {schema.name!r}") as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
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
def read_connection(engine: Engine, message: str) -> Iterator[Connection]:
    """A connection whose reads share one snapshot; a failure becomes StorageError.

    SQLite's ``BEGIN`` gives that already; PostgreSQL's default (read committed) would let a
    second query of one read (the counts of the status page) see a later commit than the first,
    so reads run at ``REPEATABLE READ``, which for a reader never waits and never fails.
    """
    with wrap_errors(engine, message), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


@contextmanager
def write_transaction(engine: Engine, message: str) -> Iterator[Connection]:
    """One write transaction; an operational failure becomes StorageError with ``message``.

    On SQLite it takes the write lock before its first statement (waiting up to the busy
    timeout for other writers), so what it reads stays true until it commits.
    """
    with wrap_errors(engine, message), engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def require_dialect(engine: Engine) -> None:
    """Refuse a database whose dialect the store's ``INSERT … ON CONFLICT`` does not speak."""
    if engine.dialect.name not in DIALECTS:
        raise StorageError(
            display_url(engine),
            f"the store supports {' and '.join(DIALECTS)}, not {engine.dialect.name}",
        )


def upsert(conn: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT on ``table`` for ``conn``'s dialect, ready for ``on_conflict_do_…``.

    Both dialects' ``on_conflict_do_nothing`` and ``on_conflict_do_update(index_elements=…,
    set_=…, where=…)`` render ``INSERT … ON CONFLICT``, so a concurrent insert of the same key
    waits for the other writer and then updates or skips instead of raising IntegrityError.
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


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
