"""WebSub publish pings from the cycle: which feeds changed, the hub policy, the log lines.

The cycle hands ``announce`` the relative paths a publish changed; the feeds among them are
queued on the runtime's ``WebSubSender`` (never waited for), and every outcome becomes one
grep-able line: ``event=websub-sent``, ``event=websub-retry`` (with ``retry_in``) or
``event=websub-failed`` (given up), each naming the hub, the feed URL and the attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lingofeed.feeds.publish.websub import Outcome, PingResult, WebSubPolicy, feed_urls
from lingofeed.scheduler.events import event
from lingofeed.scheduler.settings import OutputSettings
from lingofeed.scheduler.types import CycleContext

log = logging.getLogger("lingofeed.websub")

#: ``lingofeed once`` waits at most this long at the end for pings (retries included).
ONCE_WAIT_SECONDS = 60.0
#: The service gives pings still queued this long when it stops.
STOP_WAIT_SECONDS = 5.0

_LEVELS = {
    Outcome.SENT: logging.INFO,
    Outcome.RETRY: logging.WARNING,
    Outcome.FAILED: logging.ERROR,
}


def websub_policy(output: OutputSettings) -> WebSubPolicy | None:
    """The ping policy of ``[output]``, or None when no hub is configured."""
    if output.websub_hub is None:
        return None
    return WebSubPolicy(output.websub_hub, output.websub_attempts, output.websub_backoff)


def announce(ctx: CycleContext, changed: Sequence[str]) -> None:
    """Queue a publish ping for each changed feed file; returns at once."""
    policy = websub_policy(ctx.settings.output)
    urls = feed_urls(ctx.settings.output.base_url, changed)
    if policy is None or ctx.websub is None or not urls:
        return
    ctx.websub.notify(policy, urls)
    log.info(event("websub-queued", hub=policy.hub_url, feeds=len(urls)))


def log_ping(result: PingResult) -> None:
    """One line per request the sender made; absent details are left out."""
    details = {
        "status": str(result.status) if result.status is not None else None,
        "retry_in": f"{result.retry_in.total_seconds():g}s" if result.retry_in else None,
        "error": result.error,
    }
    line = event(
        f"websub-{result.outcome.value}",
        hub=result.hub_url,
        url=result.feed_url,
        attempt=result.attempt,
        **{key: value for key, value in details.items() if value is not None},
    )
    log.log(_LEVELS[result.outcome], line)
