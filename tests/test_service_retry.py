"""A failed fetch on a running ``lingofeed run`` is retried at the backoff time its log line
names, not at the source's next regular run; after a success the regular schedule goes on.

The source runs every hour and ``[service] retry_backoff`` is 2 s, so only the retry can fetch
again while the test waits; what is asserted is the upstream's request log and the service's
log lines (no durations).
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

from tests.fixtures.feeds import RecordedRequest, Reply
from tests.test_service import EN, WIRE, WIRE_TITLE


class FailsOnce:
    """Upstream answering 500 to its first request and the feed after; records when."""

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.times.append(datetime.now(UTC))
            first = len(self.times) == 1
        if first:
            return Reply(500, b"down for maintenance", {"Content-Type": "text/plain"})
        return Reply(200, WIRE, {"Content-Type": "application/rss+xml"})


def test_a_failed_fetch_is_retried_at_its_backoff_time_then_the_schedule_goes_on(
    feed_server, service_config, running_service
):
    upstream = FailsOnce()
    config = service_config(feed_server.handle("/wire.xml", upstream))
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[service]\n", '[service]\nretry_backoff = "2s"\n'), "utf-8")
    service = running_service(config)

    failed = service.wait_for(r"source=wire .*event=fetch-failed failures=1 retry=(\S+)")
    retry = datetime.fromisoformat(failed.group(1))
    service.wait_for(r"source=wire .*event=retry-scheduled at=" + re.escape(failed.group(1)))
    fetched = service.wait_for(r"source=wire .*event=fetched status=200", after=failed.end())
    service.wait_for(r"source=wire .*event=published", after=fetched.end())
    assert len(upstream.times) == 2
    assert upstream.times[1] >= retry, "not before the backoff time"
    english = json.loads(service.get("/en/feed.json").text)
    assert EN[WIRE_TITLE] in [item["title"] for item in english["items"]]

    status = json.loads(service.get("/status.json").text)
    wire = next(source for source in status["sources"] if source["id"] == "wire")
    assert datetime.fromisoformat(wire["next_run"]) > retry + timedelta(minutes=30), "every 1h"
    assert wire["error"] is None
    assert len(upstream.times) == 2 and service.log().count("event=retry-scheduled") == 1
