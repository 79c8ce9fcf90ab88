"""Schema versions and migrations, on SQLite and on PostgreSQL alike.

A ``Schema`` records its version in ``schema_versions``; opening an older database runs the
schema's migrations in order in one transaction, a failing one leaves the database as it was,
and a database newer than the code is refused by name (never its password).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lingofeed.feeds.errors import StorageError
from lingofeed.feeds.store import Storage
from lingofeed.feeds.store.db import Migration, Schema, open_engine, schema_versions
from lingofeed.feeds.store.schema import FEEDS_SCHEMA, STORE_SCHEMAS
from lingofeed.feeds.types import EntryData


def _notes_schema(version: int, migrations: Mapping[int, Migration] | None = None) -> Schema:
    """Version 1 of a small schema: one table of notes (later versions add columns)."""
    metadata = sa.MetaData()
    sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    return Schema("notes", metadata, version, dict(migrations or {}))


def _add_author(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE notes ADD COLUMN author VARCHAR(40)"))
    conn.execute(sa.text("UPDATE notes SET author = 'unknown'"))


def _add_score(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE notes ADD COLUMN score INTEGER NOT NULL DEFAULT 0"))


def _break(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE notes ADD COLUMN half_done INTEGER"))
    raise RuntimeError("migration 2 -> 3 fails half way")


def _versions(url: str) -> dict[str, int]:
    engine = open_engine(url)
    with engine.connect() as conn:
        found = {row.name: row.version for row in conn.execute(sa.select(schema_versions))}
    engine.dispose()
    return found


def _columns(url: str) -> set[str]:
    engine = open_engine(url)
    names = {column["name"] for column in sa.inspect(engine).get_columns("notes")}
    engine.dispose()
    return names


def _open(url: str, schema: Schema) -> None:
    open_engine(url, [schema]).dispose()


def test_a_new_database_records_every_store_schema_at_its_version(database_url: str):
    Storage(open_engine(database_url)).close()
    assert _versions(database_url) == {schema.name: schema.version for schema in STORE_SCHEMAS}


def test_an_older_database_is_upgraded_step_by_step_keeping_its_rows(database_url: str):
    engine = open_engine(database_url, [_notes_schema(1)])
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO notes (id, body) VALUES (1, 'kept')"))
    engine.dispose()
    _open(database_url, _notes_schema(3, {1: _add_author, 2: _add_score}))
    assert _versions(database_url)["notes"] == 3
    engine = open_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, body, author, score FROM notes")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "kept", "unknown", 0)]
    _open(database_url, _notes_schema(3, {1: _add_author, 2: _add_score}))  # nothing left to do
    assert _versions(database_url)["notes"] == 3


def test_a_failing_migration_leaves_the_database_at_its_version_untouched(database_url: str):
    _open(database_url, _notes_schema(1))
    _open(database_url, _notes_schema(2, {1: _add_author}))
    with pytest.raises(RuntimeError, match="fails half way"):
        _open(database_url, _notes_schema(4, {1: _add_author, 2: _break, 3: _add_score}))
    assert _versions(database_url)["notes"] == 2
    assert _columns(database_url) == {"id", "body", "author"}


def test_a_missing_migration_is_refused_naming_the_schema_and_version(database_url: str):
    _open(database_url, _notes_schema(1))
    with pytest.raises(StorageError, match=r"no migration for schema 'notes' from version 1"):
        _open(database_url, _notes_schema(2))
    assert _versions(database_url)["notes"] == 1


def test_a_database_newer_than_the_code_is_refused_without_its_password(database_url: str):
    _open(database_url, _notes_schema(2, {1: _add_author}))
    url = sa.make_url(database_url)
    if url.get_backend_name() == "postgresql":  # trusted on 127.0.0.1: any password opens it
        url = url.set(password="s3cret-pw")
    with pytest.raises(StorageError, match=r"version 2, newer than this lingofeed \(1\)") as info:
        _open(url.render_as_string(hide_password=False), _notes_schema(1))
    assert "s3cret-pw" not in str(info.value)
    assert _versions(database_url)["notes"] == 2


def test_an_unreachable_postgresql_names_it_without_its_password():
    url = "postgresql://lingo:s3cret-pw@127.0.0.1:9/lingofeed"  # nothing listens on port 9
    with pytest.raises(StorageError, match=r"cannot open schema .*lingo:\*\*\*@127\.0\.0\.1:9"):
        Storage(open_engine(url))
    with pytest.raises(StorageError) as info:
        Storage(open_engine(url))
    assert "s3cret-pw" not in str(info.value)
    assert "psycopg" in str(info.value)  # the driver a plain postgresql:// URL gets


def test_an_invalid_database_url_hides_its_password():
    with pytest.raises(StorageError, match="invalid database URL") as info:
        open_engine("postgresql://lingo:s3cret-pw@db.example:port/lingofeed")
    assert "s3cret-pw" not in str(info.value) and "postgresql://***@db.example" in str(info.value)


def _feeds_version_1() -> Schema:
    """The feeds tables as version 1 made them: language tags at most 35 characters, and no
    ``pages`` table (version 3 added it)."""
    metadata = sa.MetaData()
    for table in FEEDS_SCHEMA.metadata.sorted_tables:
        if table.name != "pages":
            table.to_metadata(metadata)
    for table, column in (
        ("articles", "language"),
        ("translations", "language"),
        ("translations", "source_language"),
    ):
        metadata.tables[table].c[column].type = sa.String(35)
    return Schema("feeds", metadata, 1)


def test_a_version_1_feeds_database_is_upgraded_and_then_keeps_any_language(database_url: str):
    now = datetime(2024, 5, 1, tzinfo=UTC)
    old = Storage(open_engine(database_url, [_feeds_version_1()]))
    old.upsert_entries("s", [EntryData("a", "Le titre", language="fr")], now)
    old.close()
    store = Storage(open_engine(database_url))
    assert _versions(database_url)["feeds"] == FEEDS_SCHEMA.version == 3
    declared = "français (France), langue officielle de la République"
    store.upsert_entries("s", [EntryData("a", "Le titre", language="fr"),
                               EntryData("b", "Autre", language=declared)], now)  # fmt: skip
    assert [(a.data.upstream_id, a.data.language) for a in store.get_articles("s")] == [
        ("a", "fr"),
        ("b", declared),
    ]
    store.close()
