"""The cycle in-process on the real runtime (store, model, publish): broken files, re-sanitising."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from feeds.types import Article, EntryData
from scheduler.config import load_settings
from scheduler.cycle import run_cycle
from scheduler.documents import article_document, sanitized
from scheduler.service import open_runtime
from tests.fixtures.service import make_service_folder
from translations.types import TranslatedDocument

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
