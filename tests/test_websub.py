"""WebSub publish pings: after a publish, the configured hub is told which feeds changed.

The hub is a real HTTP server on 127.0.0.1 that records every POST (``FeedServer``); the cycle
runs as an operator runs it (``lingofeed once`` in a subprocess), or in process where the test
must hold the hub's answer back to show that the cycle does not wait for it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from lingofeed.feeds.publish.websub import feed_urls
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.scheduler.settings import ConfigError
from tests.fixtures.feeds import FeedServer, RecordedRequest, Reply
from tests.fixtures.service import config_header, lingofeed

pytestmark = pytest.mark.timeout(180)

BASE = "https://feeds.example/"
#: The all-sources feeds and the source's own (``en/sources/wire/``), in their three formats.
FEEDS = {
    BASE + folder + name
    for folder in ("en/", "en/sources/wire/")
    for name in ("feed.xml", "atom.xml", "feed.json")
}
WIRE = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
    "<link>https://wire.example/</link><description>d</description><language>en</language>"
    "<item><title>Markets reopen</title><guid>https://wire.example/1</guid>"
    "<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate><description>Body</description></item>"
    "</channel></rss>"
)


def write_config(folder: Path, feed_url: str, hub_url: str, extra: str = "") -> Path:
    """One English source published in English: nothing to translate, no model needed."""
    output = f'websub_hub = "{hub_url}"\nwebsub_backoff = "1s"\n{extra}'
    sources = f'\n[languages.en]\n\n[[sources]]\nid = "wire"\nurl = "{feed_url}"\nlanguage = "en"\n'
    config = folder / "lingofeed.toml"
    config.write_text(config_header(BASE) + output + sources, encoding="utf-8")
    return config


def pings(hub: FeedServer) -> list[dict[str, list[str]]]:
    return [parse_qs(request.body.decode()) for request in hub.requests_for("/hub")]


class FlakyHub:
    """Answers ``failures`` POSTs with ``status`` first, then 204 (or ``status`` forever)."""

    def __init__(self, status: int, failures: int | None) -> None:
        self.status = status
        self.failures = failures
        self.answered = 0
        self.lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.answered += 1
            failing = self.failures is None or self.answered <= self.failures
        return Reply(self.status, b"hub says no") if failing else Reply(204)


def test_once_pings_the_hub_for_each_changed_feed_and_retries_a_failure(
    feed_server: FeedServer, tmp_path: Path
):
    hub_url = feed_server.handle("/hub", FlakyHub(503, failures=1))
    config = write_config(tmp_path, feed_server.add("/wire.xml", WIRE), hub_url)
    first = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    requests = feed_server.requests_for("/hub")
    forms = pings(feed_server)
    assert all(form["hub.mode"] == ["publish"] and len(form["hub.url"]) == 1 for form in forms)
    assert all(r.headers["content-type"] == "application/x-www-form-urlencoded" for r in requests)
    urls = [form["hub.url"][0] for form in forms]
    assert set(urls) == FEEDS, "every feed file, and nothing else (no archive, OPML, index)"
    assert len(urls) == len(FEEDS) + 1 and urls.count(urls[0]) == 2, "the failed one again"
    retry = re.search(r"event=websub-retry hub=\S+ url=(\S+) attempt=1 status=503", first.stderr)
    assert retry and retry.group(1) == urls[0], first.stderr
    assert len(re.findall(r"event=websub-sent ", first.stderr)) == len(FEEDS), first.stderr

    second = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(feed_server.requests_for("/hub")) == len(FEEDS) + 1, "unchanged: no new pings"


def test_a_hub_that_keeps_failing_is_reported_without_failing_once(
    feed_server: FeedServer, tmp_path: Path
):
    hub_url = feed_server.handle("/hub", FlakyHub(500, failures=None))
    config = write_config(
        tmp_path, feed_server.add("/wire.xml", WIRE), hub_url, "websub_attempts = 2\n"
    )
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, "a hub that cannot be told does not fail the run"
    assert sorted(form["hub.url"][0] for form in pings(feed_server)) == sorted([*FEEDS, *FEEDS])
    given_up = re.findall(
        r"event=websub-failed hub=\S+ url=(\S+) attempt=2 status=500", done.stderr
    )
    assert set(given_up) == FEEDS, done.stderr
    told = re.findall(r"lingofeed: WebSub hub \S+ was not told about (\S+)", done.stderr)
    assert set(told) == FEEDS, done.stderr


def test_a_hub_refusing_a_feed_is_not_asked_again(feed_server: FeedServer, tmp_path: Path):
    """A 4xx other than 429 says the request itself is wrong: retrying would not help."""
    hub_url = feed_server.handle("/hub", FlakyHub(400, failures=None))
    config = write_config(tmp_path, feed_server.add("/wire.xml", WIRE), hub_url)
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(form["hub.url"][0] for form in pings(feed_server)) == sorted(FEEDS)
    assert "event=websub-retry" not in done.stderr


def test_a_hub_that_hangs_never_blocks_the_cycle(feed_server: FeedServer, tmp_path: Path):
    released = threading.Event()

    def hanging(request: RecordedRequest) -> Reply:
        released.wait(60)
        return Reply(204)

    hub_url = feed_server.handle("/hub", hanging)
    settings = load_settings(write_config(tmp_path, feed_server.add("/wire.xml", WIRE), hub_url))
    with open_runtime(settings) as runtime:
        [report] = run_cycle(runtime.context(settings))
        assert report.files_written > 0 and not released.is_set()
        released.set()  # only now can the hub answer: the cycle did not wait for it
        summary = runtime.websub.close(30)
    assert (summary.sent, summary.failed, summary.unsent) == (len(FEEDS), (), ())


def test_only_feed_documents_are_announced():
    changed = [
        "en/feed.xml",
        "en/atom.xml",
        "en/feed.json",
        "en/archive/1.xml",
        "en/feeds.opml",
        "index.html",
        "en/feed.xml.gz",
        "fr/sources/wire/atom.xml",
    ]
    assert feed_urls(BASE, changed) == (
        BASE + "en/feed.xml",
        BASE + "en/atom.xml",
        BASE + "en/feed.json",
        BASE + "fr/sources/wire/atom.xml",
    )


def test_websub_retry_settings_are_checked(tmp_path: Path):
    config = write_config(tmp_path, "https://wire.example/feed.xml", "https://hub.example/")
    settings = load_settings(config)
    assert (settings.output.websub_attempts, settings.output.websub_backoff.total_seconds()) == (
        4,
        1.0,
    )
    bad = write_config(
        tmp_path, "https://wire.example/feed.xml", "https://hub.example/", "websub_attempts = 0\n"
    )
    bad.write_text(bad.read_text().replace('"1s"', '"soon"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(bad)
    problems = "\n".join(str(problem) for problem in caught.value.problems)
    assert "output.websub_backoff: bad interval 'soon'" in problems
    assert "output.websub_attempts: must be at least 1, not 0" in problems
