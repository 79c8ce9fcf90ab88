"""Valid feeds from any upstream: the defects feedparser's own test corpus showed, as sources.

Each case is a small upstream document served on 127.0.0.1 and driven through the real ingest,
store, render and publish (``tests/hostile/pipeline.py``); what is published must pass the
project's feed rules (``tests/feedrules.py``: the validator's InvalidUriChar, ArchiveIncomplete,
empty bodies, and DuplicateUpdated on request) and say exactly what the case expects.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.ingest.files import load_directory
from lingofeed.feeds.render import FeedSettings
from lingofeed.feeds.store import Storage
from lingofeed.feeds.types import Source
from tests.feedrules import (
    assert_all_valid,
    assert_distinct_updated,
)
from tests.fixtures.feeds import FeedServer
from tests.hostile.pipeline import LANGUAGE, NOW, SETTINGS, ingest, publish_store

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
ATOM_TYPE = "application/atom+xml"


@pytest.fixture
def fetcher():
    with Fetcher(timeout=10.0) as client:
        yield client


def rss(items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        f"<link>https://example.org/</link><description>d</description><language>en</language>"
        f"{items}</channel></rss>"
    )


def atom(entries: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="en"><title>c</title><id>urn:x:feed</id><updated>2024-04-01T00:00:00Z</updated>'
        f"{entries}</feed>"
    )


def atom03(entries: str) -> str:
    """An Atom 0.3 document, as old blogs and feedparser's corpus still have them."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed version="0.3" '
        'xmlns="http://purl.org/atom/ns#" xml:lang="en"><title>c</title>'
        f"<modified>2024-04-01T00:00:00Z</modified>{entries}</feed>"
    )


def publish_source(
    feed_server: FeedServer,
    storage: Storage,
    fetcher: Fetcher,
    output: Path,
    body: str,
    content_type: str = "application/rss+xml",
    settings: FeedSettings = SETTINGS,
) -> dict[str, bytes]:
    """Serve ``body`` under /dir/feed.xml, ingest it, publish; every feed checked by the rules."""
    url = feed_server.add("/dir/feed.xml", body, content_type=content_type)
    ingest(fetcher, storage, Source(id="corpus", url=url, language=LANGUAGE))
    files = publish_store(storage, output, settings)
    assert_all_valid(files)
    return files


def json_items(files: dict[str, bytes]) -> list[dict[str, object]]:
    return list(json.loads(files[f"{LANGUAGE}/feed.json"])["items"])


def rss_items(files: dict[str, bytes]) -> list[etree._Element]:
    return list(etree.fromstring(files[f"{LANGUAGE}/feed.xml"]).iter("item"))


def atom_entries(data: bytes) -> list[etree._Element]:
    return list(etree.fromstring(data).iter(f"{ATOM}entry"))


def alternate(entry: etree._Element) -> str | None:
    found = [e.get("href") for e in entry.findall(f"{ATOM}link") if e.get("rel") == "alternate"]
    return found[0] if found else None


def test_an_entry_id_is_never_published_as_its_link(feed_server, storage, fetcher, tmp_path):
    """feedparser turns ``<id>Correct Value</id>`` into ``http://host/dir/Correct Value``."""
    body = atom(
        "<entry><id>Correct Value</id><title>Id only</title>"
        "<updated>2024-04-02T00:00:00Z</updated><content>Text</content></entry>"
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, body, ATOM_TYPE)
    entry = atom_entries(files[f"{LANGUAGE}/atom.xml"])[0]
    assert alternate(entry) is None
    assert rss_items(files)[0].find("link") is None
    assert "url" not in json_items(files)[0]
    assert b"Correct Value" not in files[f"{LANGUAGE}/atom.xml"]
    assert storage.get_articles("corpus")[0].data.upstream_id == "Correct Value"


def test_an_rss_guid_is_a_link_only_when_it_is_a_web_url(feed_server, storage, fetcher, tmp_path):
    body = rss(
        "<item><title>Word</title><guid>Correct Value</guid><pubDate>Mon, 01 Apr 2024 10:00:00"
        " GMT</pubDate></item><item><title>Permalink</title><guid>https://example.org/p/1</guid>"
        "<pubDate>Mon, 01 Apr 2024 09:00:00 GMT</pubDate></item><item><title>Not perma</title>"
        '<guid isPermaLink="false">https://example.org/p/2</guid>'
        "<pubDate>Mon, 01 Apr 2024 08:00:00 GMT</pubDate></item>"
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, body)
    links = {item["title"]: item.get("url") for item in json_items(files)}
    assert links == {"Word": None, "Permalink": "https://example.org/p/1", "Not perma": None}


