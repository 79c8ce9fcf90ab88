"""Fetching over real HTTP on 127.0.0.1: conditional GET, gzip, redirects, limits, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lingofeed.feeds.errors import FetchError
from lingofeed.feeds.ingest.fetch import Fetcher, parse_retry_after
from lingofeed.feeds.ingest.parse import parse_feed
from lingofeed.feeds.types import Source
from tests.fixtures.feeds import UPSTREAM_DIR, FeedServer, Reply

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
def fetcher():
    with Fetcher(timeout=2.0, max_bytes=64 * 1024) as client:
        yield client


def test_fetch_returns_body_validators_and_content_type(feed_server: FeedServer, fetcher):
    url = feed_server.add("/f", BODY, etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT")
    result = fetcher.fetch("s", url)
    assert result.status == 200
    assert result.body == BODY
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.final_url == url
    assert not result.permanent_redirect
    assert not result.not_modified


def test_fetch_sends_user_agent_naming_lingofeed(feed_server: FeedServer, fetcher):
    fetcher.fetch("s", feed_server.add("/f", BODY))
    assert feed_server.requests_for("/f")[0].headers["user-agent"].startswith("lingofeed/")


def test_conditional_get_with_etag_gives_not_modified(feed_server: FeedServer, fetcher):
    url = feed_server.add("/f", BODY, etag='"v1"')
    result = fetcher.fetch("s", url, etag='"v1"')
    assert result.not_modified
    assert result.body is None
    assert result.etag == '"v1"'
    assert feed_server.requests_for("/f")[0].headers["if-none-match"] == '"v1"'


def test_conditional_get_with_last_modified_keeps_sent_validator(feed_server, fetcher):
    date = "Wed, 01 May 2024 10:00:00 GMT"
    url = feed_server.add("/f", BODY, last_modified=date)
    result = fetcher.fetch("s", url, last_modified=date)
    assert result.not_modified
    assert result.last_modified == date
    assert feed_server.requests_for("/f")[0].headers["if-modified-since"] == date


def test_stale_etag_gets_full_body(feed_server: FeedServer, fetcher):
    url = feed_server.add("/f", BODY, etag='"v2"')
    result = fetcher.fetch("s", url, etag='"v1"')
    assert result.status == 200
    assert result.body == BODY
    assert result.etag == '"v2"'


def test_gzip_body_is_decompressed(feed_server: FeedServer, fetcher):
    url = feed_server.add("/f", BODY * 50, gzip=True)
    result = fetcher.fetch("s", url)
    assert result.body == BODY * 50
    assert "gzip" in feed_server.requests_for("/f")[0].headers["accept-encoding"]


def test_permanent_redirect_is_reported_with_final_url(feed_server: FeedServer, fetcher):
    target = feed_server.add("/new", BODY)
    for status in (301, 308):
        old = feed_server.redirect(f"/old{status}", target, status)
        result = fetcher.fetch("s", old)
        assert result.final_url == target
        assert result.permanent_redirect


def test_temporary_redirect_is_followed_but_not_permanent(feed_server: FeedServer, fetcher):
    target = feed_server.add("/new", BODY)
    for status in (302, 307):
        result = fetcher.fetch("s", feed_server.redirect(f"/tmp{status}", target, status))
        assert result.body == BODY
        assert result.final_url == target
        assert not result.permanent_redirect


def test_redirect_chain_with_a_temporary_hop_is_not_permanent(feed_server, fetcher):
    target = feed_server.add("/new", BODY)
    middle = feed_server.redirect("/middle", target, 302)
    result = fetcher.fetch("s", feed_server.redirect("/old", middle, 301))
    assert result.final_url == target
    assert not result.permanent_redirect


def test_redirect_loop_is_a_fetch_error(feed_server: FeedServer, fetcher):
    feed_server.redirect("/a", feed_server.url("/b"))
    feed_server.redirect("/b", feed_server.url("/a"))
    with pytest.raises(FetchError, match="redirects"):
        fetcher.fetch("s", feed_server.url("/a"))


def test_body_over_size_limit_is_refused(feed_server: FeedServer):
    url = feed_server.add("/big", b"x" * 5000)
    with Fetcher(max_bytes=1000) as small, pytest.raises(FetchError, match="too large") as info:
        small.fetch("s", url)
    assert info.value.source_id == "s"


def test_size_limit_applies_without_content_length(feed_server: FeedServer):
    url = feed_server.handle(
        "/unsized", lambda _r: Reply(200, b"y" * 5000, {"Connection": "close"})
    )
    with Fetcher(max_bytes=1000) as small, pytest.raises(FetchError, match="received"):
        small.fetch("s", url)
    assert "content-length" not in feed_server.requests_for("/unsized")[0].headers


def test_gzip_bomb_is_cut_off_by_the_decoded_size_limit(feed_server: FeedServer):
    bomb = b"\0" * 2_000_000
    url = feed_server.add("/bomb", bomb, gzip=True)
    with Fetcher(max_bytes=100_000) as small, pytest.raises(FetchError, match="too large"):
        small.fetch("s", url)


def test_slow_server_times_out(feed_server: FeedServer):
    def slow(_request):
        feed_server.release.wait(10)
        return Reply(200, BODY)

    url = feed_server.handle("/slow", slow)
    with Fetcher(timeout=0.3) as quick, pytest.raises(FetchError, match="timed out") as info:
        quick.fetch("s", url)
    assert info.value.status is None


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_status_is_fetch_error_with_status(feed_server: FeedServer, fetcher, status):
    url = feed_server.handle("/e", lambda _r: Reply(status, b"nope"))
    with pytest.raises(FetchError) as info:
        fetcher.fetch("src", url)
    assert info.value.status == status
    assert f"HTTP {status}" in str(info.value)
    assert "'src'" in str(info.value) and url in str(info.value)
    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_reported(feed_server: FeedServer, fetcher, status):
    url = feed_server.handle("/busy", lambda _r: Reply(status, b"", {"Retry-After": "120"}))
    with pytest.raises(FetchError) as info:
        fetcher.fetch("s", url)
    assert info.value.status == status
    assert info.value.retry_after == 120.0


def test_retry_after_http_date_is_seconds_from_now():
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 May 2024 10:05:00 GMT", now) == 300.0
    assert parse_retry_after("Wed, 01 May 2024 09:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_connection_refused_is_fetch_error(fetcher):
    with pytest.raises(FetchError, match="network error"):
        fetcher.fetch("s", "http://127.0.0.1:9/feed")


def test_non_http_url_is_refused(fetcher):
    with pytest.raises(FetchError, match="not an http"):
        fetcher.fetch("s", "file:///etc/passwd")


def test_charset_from_content_type_reaches_the_parser(feed_server: FeedServer, fetcher):
    body = (
        "<rss version='2.0'><channel><title>Caf\u00e9</title>"
        "<item><guid>1</guid><title>D\u00e9j\u00e0 vu</title></item></channel></rss>"
    ).encode("iso-8859-1")
    url = feed_server.add("/latin1", body, content_type="application/rss+xml; charset=ISO-8859-1")
    result = fetcher.fetch("s", url)
    assert result.body is not None
    feed = parse_feed(
        Source("s", url=url),
        result.body,
        base_url=result.final_url,
        content_type=result.content_type,
    )
    assert feed.title == "Caf\u00e9"
    assert feed.entries[0].title == "D\u00e9j\u00e0 vu"


def test_served_upstream_sample_round_trips(feed_server: FeedServer, fetcher):
    url = feed_server.add_file("/feed.json", UPSTREAM_DIR / "jsonfeed.json")
    result = fetcher.fetch("s", url)
    assert result.body is not None
    feed = parse_feed(
        Source("s", url=url),
        result.body,
        base_url=result.final_url,
        content_type=result.content_type,
    )
    assert [e.upstream_id for e in feed.entries] == ["2", "1"]
