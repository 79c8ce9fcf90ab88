"""The cycle in-process on the real runtime (store, model, publish): broken files, re-sanitising,
retention of vanished items."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lingofeed.feeds.types import Article, EntryData
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.documents import article_document, sanitized
from lingofeed.scheduler.service import open_runtime
from lingofeed.translations.types import TranslatedDocument
from tests.fixtures.feeds import Reply
from tests.fixtures.service import make_service_folder

WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description></channel></rss>"""


def test_a_broken_article_file_is_skipped_and_its_article_stays_published(
    feed_server, tmp_path, caplog
):
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", WIRE))
    settings = load_settings(config)
    with open_runtime(settings) as runtime:
        run_cycle(runtime.context(settings))
        market = tmp_path / "articles" / "tombouctou-marche.md"
        market.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="lingofeed.cycle"):
            reports = run_cycle(runtime.context(settings))
        present = {a.data.upstream_id for a in runtime.storage.get_articles("articles")}
        shown = {e.upstream_id for e in runtime.storage.get_localized("en")}
    assert "tombouctou-marche" in present and "tombouctou-marche" in shown
    assert any("event=file-skipped" in r.getMessage() and "tombouctou-marche.md" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert all(report.error is None for report in reports)


def test_translated_html_is_sanitised_again_and_plain_text_is_left_to_the_renderer():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    data = EntryData("a", "Titre", content="<p>Corps</p>", language="fr")
    document = article_document(Article("s", data, data.content_hash(), now, now))
    hostile = TranslatedDocument(
        key=document.key,
        language="en",
        source_language="fr",
        fields={
            "title": "Body <script>x</script>",
            "content": '<p onclick="x()">Body<script>alert(1)</script>'
            '<a href="javascript:alert(1)">link</a><img src="/rel.png"></p>',
        },
        machine_translated=True,
    )
    fields = sanitized(hostile, document, "https://news.example.org/a")
    assert fields["title"] == "Body <script>x</script>"
    assert "script" not in fields["content"] and "onclick" not in fields["content"]
    assert "javascript:" not in fields["content"]
    assert 'src="https://news.example.org/rel.png"' in fields["content"]


def _wire(*titles: str) -> bytes:
    items = "".join(
        f"<item><guid>https://wire.example.org/{n}</guid><link>https://wire.example.org/{n}</link>"
        f"<title>{title}</title><pubDate>Mon, 15 Jan 2024 0{n}:00:00 GMT</pubDate></item>"
        for n, title in enumerate(titles, 1)
    )
    return WIRE.replace(b"</channel>", items.encode() + b"</channel>")


def _published_links(public: Path) -> set[str]:
    feed = json.loads((public / "en" / "feed.json").read_bytes())
    return {item["url"] for item in feed["items"]}


def test_a_vanished_item_stays_published_through_retention_and_only_a_good_fetch_deletes_it(
    feed_server, tmp_path
):
    flag = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
    traders = "Les commerçants vendent du sel, du riz et des tissus."
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _wire(flag, traders)))
    settings = load_settings(config)
    assert settings.retention_days == 30
    t0 = datetime(2024, 2, 1, tzinfo=UTC)
    market = tmp_path / "articles" / "tombouctou-marche.md"
    camp = tmp_path / "articles" / "tombouctou-camp-remis.md"
    camp_text = camp.read_text(encoding="utf-8")
    wire_2, market_link = (
        "https://wire.example.org/2",
        "https://news.example.org/2024/01/tombouctou-marche",
    )

    with open_runtime(settings) as runtime:

        def cycle(days: float) -> set[str]:
            at = t0 + timedelta(days=days)
            run_cycle(replace(runtime.context(settings), clock=lambda: at))
            return _published_links(tmp_path / "public")

        assert {wire_2, market_link} <= cycle(0)
        feed_server.add("/wire.xml", _wire(flag))  # item 2 vanishes upstream
        market.unlink()  # and so does one article file
        assert {wire_2, market_link} <= cycle(1)
        assert runtime.storage.get_article("wire", wire_2).gone_since == t0 + timedelta(days=1)
        assert {wire_2, market_link} <= cycle(30)  # still inside the 30-day window
        # past the window, but the feed fails and the directory reads only partly
        feed_server.handle("/wire.xml", lambda _request: Reply(500, b"down"))
        camp.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
        assert {wire_2, market_link} <= cycle(40)
        assert runtime.storage.get_article("wire", wire_2) is not None
        # good fetches again: both are deleted and leave the feeds
        feed_server.add("/wire.xml", _wire(flag))
        camp.write_text(camp_text, encoding="utf-8")
        links = cycle(41)
        assert wire_2 not in links and market_link not in links
        assert "https://wire.example.org/1" in links
        assert runtime.storage.get_article("wire", wire_2) is None
        assert runtime.storage.get_article("articles", "tombouctou-marche") is None
        assert runtime.storage.get_translation("wire", wire_2, "en") is None


def test_a_source_removed_from_the_config_is_unpublished_then_deleted_after_retention(
    feed_server, tmp_path
):
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _wire("Le sel", "Le riz")))
    settings = load_settings(config)
    without_wire = replace(settings, sources=settings.sources[:1])
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    public = settings.output.directory
    with open_runtime(settings) as runtime:
        run_cycle(replace(runtime.context(settings), clock=lambda: t0))
        assert any("wire.example.org" in link for link in _published_links(public))

        removed = t0 + timedelta(days=1)
        run_cycle(replace(runtime.context(without_wire), clock=lambda: removed))
        assert not any("wire.example.org" in link for link in _published_links(public))
        assert not list(public.glob("*/sources/wire")), "its emptied folders go too"
        assert list(public.glob("*/sources/articles/*.xml"))
        kept = runtime.storage.get_articles("wire", include_gone=True)
        assert [a.gone_since for a in kept] == [removed, removed], "kept for the window"

        expired = removed + timedelta(days=settings.retention_days, seconds=1)
        run_cycle(replace(runtime.context(without_wire), clock=lambda: expired))
        assert runtime.storage.get_articles("wire", include_gone=True) == []
        assert runtime.storage.get_source("wire") is None, "added back later, it starts afresh"
        assert runtime.storage.get_articles("articles"), "the configured source keeps its items"
