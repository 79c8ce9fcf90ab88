"""Partner-token feeds over real uvicorn on 127.0.0.1: 404 for wrong tokens, constant-time
comparison, and tokens never in any log line (application logs and the access log)."""

from __future__ import annotations

import hmac
import logging

import httpx
import pytest

from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.serve import app as server_module
from lingofeed.feeds.serve.app import Access, ServerThread, create_app, install_token_redaction

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-9c1f5e2b7d4a-partner-secret"
OTHER = "tok-other-partner-0000000000000"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def private_site(tmp_path):
    """A non-public site with two partners; yields the base URL."""
    publish(tmp_path, {"en/feed.xml": FEED, "index.html": b"<!doctype html><p>hi</p>"})
    install_token_redaction()
    app = create_app(tmp_path, access=lambda: Access({"acme": TOKEN, "beta": OTHER}, public=False))
    thread = ServerThread(app)
    base = thread.start()
    try:
        yield base
    finally:
        thread.stop()


def test_the_right_token_gets_the_feed_privately(private_site):
    response = httpx.get(f"{private_site}p/{TOKEN}/en/feed.xml")
    assert response.status_code == 200
    assert response.content == FEED
    assert response.headers["cache-control"].startswith("private")


@pytest.mark.parametrize(
    "path",
    [
        "en/feed.xml",  # the public path of a private site
        "p/en/feed.xml",  # no token at all
        "p//en/feed.xml",
        f"p/{TOKEN[:-1]}/en/feed.xml",  # a prefix
        f"p/{TOKEN}x/en/feed.xml",  # one character more
        f"p/{TOKEN.upper()}/en/feed.xml",  # case changed
        "p/wrong/en/feed.xml",
        f"p/{TOKEN}/en/missing.xml",  # right token, no such file
        f"p/{TOKEN}/../en/feed.xml",
    ],
)
def test_a_wrong_or_missing_token_gets_404_like_any_missing_file(private_site, path):
    missing = httpx.get(f"{private_site}p/{TOKEN}/no-such-file")
    response = httpx.get(private_site + path)
    assert response.status_code == 404, "never 403: a 403 would confirm the feed exists"
    assert response.content == missing.content
    assert response.headers.get("content-type") == missing.headers.get("content-type")


def test_tokens_are_compared_with_compare_digest_against_every_token(private_site, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording(given, expected):
        compared.append((given, expected))
        return original(given, expected)

    monkeypatch.setattr(server_module.hmac, "compare_digest", recording)
    assert httpx.get(f"{private_site}p/guess/en/feed.xml").status_code == 404
    assert sorted(expected for _, expected in compared) == sorted(
        [TOKEN.encode(), OTHER.encode()]
    ), "every token is compared, so timing does not reveal which one was close"
    compared.clear()
    assert httpx.get(f"{private_site}p/{OTHER}/en/feed.xml").status_code == 200
    assert len(compared) == 2, "the comparison does not stop at the first match"


def test_tokens_never_appear_in_any_log_record(private_site, caplog):
    caplog.set_level(logging.DEBUG)
    for path in (f"p/{TOKEN}/en/feed.xml", f"p/{TOKEN}x/en/feed.xml", f"p/{TOKEN}/nope"):
        httpx.get(private_site + path)
    httpx.head(f"{private_site}p/{OTHER}/en/feed.xml")
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) >= 4, "the access log must be captured for this test to mean anything"
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    for record in server_side:
        line = record.getMessage()
        for token in (TOKEN, OTHER, TOKEN[:12]):
            assert token not in line, f"{record.name} logged a token: {line}"
    assert any("/p/***" in r.getMessage() for r in access)
