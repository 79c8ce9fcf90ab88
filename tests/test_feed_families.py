"""Feeds per source and per channel, published incrementally from the store.

The store is filled the way a cycle fills it (``upsert_entries``; English articles into an
English site, so nothing needs translating), the settings come from a real config file, and
publishing goes through the cycle's own publish functions into a real output directory, served
by the built-in server over HTTP for the reader-side checks.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from lingofeed.feeds.publish.site import (
    PublishContext,
    publish_all,
    publish_source,
    publish_waiting,
)
from lingofeed.feeds.render import render_site
from lingofeed.feeds.serve.app import ServerThread, create_app
from lingofeed.feeds.store import Storage
from lingofeed.feeds.types import EntryData
from lingofeed.scheduler.config import ConfigError, load_settings
from lingofeed.scheduler.cycle import feed_settings
from lingofeed.scheduler.settings import Settings
from tests.feedrules import assert_valid_atom, assert_valid_json_feed, assert_valid_rss

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SOURCES = ("alpha", "beta", "gamma")
CONFIG = """
[output]
directory = "public"
base_url = "https://news.example/feeds/"
item_limit = 3

[service]
channel_debounce = "{debounce}"

[languages.en]
title = "Example News"

[languages.fr]

[[sources]]
id = "alpha"
url = "https://alpha.example/feed.xml"
language = "en"
tags = ["science"]

[[sources]]
id = "beta"
url = "https://beta.example/feed.xml"
language = "en"
tags = ["science", "local"]

[[sources]]
id = "gamma"
url = "https://gamma.example/feed.xml"
language = "en"

[channels.science]
tags = ["science"]
title = "{title}"

[channels.mixed]
sources = ["gamma"]
tags = ["local"]
[channels.mixed.languages.fr]
title = "Mélange"
description = "Gamma et les sources locales"
"""


def load(folder: Path, *, debounce: str = "0s", title: str = "Science") -> Settings:
    file = folder / "lingofeed.toml"
    file.write_text(CONFIG.format(debounce=debounce, title=title), encoding="utf-8")
    return load_settings(file, environ={})


def articles(source: str, count: int) -> list[EntryData]:
    return [
        EntryData(
            upstream_id=f"https://{source}.example/{n}",
            title=f"{source} article {n}",
            link=f"https://{source}.example/{n}",
            content=f"<p>Text {n} of {source}.</p>",
            published=T0 + timedelta(hours=n, minutes=SOURCES.index(source)),
            language="en",
        )
        for n in range(count)
    ]


class Site:
    """A store and a published output directory driven like the cycle drives them."""

    def __init__(self, folder: Path, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.use(settings)
        self.directory = settings.output.directory
        self.now = T0 + timedelta(days=1)
        for source in SOURCES:
            storage.upsert_entries(source, articles(source, 4), T0)

    def use(self, settings: Settings) -> None:
        """Publish with ``settings`` from now on, archive pages of two entries (to fill some)."""
        self.settings = settings
        self.feeds = replace(feed_settings(settings), archive_page_size=2)

    def context(self) -> PublishContext:
        return PublishContext(
            self.storage,
            self.feeds,
            self.directory,
            self.now,
            self.settings.channel_debounce,
        )

    def add_item(self, source: str, count: int) -> None:
        self.storage.upsert_entries(source, articles(source, count), self.now)

    def mtimes(self) -> dict[str, int]:
        return {
            str(path.relative_to(self.directory)): path.stat().st_mtime_ns
            for path in self.directory.rglob("*")
            if path.is_file()
        }

    def age_files(self) -> None:
        """Set every file's mtime far back, so a rewrite shows whatever the clock resolution."""
        for path in self.directory.rglob("*"):
            if path.is_file():
                os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        # The manifest recorded the old mtimes: re-record them, as if written then.
        self.storage.record_published_files(
            [
                replace(record, mtime_ns=1_000_000_000)
                for record in self.storage.get_published_files(list(self.mtimes())).values()
            ]
        )


@pytest.fixture
def site(tmp_path: Path, storage: Storage) -> Site:
    made = Site(tmp_path, storage, load(tmp_path))
    publish_all(made.context())
    return made


