"""How long to wait before trying a failed fetch again: a source's feed, or an item's page.

One policy for both, so a failing page is never retried more eagerly than a failing feed.
"""

from __future__ import annotations

from datetime import timedelta

from lingofeed.scheduler.settings import DEFAULT_RETRY_BACKOFF

#: Longest wait between retries (unless the server's Retry-After asks for more).
MAX_BACKOFF = timedelta(hours=6)


def backoff(
    failures: int, retry_after: float | None = None, base: timedelta = DEFAULT_RETRY_BACKOFF
) -> timedelta:
    """Wait before retrying after ``failures`` consecutive failures (1 min, 2, 4 ... 6 h).

    ``base`` is the first wait (``[service] retry_backoff``); the service runs the source again
    when the wait is over, if that comes before its next regular run.
    """
    wait: timedelta = min(base * 2 ** max(failures - 1, 0), MAX_BACKOFF)
    return max(wait, timedelta(seconds=retry_after or 0))
