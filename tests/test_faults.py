"""Upstream faults against real sockets on 127.0.0.1.

Fetch level: every fault becomes a ``FetchError`` naming the source, within a bounded time
(a slow drip must hit a *total* timeout, not hang). Cycle level: a failing source gets an
exponential backoff and a status entry, a 410 disables it with a log line, and the other
sources are still fetched and published.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lingofeed.feeds.errors import FetchError
from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from tests.fixtures.feeds import FeedServer, Reply
from tests.fixtures.service import config_header
from tests.hostile.upstream import Behaviour, SilentListener, Upstream, free_port, repeated

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 1.5


@pytest.fixture
def upstream():
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fetcher():
    with Fetcher(timeout=TIMEOUT, max_bytes=1024 * 1024) as client:
        yield client


def _fails(fetcher: Fetcher, url: str, source_id: str = "faulty") -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(source_id, url)
    elapsed = time.monotonic() - started
    assert source_id in str(caught.value) and url in str(caught.value)
    return caught.value, elapsed


def test_an_upstream_that_accepts_and_never_answers_times_out(fetcher):
    listener = SilentListener()
    try:
        error, elapsed = _fails(fetcher, f"http://127.0.0.1:{listener.port}/feed")
    finally:
        listener.close()
    assert "timed out" in str(error)
    assert elapsed < 10 * TIMEOUT


def test_a_slow_drip_hits_the_total_timeout_instead_of_hanging(upstream, fetcher):
    """Ten bytes every 0.2 s forever: each read is quick, the whole never ends."""
    endless = repeated(b"<rss><!-- ", 1 << 40)
    url = upstream.add("/drip", Behaviour(chunks=endless, pause=0.2))
    error, elapsed = _fails(fetcher, url)
    assert "timed out" in str(error)
    assert elapsed < 10 * TIMEOUT, f"took {elapsed:.1f} s for a {TIMEOUT} s timeout"


def test_connection_refused_is_a_network_error(fetcher):
    error, _ = _fails(fetcher, f"http://127.0.0.1:{free_port()}/feed")
    assert "network error" in str(error)
    assert error.status is None


def test_plain_http_on_an_https_url_is_a_tls_error_not_a_crash(feed_server: FeedServer, fetcher):
    feed_server.add("/feed", b"<rss/>")
    url = feed_server.url("/feed").replace("http://", "https://")
    error, _ = _fails(fetcher, url)
    assert error.__cause__ is not None


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_statuses_carry_the_status(feed_server: FeedServer, fetcher, status):
    url = feed_server.handle("/feed", lambda _r: Reply(status, b"nope"))
    error, _ = _fails(fetcher, url)
    assert error.status == status
    assert f"HTTP {status}" in str(error)


def test_429_reports_retry_after(feed_server: FeedServer, fetcher):
    url = feed_server.handle("/feed", lambda _r: Reply(429, b"", {"Retry-After": "120"}))
    error, _ = _fails(fetcher, url)
    assert (error.status, error.retry_after) == (429, 120.0)


def test_a_redirect_loop_is_cut(feed_server: FeedServer, fetcher):
    feed_server.redirect("/a", feed_server.url("/b"), 302)
    feed_server.redirect("/b", feed_server.url("/a"), 302)
    error, _ = _fails(fetcher, feed_server.url("/a"))
    assert "redirects" in str(error)
    assert len(feed_server.requests) <= 8


def test_a_body_shorter_than_its_content_length_is_an_error(upstream, fetcher):
    headers = {"Content-Length": "5000", "Content-Type": "application/rss+xml"}
    url = upstream.add("/short", Behaviour(headers=headers, chunks=repeated(b"<rss>", 100)))
    _fails(fetcher, url)


# -- cycle level ---------------------------------------------------------------------------------

GOOD_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title><language>en</language>'
    "<item><title>Still published</title><guid>urn:good:1</guid>"
    "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item></channel></rss>"
)

CYCLE_CONFIG = (
    config_header("https://feeds.example/")
    + """

[languages.en]
title = "News"
{sources}
"""
)


def _config(tmp_path, sources: dict[str, str]):
    blocks = "".join(
        f'\n[[sources]]\nid = "{name}"\nurl = "{url}"\nlanguage = "en"\nevery = "1h"\n'
        for name, url in sources.items()
    )
    path = tmp_path / "lingofeed.toml"
    path.write_text(CYCLE_CONFIG.format(sources=blocks), encoding="utf-8")
    return load_settings(path)


def test_failing_sources_back_off_and_the_others_still_publish(feed_server, tmp_path, caplog):
    feed_server.redirect("/loop-a", feed_server.url("/loop-b"), 302)
    feed_server.redirect("/loop-b", feed_server.url("/loop-a"), 302)
    sources = {
        "refused": f"http://127.0.0.1:{free_port()}/feed",
        "broken": feed_server.handle("/500", lambda _r: Reply(500, b"oops")),
        "busy": feed_server.handle("/429", lambda _r: Reply(429, b"", {"Retry-After": "600"})),
        "gone": feed_server.handle("/410", lambda _r: Reply(410, b"")),
        "loop": feed_server.url("/loop-a"),
        "tls": feed_server.url("/good").replace("http://", "https://"),
        "good": feed_server.add("/good", GOOD_FEED),
    }
    settings = _config(tmp_path, sources)
    t0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
    caplog.set_level("INFO", logger="lingofeed")
    with open_runtime(settings) as runtime:
        ctx = replace(runtime.context(settings), clock=lambda: t0)
        reports = {report.source_id: report for report in run_cycle(ctx)}
        assert reports["good"].error is None and reports["good"].new == 1
        assert {name for name, r in reports.items() if r.error} == set(sources) - {"good"}
        state = {name: runtime.storage.get_source(name) for name in sources}
        for name in ("refused", "broken", "loop", "tls"):
            assert state[name].consecutive_failures == 1, name
            assert state[name].last_error, name
            assert state[name].next_attempt_at == t0 + timedelta(minutes=1), name
        assert state["broken"].last_status == 500
        assert state["busy"].next_attempt_at == t0 + timedelta(seconds=600), "Retry-After"
        assert state["gone"].disabled and "410" in (state["gone"].disabled_reason or "")
        assert any("event=disabled" in r.getMessage() and "gone" in r.getMessage()
                   for r in caplog.records)  # fmt: skip

        requests_before = len(feed_server.requests)
        run_cycle(replace(ctx, clock=lambda: t0 + timedelta(seconds=30)))
        fetched = {r.path for r in feed_server.requests[requests_before:]}
        assert fetched <= {"/good"}, f"backing-off or disabled sources were fetched: {fetched}"

        later = t0 + timedelta(minutes=2)
        run_cycle(replace(ctx, clock=lambda: later))
        broken = runtime.storage.get_source("broken")
        assert broken.consecutive_failures == 2
        assert broken.next_attempt_at == later + timedelta(minutes=2), "exponential backoff"
        assert runtime.storage.get_source("gone").disabled
    feed = (settings.output.directory / "en" / "feed.xml").read_text(encoding="utf-8")
    assert "Still published" in feed
