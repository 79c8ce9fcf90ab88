"""Fetch one upstream feed over HTTP(S), politely and within limits.

Polite: a User-Agent naming lingofeed, conditional GET (ETag / If-Modified-Since, so an unchanged
feed costs the publisher a 304), gzip, and ``Retry-After`` honoured by reporting it to the caller.
Within limits: a timeout and a maximum body size, enforced while streaming (after decompression,
so a gzip bomb is cut off too). Permanent redirects are reported so the caller can store the new
URL; temporary ones are followed but not remembered.

The same client fetches article pages for full text (``accept=PAGE_ACCEPT``), with an
``AddressGuard`` when links from upstream must not reach private addresses: the guard checks the
address every connection is connected to, at every redirect hop (``ingest.guard``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpx

from lingofeed.feeds.errors import FetchError
from lingofeed.feeds.ingest.guard import AddressGuard, RefusedAddressError

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
#: What an article page fetch asks for.
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})


def _user_agent() -> str:
    try:
        release = version("lingofeed")
    except PackageNotFoundError:  # running from a source tree that is not installed
        release = "dev"
    return f"lingofeed/{release} (self-hosted feed translator; python-httpx)"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought back."""

    #: HTTP status of the final response: 200 (body set) or 304 (``body`` is None).
    status: int
    body: bytes | None
    #: Validators to send next time (on a 304, the ones we sent unless the server sent new ones).
    etag: str | None
    last_modified: str | None
    #: URL after redirects; what relative links in the body resolve against.
    final_url: str
    #: True when every redirect on the way was permanent (301/308): store ``final_url``.
    permanent_redirect: bool
    #: The Content-Type header as sent, charset included (parsing needs it), if given.
    content_type: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), never negative.

    Unparseable values give None: a malformed header should not stop the caller's own backoff.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """An HTTP client for feeds or pages; reuse one for a whole cycle (it pools connections).

    ``transport`` is for tests and proxies; everything else is the service's settings. With a
    ``guard``, every connection is checked before its request is sent, and proxy settings from
    the environment are ignored (through a proxy the connected address would be the proxy's,
    and the guard could not see where the request goes). A guarded fetcher must not share its
    pool with an unguarded one: a connection opened without the check would be reused.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        user_agent: str = USER_AGENT,
        accept: str = _ACCEPT,
        guard: AddressGuard | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.guard = guard
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "gzip"},
            transport=transport,
            trust_env=guard is None,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        source_id: str,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url`` conditionally; raise ``FetchError`` for anything but 200 or 304."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(source_id, url, "not an http(s) URL")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        extensions = {"trace": self.guard.trace()} if self.guard is not None else None
        try:
            with self._client.stream(
                "GET", url, headers=headers, extensions=extensions
            ) as response:
                self._check_status(source_id, url, response)
                body = None if response.status_code == 304 else self._read(source_id, url, response)
        except RefusedAddressError as exc:
            raise FetchError(
                source_id,
                url,
                f"refused: {exc} (set [service] allow_private_addresses = true to allow it)",
            ) from None
        except httpx.TimeoutException as exc:
            raise FetchError(source_id, url, f"timed out after {self.timeout:g} s") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError(source_id, url, f"more than {MAX_REDIRECTS} redirects") from exc
        except httpx.HTTPError as exc:
            raise FetchError(source_id, url, "network error") from exc
        return FetchResult(
            status=response.status_code,
            body=body,
            etag=response.headers.get("ETag") or (etag if body is None else None),
            last_modified=response.headers.get("Last-Modified")
            or (last_modified if body is None else None),
            final_url=str(response.url),
            permanent_redirect=bool(response.history)
            and all(hop.status_code in _PERMANENT for hop in response.history),
            content_type=response.headers.get("Content-Type"),
        )

    def _check_status(self, source_id: str, url: str, response: httpx.Response) -> None:
        status = response.status_code
        if status in (200, 304):
            return
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        reason = response.reason_phrase or "unexpected status"
        where = f" (redirected to {response.url})" if response.history else ""
        raise FetchError(
            source_id, url, f"HTTP {status} {reason}{where}", status=status, retry_after=retry_after
        )

    def _read(self, source_id: str, url: str, response: httpx.Response) -> bytes:
        """The decoded body, refusing to hold more than ``max_bytes`` in memory.

        httpx's timeout bounds each read, not the whole: a server dripping a few bytes a
        second would never time out. So the body must also arrive within ``timeout`` overall.
        """
        deadline = time.monotonic() + self.timeout
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(source_id, url, self._too_large(f"Content-Length {declared}"))
        chunks: list[bytes] = []
        size = 0
        for chunk in self._decoded(response):
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"body not complete after {self.timeout:g} s")
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(
                    source_id, url, self._too_large(f"over {self.max_bytes} bytes received")
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _decoded(self, response: httpx.Response) -> Iterator[bytes]:
        """The body in pieces of at most ``max_bytes + 1`` bytes, however well it compresses.

        httpx inflates each received gzip chunk whole: 64 KB of a gzip bomb becomes 64 MB in
        memory before any limit can look at it. So gzip (the only coding we ask for) is
        inflated here with a bound on every step; anything else is left to httpx.
        """
        coding = response.headers.get("Content-Encoding", "").strip().lower()
        if coding not in ("gzip", "x-gzip"):
            yield from response.iter_bytes()
            return
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        bound = self.max_bytes + 1
        try:
            for raw in response.iter_raw():
                data = raw
                while data and not inflater.eof:
                    yield inflater.decompress(data, bound)
                    data = inflater.unconsumed_tail
        except zlib.error as exc:
            raise httpx.DecodingError(f"invalid gzip body: {exc}") from exc

    def _too_large(self, detail: str) -> str:
        return f"response too large ({detail}; the limit is {self.max_bytes} bytes)"