def test_upstream_links_are_published_percent_encoded(feed_server, storage, fetcher, tmp_path):
    body = atom(
        "<entry><id>urn:x:1</id><title>Spaces</title><updated>2024-04-02T00:00:00Z</updated>"
        '<link href="https://example.org/a b/café?q=ü&amp;r=1#über"/><content>x</content>'
        "</entry><entry><id>urn:x:2</id><title>Host</title><updated>2024-04-01T00:00:00Z</updated>"
        '<link href="https://bücher.example/100% sicher"/><content>y</content></entry>'
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, body, ATOM_TYPE)
    expected = {
        "Spaces": "https://example.org/a%20b/caf%C3%A9?q=%C3%BC&r=1#%C3%BCber",
        "Host": "https://xn--bcher-kva.example/100%25%20sicher",
    }
    assert {item["title"]: item["url"] for item in json_items(files)} == expected
    atom_links = {
        e.findtext(f"{ATOM}title"): alternate(e) for e in atom_entries(files["en/atom.xml"])
    }
    assert atom_links == expected
    assert {i.findtext("title"): i.findtext("link") for i in rss_items(files)} == expected


def test_undated_entries_get_distinct_dates_in_upstream_order_that_never_change(
    feed_server, storage, fetcher, tmp_path
):
    items = "".join(
        f"<item><title>Undated {n}</title><guid>urn:u:{n}</guid></item>" for n in (1, 2, 3)
    )
    url = feed_server.add("/dir/feed.xml", rss(items))
    source = Source(id="corpus", url=url, language=LANGUAGE)
    ingest(fetcher, storage, source, NOW)
    first = publish_store(storage, tmp_path / "one")
    assert_all_valid(first)
    assert_distinct_updated(first["en/atom.xml"])
    updated = [e.findtext(f"{ATOM}updated") for e in atom_entries(first["en/atom.xml"])]
    assert [e.findtext(f"{ATOM}title") for e in atom_entries(first["en/atom.xml"])] == [
        "Undated 1",
        "Undated 2",
        "Undated 3",
    ]
    pub_dates = [item.findtext("pubDate") for item in rss_items(first)]
    assert len(set(pub_dates)) == 3, f"RSS items share a date: {pub_dates}"

    newer = "<item><title>Undated 0</title><guid>urn:u:0</guid></item>" + items
    feed_server.add("/dir/feed.xml", rss(newer))
    ingest(fetcher, storage, source, NOW + timedelta(hours=1))
    second = publish_store(storage, tmp_path / "two")
    assert_all_valid(second)
    dates = {
        e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}updated")
        for e in atom_entries(second["en/atom.xml"])
    }
    assert [dates[f"Undated {n}"] for n in (1, 2, 3)] == updated, "dates must never change"
    assert list(dates) == ["Undated 0", "Undated 1", "Undated 2", "Undated 3"]


