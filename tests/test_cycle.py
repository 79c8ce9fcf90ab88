"""The cycle's pure decisions: backoff, log lines, what of an article is translated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lingofeed.feeds.types import Article, EntryData, Media
from lingofeed.scheduler.cycle import backoff
from lingofeed.scheduler.documents import article_document, why
from lingofeed.scheduler.events import event
from lingofeed.translations.types import FieldKind

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_backoff_doubles_up_to_six_hours_and_honours_retry_after():
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(30) == timedelta(hours=6)
    assert backoff(1, retry_after=3600) == timedelta(hours=1)


def test_event_lines_are_grepable_key_values():
    line = event("fetch-failed", source="wire", status=500, error="HTTP 500 Server Error")
    assert line == 'source=wire lang=- event=fetch-failed status=500 error="HTTP 500 Server Error"'


def test_article_document_has_every_field_a_reader_sees():
    data = EntryData(
        "a",
        "Titre",
        summary="<p>Résumé</p>",
        content="<p>Corps</p>",
        media=(Media("https://x/1.jpg", caption="Légende", alt="Texte"), Media("https://x/2")),
        language="fr",
    )
    article = Article("wire", data, data.content_hash(), NOW, NOW)
    document = article_document(article)
    assert document.language == "fr"
    assert {name: f.kind for name, f in document.fields.items()} == {
        "title": FieldKind.TEXT,
        "summary": FieldKind.HTML,
        "content": FieldKind.HTML,
        "media.0.caption": FieldKind.TEXT,
        "media.0.alt": FieldKind.TEXT,
    }
    assert article_document(article, declared="en").language == "en"


def test_why_says_each_reason_once_with_the_fields_it_hit():
    missing = "no installed model translates fr to de"
    problems = [f"title: {missing}", f"content: {missing}", "media.0.alt: tag lost", "odd"]
    assert why(problems) == f"title, content: {missing}; media.0.alt: tag lost; odd"
    assert why([f"f{n}: reason {n}" for n in range(5)]).endswith("f2: reason 2 (+2 more)")