def rewritten(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {path for path, mtime in after.items() if before.get(path) != mtime}


def test_every_source_and_channel_has_valid_feeds_listed_in_the_opml_and_index(site: Site):
    server = ServerThread(create_app(site.directory))
    base = server.start()
    try:
        with httpx.Client(base_url=base) as http:
            for language in ("en", "fr"):
                for family in ("", "sources/alpha/", "channels/science/", "channels/mixed/"):
                    rss = http.get(f"/{language}/{family}feed.xml")
                    atom = http.get(f"/{language}/{family}atom.xml")
                    json_feed = http.get(f"/{language}/{family}feed.json")
                    assert {rss.status_code, atom.status_code, json_feed.status_code} == {200}
                    assert_valid_rss(rss.content)
                    assert_valid_atom(atom.content)
                    assert_valid_json_feed(json_feed.content)
            opml = etree.fromstring(http.get("/fr/feeds.opml").content)
            index = http.get("/index.html").text
    finally:
        server.stop()
    listed = [outline.get("xmlUrl") for outline in opml.iter("outline")]
    feeds = "https://news.example/feeds/fr/"
    assert listed == [
        f"{feeds}feed.xml",
        f"{feeds}channels/science/feed.xml",
        f"{feeds}channels/mixed/feed.xml",
        *(f"{feeds}sources/{source}/feed.xml" for source in SOURCES),
    ]
    for path in ("channels/science/atom.xml", "sources/gamma/feed.json", "channels/mixed/feed.xml"):
        assert f'href="https://news.example/feeds/en/{path}"' in index
    assert "Mélange" in index


def test_each_family_shows_its_own_sources_with_its_own_title_id_and_alternates(site: Site):
    science = feedparser.parse((site.directory / "en/channels/science/atom.xml").read_bytes())
    assert science.feed.title == "Science"
    assert science.feed.id == "tag:news.example,2024:feeds/en/channels/science"
    assert {entry.link.split("/")[2] for entry in science.entries} == {
        "alpha.example",
        "beta.example",
    }
    mixed = feedparser.parse((site.directory / "fr/channels/mixed/feed.xml").read_bytes())
    assert (mixed.feed.title, mixed.feed.description) == ("Mélange", "Gamma et les sources locales")
    assert mixed.entries == [], "nothing is translated into French in this store"
    mixed = feedparser.parse((site.directory / "en/channels/mixed/feed.xml").read_bytes())
    assert {entry.link.split("/")[2] for entry in mixed.entries} == {
        "beta.example",
        "gamma.example",
    }
    alpha = feedparser.parse((site.directory / "en/sources/alpha/atom.xml").read_bytes())
    assert alpha.feed.title == "Example News: alpha"
    alternates = {link.hreflang: link.href for link in alpha.feed.links if link.rel == "alternate"}
    assert alternates["fr"] == "https://news.example/feeds/fr/sources/alpha/atom.xml"
    default = feedparser.parse((site.directory / "en/atom.xml").read_bytes())
    assert default.feed.id == "tag:news.example,2024:feeds/en"
    mixed = feedparser.parse((site.directory / "en/channels/mixed/atom.xml").read_bytes())
    assert len({science.feed.id, alpha.feed.id, default.feed.id, mixed.feed.id}) == 4


def test_incremental_publishing_gives_the_files_a_full_render_gives(site: Site):
    for count in (5, 6, 9):  # new items: current feeds, then archive pages filling up
        site.now += timedelta(minutes=1)
        site.add_item("beta", count)
        publish_source(site.context(), "beta")
    shown = {
        code: site.storage.get_localized(code, include_gone=True) for code in site.feeds.languages
    }
    expected = render_site(site.feeds, shown)
    for path, data in expected.items():
        assert (site.directory / path).read_bytes() == data, path
    assert (site.directory / "en/sources/beta/archive/3.xml").exists()
    assert (site.directory / "en/channels/science/archive/5.xml").exists()


def test_a_job_rewrites_only_its_source_and_the_channels_showing_it(site: Site):
    site.age_files()
    before = site.mtimes()
    site.now += timedelta(minutes=1)
    site.add_item("alpha", 5)
    result = publish_source(site.context(), "alpha")
    changed = rewritten(before, site.mtimes())
    assert changed == set(result.changed) | {f"{path}.gz" for path in result.changed} & set(
        site.mtimes()
    )
    families = {path.rsplit("/", 1)[0] for path in changed if path.endswith("feed.xml")}
    # French shows nothing untranslated: its feeds stay as they were.
    assert families == {"en", "en/sources/alpha", "en/channels/science"}
    assert not any("beta" in path or "gamma" in path or "mixed" in path for path in changed)


def test_an_unchanged_job_writes_nothing(site: Site):
    site.age_files()
    before = site.mtimes()
    site.now += timedelta(minutes=1)
    site.add_item("gamma", 4)  # the same four articles again
    result = publish_source(site.context(), "gamma")
    assert result.changed == ()
    assert site.mtimes() == before


def test_a_config_change_republishes_exactly_the_feeds_it_affects(site: Site, tmp_path: Path):
    site.age_files()
    before = site.mtimes()
    site.use(load(tmp_path, title="Sciences and more"))
    result = publish_all(site.context())
    # The channel's own feeds and archive pages, and the index and OPML that list its title.
    lists = {"index.html", "en/feeds.opml", "fr/feeds.opml"}
    assert lists <= set(result.changed)
    others = set(result.changed) - lists
    assert others and all(path.split("/")[1:3] == ["channels", "science"] for path in others)
    assert "en/channels/science/archive/1.xml" in others
    assert rewritten(before, site.mtimes()) >= set(result.changed)
    parsed = feedparser.parse((site.directory / "en/channels/science/feed.xml").read_bytes())
    assert parsed.feed.title == "Sciences and more"


def test_a_removed_channel_is_unpublished(site: Site, tmp_path: Path):
    text = CONFIG.format(debounce="0s", title="Science").split("[channels.mixed]")[0]
    (tmp_path / "lingofeed.toml").write_text(text, encoding="utf-8")
    site.use(load_settings(tmp_path / "lingofeed.toml", environ={}))
    publish_all(site.context())
    assert not (site.directory / "en/channels/mixed/feed.xml").exists()
    assert not (site.directory / "en/channels/mixed/atom.xml.gz").exists()
    assert not (site.directory / "en/channels/mixed").exists(), "its emptied folder goes too"
    assert (site.directory / "en/channels/science/feed.xml").exists()


def test_debounced_channels_publish_at_most_once_a_window_and_never_lose_the_last_change(
    tmp_path: Path, storage: Storage
):
    site = Site(tmp_path, storage, load(tmp_path, debounce="1m"))
    publish_all(site.context())
    channel = site.directory / "en/channels/science/feed.xml"
    first = channel.read_bytes()
    site.now += timedelta(seconds=5)
    site.add_item("alpha", 5)
    result = publish_source(site.context(), "alpha")
    assert (site.directory / "en/sources/alpha/atom.xml").read_bytes().count(b"alpha article 4")
    assert channel.read_bytes() == first, "published again within the window"
    assert result.waiting_until == T0 + timedelta(days=1, minutes=1)
    site.now += timedelta(seconds=5)
    site.add_item("beta", 5)
    publish_source(site.context(), "beta")
    assert channel.read_bytes() == first
    site.now = result.waiting_until
    flushed = publish_waiting(site.context())
    shown = feedparser.parse(channel.read_bytes())
    titles = {entry.title for entry in shown.entries}
    assert {"alpha article 4", "beta article 4"} <= titles
    assert flushed.waiting_until is None
    assert storage.get_dirty_feeds() == {}


def test_once_publishes_waiting_channels_without_waiting(tmp_path: Path, storage: Storage):
    site = Site(tmp_path, storage, load(tmp_path, debounce="1h"))
    publish_all(site.context())
    site.now += timedelta(seconds=1)
    site.add_item("gamma", 6)
    publish_source(site.context(), "gamma")
    assert b"gamma article 5" not in (site.directory / "en/feed.xml").read_bytes()
    publish_all(site.context())
    assert b"gamma article 5" in (site.directory / "en/feed.xml").read_bytes()
    assert b"gamma article 5" in (site.directory / "en/channels/mixed/feed.xml").read_bytes()
    assert storage.get_dirty_feeds() == {}


def test_a_wiped_output_directory_is_published_again(site: Site):
    for path in sorted(site.directory.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    publish_all(site.context())
    assert_valid_rss((site.directory / "fr/sources/beta/feed.xml").read_bytes())
    assert (site.directory / "index.html").exists()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ('[channels.x]\nsources = ["nope"]', "no source has id 'nope'"),
        ('[channels.x]\ntags = ["nope"]', "no source has tag 'nope'"),
        ("[channels.x]\ntitle = 'X'", "give 'sources' or 'tags'"),
        ('[channels."a/b"]\ntags = ["science"]', "must be letters, digits"),
        ('[channels.x]\ntags = ["science"]\n[channels.x.languages.de]\ntitle = "X"', "not one of"),
    ],
)
def test_bad_channels_are_config_errors_naming_the_line(tmp_path: Path, channel: str, message: str):
    text = CONFIG.format(debounce="0s", title="Science") + channel + "\n"
    file = tmp_path / "lingofeed.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(file, environ={})
    found = [problem for problem in info.value.problems if message in problem.message]
    assert found, info.value
    assert found[0].line > CONFIG.count("\n"), "the problem names the channel's line"
