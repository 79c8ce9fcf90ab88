"""Domain types shared by ingest, storage, rendering and the cycle.

``EntryData`` is what upstream said (after sanitising); ``Article`` is what we keep;
``LocalizedEntry`` is an article as one language's feed shows it. All datetimes are
timezone-aware UTC. Sequences are tuples so every type is hashable and frozen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One upstream the operator configured: an HTTP(S) feed or a directory of article files."""

    #: Operator-chosen identifier, unique in the config (used in URLs, logs and the database).
    id: str
    #: Feed URL (RSS, Atom or JSON Feed); exactly one of ``url`` / ``directory`` is set.
    url: str | None = None
    #: Directory of article files (Markdown with front matter, or JSON).
    directory: Path | None = None
    #: Declared source language (BCP 47); None means detect.
    language: str | None = None
    #: Keep at most this many newest items per fetch; None means all.
    item_limit: int | None = None
    #: Fetch each new or changed item's page (its link) and publish the article extracted
    #: from it instead of the feed's summary (``scheduler.fulltext``).
    full_text: bool = False

    @property
    def location(self) -> str:
        """The URL or directory, for messages."""
        return self.url if self.url is not None else str(self.directory)


@dataclass(frozen=True)
class Media:
    """An image or other enclosure attached to an entry."""

    #: Absolute URL of the file.
    url: str
    #: MIME type, e.g. ``image/jpeg``.
    type: str | None = None
    #: Size in bytes, if known.
    length: int | None = None
    #: Caption, plain text (translated in localised entries).
    caption: str | None = None
    #: Credit / copyright line, plain text (never translated).
    credit: str | None = None
    #: Alternative text, plain text (translated in localised entries).
    alt: str | None = None


@dataclass(frozen=True)
class EntryData:
    """One upstream item as parsed and sanitised, before translation."""

    #: Upstream id (Atom id, RSS guid, JSON Feed id, or a file's stable name).
    upstream_id: str
    #: Plain-text title.
    title: str
    #: Link to the original article page (absolute URL).
    link: str | None = None
    #: Summary, sanitised HTML.
    summary: str | None = None
    #: Full content, sanitised HTML.
    content: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    #: Declared language of the item (BCP 47), if upstream or the operator said so.
    language: str | None = None

    def content_hash(self) -> str:
        """A stable hash of everything a reader sees; changes exactly when upstream edits."""
        data = asdict(self)
        for key in ("published", "updated"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    """An upstream entry as stored."""

    source_id: str
    data: EntryData
    #: ``data.content_hash()`` at the time it was stored.
    content_hash: str
    first_seen: datetime
    last_seen: datetime
    #: Set when the item vanished from upstream; deleted after the retention window.
    gone_since: datetime | None = None


@dataclass(frozen=True)
class LocalizedEntry:
    """An article as one language's feed shows it (translated, or the original language)."""

    source_id: str
    upstream_id: str
    #: Language of this rendering (BCP 47).
    language: str
    #: Language the article was written in (BCP 47), if known.
    original_language: str | None
    title: str
    link: str | None = None
    summary: str | None = None
    content: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    published: datetime | None = None
    #: Changes only when this language's content changes.
    updated: datetime | None = None
    #: True when any text was machine translated into ``language``.
    machine_translated: bool = False
    #: True when the article was written in ``language`` itself and only some passages (a
    #: quoted caption, a foreign sentence) were machine translated: the notice must say so.
    partly_translated: bool = False
    #: Fields shown as written (``title``, ``summary``, ``content``, ``media``) because the
    #: source's ``translate`` leaves them out: in ``original_language``, not ``language``.
    original_fields: tuple[str, ...] = ()
    #: True when the latest translation of the article into ``language`` failed (a passage
    #: the model could not translate, a missing model): what is shown is the last good
    #: translation, or the article as written, not a complete and current translation.
    translation_failed: bool = False
    #: What upstream said, read only for a bilingual feed (``get_localized_window(...,
    #: with_original=True)``): the blocks it shows after their translations.
    original: EntryData | None = None
    #: True when this is the bilingual rendering (``feeds.render.bilingual``): each translated
    #: block is followed by its original, so its ids differ from the translated feed's.
    bilingual: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def same_language(a: str | None, b: str | None) -> bool:
    """True when two BCP 47 tags share a primary language (``en-GB`` and ``en``): an article
    in one is not translated into the other, and its feeds show it as written."""
    if not a or not b:
        return False
    return a.split("-")[0].split("_")[0].lower() == b.split("-")[0].split("_")[0].lower()
