"""Usage operations of ``Storage``: model and translation-memory work per target language.

The cycle adds each translation batch's usage to running totals, so the status page (in any
process) shows hit rates and model throughput, and an operator can see that a cycle with
nothing new made no model call.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import sqlalchemy as sa

from lingofeed.feeds.store._base import StorageBase
from lingofeed.feeds.store._types import Usage
from lingofeed.feeds.store.db import upsert
from lingofeed.feeds.store.schema import usage_counters


class UsageMixin(StorageBase):
    """``StorageType``'s usage methods."""

    def add_usage(self, language: str, usage: Usage) -> None:
        """Add one batch's usage to ``language``'s totals, adding up in the database."""
        values = asdict(usage)
        with self._write(f"usage for {language!r}") as conn:
            insert = upsert(conn, usage_counters).values(language=language, **values)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[usage_counters.c.language],
                    set_={name: usage_counters.c[name] + insert.excluded[name] for name in values},
                )
            )

    def get_usage(self) -> dict[str, Usage]:
        """Running totals per language."""
        return {
            row["language"]: Usage(**{f.name: row[f.name] for f in fields(Usage)})
            for row in self._read("usage", sa.select(usage_counters))
        }
