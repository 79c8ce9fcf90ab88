"""Exceptions raised by lingofeed.

LingofeedError
 ├── SourceError (carries the source id and url)
 │    ├── FetchError   (network, HTTP status, size limit)
 │    ├── ParseError   (the body is not a usable feed / article file)
 │    └── ExtractError (an item's article page has no article text: full text)
 ├── StorageError      (an operational database failure; names the database)
 └── ListenError       (the HTTP server cannot listen on its host:port)

``str()`` of each names the object and the cause, so one log line is enough to act on.
"""

from __future__ import annotations


class LingofeedError(Exception):
    """Root of every error lingofeed raises on purpose."""


class SourceError(LingofeedError):
    """A problem with one upstream source; other sources carry on."""

    default_message = "source error"

    def __init__(self, source_id: str, url: str, message: str | None = None) -> None:
        self.source_id = source_id
        self.url = url
        self.message = message or self.default_message
        super().__init__(source_id, url, self.message)

    def __str__(self) -> str:
        cause = self.__cause__
        tail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        return f"{self.message}: source {self.source_id!r} ({self.url}){tail}"


class FetchError(SourceError):
    """The source could not be retrieved (network error, bad status, too large)."""

    default_message = "fetch failed"

    def __init__(
        self,
        source_id: str,
        url: str,
        message: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source_id, url, message)
        #: HTTP status, when the server answered.
        self.status = status
        #: Seconds the server asked us to wait (429/503 Retry-After), if any.
        self.retry_after = retry_after


class ParseError(SourceError):
    """The source was retrieved but is not a usable feed or article file."""

    default_message = "could not parse"


class ExtractError(SourceError):
    """An item's page (``full_text``) was fetched but is not HTML or holds no article text.

    ``url`` is the page's, not the feed's: the message must name what to look at.
    """

    default_message = "no article text"


class StorageError(LingofeedError):
    """An operational database failure (locked, disk full, unreadable)."""

    def __init__(self, database: str, message: str) -> None:
        self.database = database
        self.message = message
        super().__init__(database, message)

    def __str__(self) -> str:
        cause = self.__cause__
        tail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        return f"{self.message}: database {self.database}{tail}"


class ListenError(LingofeedError):
    """The HTTP server cannot listen where the config says (a busy port, a foreign address)."""
