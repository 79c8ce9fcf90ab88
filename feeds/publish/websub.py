"""Tell the WebSub hub which feeds changed (a publish ping), from a background thread.

The feeds advertise the hub (``rel="hub"``, JSON Feed ``hubs``) so readers subscribe there, but a
hub only pushes what its publisher tells it. The W3C WebSub Recommendation leaves that request
to the hub; every common hub (Google's pubsubhubbub.appspot.com / websub.appspot.com, Superfeedr,
Switchboard) takes the PubSubHubbub form: ``POST`` to the hub, form-encoded
``hub.mode=publish&hub.url=<feed URL>``, answered with a 2xx (usually 204). One request per feed
URL, because not every hub accepts several ``hub.url`` in one request.

A publish must never wait for a hub: ``WebSubSender.notify`` only queues, and one thread sends,
retrying a failure (a transport error, 5xx or 429) after ``backoff``, doubling each time, until
``attempts`` are used; another 4xx is final (the hub refuses the URL; asking again will not
help). Every outcome goes to the ``report`` callback, so the caller logs it in its own format.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from pathlib import PurePosixPath

import httpx

from lingofeed.feeds.render.formats import ATOM_FILE, JSON_FILE, RSS_FILE

#: Documents a subscriber follows; archive pages never change, OPML and index.html are no feeds.
FEED_FILES = frozenset({RSS_FILE, ATOM_FILE, JSON_FILE})
#: Folder of RFC 5005 archive pages (``<lang>/archive/<n>.xml``).
_ARCHIVE_DIR = "archive"
_RETRY_STATUSES = frozenset({429})


def feed_urls(base_url: str, changed: Iterable[str]) -> tuple[str, ...]:
    """Public URLs of the changed feed files among ``changed`` (paths relative to the site).

    Only RSS, Atom and JSON Feed documents: not archive pages, ``.gz`` siblings, OPML or the
    index page, which no hub subscriber follows.
    """
    urls = []
    for path in changed:
        parts = PurePosixPath(path).parts
        if parts and parts[-1] in FEED_FILES and _ARCHIVE_DIR not in parts[:-1]:
            urls.append(base_url + path)
    return tuple(urls)


@dataclass(frozen=True)
class WebSubPolicy:
    """Where to ping and how hard to try (``[output] websub_*``)."""

    hub_url: str
    #: Requests per feed URL at most, the first included.
    attempts: int = 4
    #: Wait before the first retry; doubles per retry.
    backoff: timedelta = timedelta(seconds=5)
    #: Seconds one request may take.
    timeout: float = 10.0

    def wait(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return self.backoff * (1 << (attempt - 1))


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class PingResult:
    """What one request did: sent, failed with a retry planned, or given up."""

    outcome: Outcome
    hub_url: str
    feed_url: str
    attempt: int
    status: int | None = None
    error: str | None = None
    #: Before the next attempt (``Outcome.RETRY`` only).
    retry_in: timedelta | None = None


@dataclass(frozen=True)
class SenderSummary:
    """What ``close`` leaves: requests that got through, URLs given up and never finished."""

    sent: int
    failed: tuple[str, ...]
    unsent: tuple[str, ...]


@dataclass(order=True)
class _Ping:
    due: float
    order: int
    policy: WebSubPolicy = field(compare=False)
    feed_url: str = field(compare=False)
    attempt: int = field(compare=False, default=1)

    @property
    def key(self) -> tuple[str, str]:
        return (self.policy.hub_url, self.feed_url)


class WebSubSender:
    """Sends publish pings on one background thread, started by the first ``notify``.

    Thread-safe. A URL already waiting is not queued twice: one ping tells the hub to fetch the
    feed's latest version, however many publishes happened meanwhile.
    """

    def __init__(
        self,
        report: Callable[[PingResult], None],
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._client = client or httpx.Client(headers={"User-Agent": "lingofeed (WebSub)"})
        self._owns_client = client is None
        self._clock = clock
        self._queue: list[_Ping] = []
        self._waiting: set[tuple[str, str]] = set()
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._deadline: float | None = None
        self._sent = 0
        self._failed: list[str] = []

    def notify(self, policy: WebSubPolicy, urls: Iterable[str]) -> None:
        """Queue a ping of ``policy.hub_url`` for each of ``urls``; returns at once."""
        with self._changed:
            if self._deadline is not None:
                raise RuntimeError("this WebSubSender is closed")
            for url in urls:
                if (policy.hub_url, url) not in self._waiting:
                    self._push(_Ping(self._clock(), next(self._order), policy, url))
            if self._thread is None and self._queue:
                self._thread = threading.Thread(target=self._run, name="websub", daemon=True)
                self._thread.start()
            self._changed.notify()

    def close(self, wait: float) -> SenderSummary:
        """Stop taking pings, give queued ones (retries included) up to ``wait`` seconds, then
        stop; pings not done by then are listed as ``unsent``. A second call only reports."""
        with self._changed:
            closing = self._deadline is None
            if closing:
                self._deadline = self._clock() + wait
                self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()  # it leaves by the deadline, after at most one request's timeout
        if closing and self._owns_client:
            self._client.close()
        with self._changed:
            unsent = tuple(ping.feed_url for ping in sorted(self._queue))
            return SenderSummary(self._sent, tuple(self._failed), unsent)

    def _push(self, ping: _Ping) -> None:
        heapq.heappush(self._queue, ping)
        self._waiting.add(ping.key)

    def _next(self) -> _Ping | None:
        """The next ping once it is due; None when closed and nothing more fits the deadline."""
        with self._changed:
            while True:
                now = self._clock()
                if self._deadline is not None and (not self._queue or now >= self._deadline):
                    return None
                if self._queue and self._queue[0].due <= now:
                    ping = heapq.heappop(self._queue)
                    self._waiting.discard(ping.key)
                    return ping
                waits = [self._queue[0].due - now] if self._queue else []
                waits += [self._deadline - now] if self._deadline is not None else []
                self._changed.wait(min(waits) if waits else None)

    def _run(self) -> None:
        while (ping := self._next()) is not None:
            result = self._send(ping)
            with self._changed:
                if result.outcome is Outcome.SENT:
                    self._sent += 1
                elif result.outcome is Outcome.FAILED:
                    self._failed.append(ping.feed_url)
                else:
                    assert result.retry_in is not None
                    due = self._clock() + result.retry_in.total_seconds()
                    self._push(_Ping(due, next(self._order), ping.policy, ping.feed_url,
                                     ping.attempt + 1))  # fmt: skip
            self._report(result)

    def _send(self, ping: _Ping) -> PingResult:
        policy = ping.policy
        status: int | None = None
        try:
            response = self._client.post(
                policy.hub_url,
                data={"hub.mode": "publish", "hub.url": ping.feed_url},
                timeout=policy.timeout,
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            retryable = True
        else:
            status = response.status_code
            if response.is_success:
                return PingResult(Outcome.SENT, policy.hub_url, ping.feed_url, ping.attempt, status)
            error = f"HTTP {status}: {response.text[:200].strip()}".rstrip(": ")
            retryable = status >= 500 or status in _RETRY_STATUSES
        if retryable and ping.attempt < policy.attempts:
            wait = policy.wait(ping.attempt)
            return PingResult(
                Outcome.RETRY, policy.hub_url, ping.feed_url, ping.attempt, status, error, wait
            )
        return PingResult(
            Outcome.FAILED, policy.hub_url, ping.feed_url, ping.attempt, status, error
        )