@pytest.mark.parametrize("count", [3, 4, 5, 6, 7, 9])
def test_every_archive_page_links_current_and_a_neighbour(
    count, feed_server, storage, fetcher, tmp_path
):
    """With item_limit 1 and pages of 2, three entries once made one lone archive page with
    neither prev-archive nor next-archive (the validator's ArchiveIncomplete)."""
    items = "".join(
        f"<item><title>Dated {n}</title><guid>urn:d:{n}</guid>"
        f"<pubDate>Mon, 01 Apr 2024 {n:02d}:00:00 GMT</pubDate><description>b</description></item>"
        for n in range(count)
    )
    settings = FeedSettings(
        base_url=SETTINGS.base_url, languages=(LANGUAGE,), item_limit=1, archive_page_size=2
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, rss(items), settings=settings)
    pages = sorted(path for path in files if "/archive/" in path)
    assert len(pages) == (0 if count < 5 else (count - 1) // 2)
    for path in pages:
        rels = {e.get("rel") for e in etree.fromstring(files[path]).findall(f"{ATOM}link")}
        assert "current" in rels and rels & {"prev-archive", "next-archive"}, (path, rels)
    shown = sum(len(atom_entries(files[path])) for path in [*pages, "en/atom.xml"])
    assert shown == count, "archives and atom.xml together hold every entry"


def test_escaped_and_base64_titles_are_published_as_plain_text(
    feed_server, storage, fetcher, tmp_path
):
    """Atom 0.3 ``mode="base64"``/``mode="escaped"`` titles default to text/plain but are HTML."""
    body = atom03(
        '<entry><id>urn:a:1</id><title mode="base64">PHA+RXhhbXBsZSA8Yj5BdG9tPC9iPjwvcD4=</title>'
        "<modified>2024-04-03T00:00:00Z</modified></entry>"
        '<entry><id>urn:a:2</id><title mode="escaped">&lt;p&gt;Escaped &lt;b&gt;Atom&lt;/b&gt;'
        '&lt;/p&gt;</title><modified>2024-04-02T00:00:00Z</modified><content mode="escaped">'
        "&lt;p&gt;Body &lt;em&gt;here&lt;/em&gt;&lt;/p&gt;</content></entry>"
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, body, ATOM_TYPE)
    expected = ["Example Atom", "Escaped Atom"]
    assert [item["title"] for item in json_items(files)] == expected
    assert [i.findtext("title") for i in rss_items(files)] == expected
    atom_titles = [e.findtext(f"{ATOM}title") for e in atom_entries(files["en/atom.xml"])]
    assert atom_titles == expected
    assert feedparser.parse(files["en/feed.xml"]).entries[0].title == "Example Atom"
    assert json_items(files)[1]["content_html"] == "<p>Body <em>here</em></p>"


def test_atom_1_text_titles_keep_their_angle_brackets_as_text(
    feed_server, storage, fetcher, tmp_path
):
    """Atom 1.0 says exactly what a title is: ``type="text"`` markup is literal text."""
    body = atom(
        '<entry><id>urn:x:1</id><title type="text">Use &lt;p&gt; for paragraphs</title>'
        "<updated>2024-04-02T00:00:00Z</updated><content>x</content></entry>"
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, body, ATOM_TYPE)
    assert json_items(files)[0]["title"] == "Use <p> for paragraphs"


def test_empty_bodies_are_left_out_of_every_format(feed_server, storage, fetcher, tmp_path):
    bodies = {
        "Empty": "<description></description>",
        "Blank paragraph": "<description>&lt;p&gt; &lt;/p&gt;</description>",
        "Only script": "<description><![CDATA[<p><script>alert(1)</script></p>]]></description>",
        "Image only": '<description><![CDATA[<p><img src="https://example.org/i.jpg" alt="">'
        "</p>]]></description>",
    }
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/{n}</link><guid>urn:e:{n}</guid>"
        f"<pubDate>Mon, 01 Apr 2024 0{n}:00:00 GMT</pubDate>{body}</item>"
        for n, (title, body) in enumerate(bodies.items())
    )
    files = publish_source(feed_server, storage, fetcher, tmp_path, rss(items))
    assert b"&lt;p&gt;&lt;/p&gt;" not in files["en/atom.xml"] + files["en/feed.xml"]
    with_body = {"Image only"}
    for item in rss_items(files):
        has_body = item.find("description") is not None or item.find(CONTENT_ENCODED) is not None
        assert has_body == (item.findtext("title") in with_body), item.findtext("title")
    for entry in atom_entries(files["en/atom.xml"]):
        has_body = entry.find(f"{ATOM}content") is not None
        assert has_body == (entry.findtext(f"{ATOM}title") in with_body)
    for json_item in json_items(files):
        assert ("content_html" in json_item) == (json_item["title"] in with_body)
        assert json_item.get("content_text", "") == ""


def test_article_file_links_and_media_must_be_web_urls_and_are_encoded(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "good.md").write_text(
        "---\ntitle: Good\nlink: https://news.example/a b/é\nmedia:\n  - url: img/ç a.jpg\n"
        "---\nBody\n",
        encoding="utf-8",
    )
    (articles / "bad.md").write_text("---\ntitle: Bad\nlink: Correct Value\n---\nBody\n")
    (articles / "bad-media.md").write_text("---\ntitle: B\nmedia:\n  - url: x.jpg\n---\nB\n")
    loaded = load_directory(Source(id="desk", directory=articles, language=LANGUAGE))
    [entry] = loaded.entries
    assert entry.link == "https://news.example/a%20b/%C3%A9"
    assert [media.url for media in entry.media] == ["https://news.example/a%20b/img/%C3%A7%20a.jpg"]
    assert all(isinstance(error, ParseError) for error in loaded.errors)
    messages = [str(error) for error in loaded.errors]
    assert len(messages) == 2
    assert any("bad-media.md" in m and "media[0].url must be an http(s) URL" in m for m in messages)
    assert any("bad.md" in m and "not 'Correct Value'" in m for m in messages)
