"""Parsing the upstream samples in tests/data/upstream, each against its expected result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.parse import keep_newest, parse_feed, stable_id
from lingofeed.feeds.types import EntryData, Media, Source
from tests.fixtures.feeds import UPSTREAM_DIR

SOURCE = Source("up", url="https://base.example/feed")


def parse(name: str, *, base: str = "https://base.example/feed", content_type=None, **kw):
    body = (UPSTREAM_DIR / name).read_bytes()
    return parse_feed(Source("up", url=base, **kw), body, base_url=base, content_type=content_type)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_rss2_with_cdata_entities_content_and_media():
    feed = parse("rss2_cdata.xml", content_type="application/rss+xml")
    assert (feed.title, feed.link, feed.language) == (
        "Le Journal & Cie",
        "https://journal.example.fr/",
        "fr-FR",
    )
    first, second = feed.entries
    assert first.upstream_id == "journal-2023-12-001"
    assert first.title == "Mali : la MINUSMA quitte Tombouctou & Gao"
    assert first.link == "https://base.example/2023/12/minusma-tombouctou"
    assert first.summary == (
        '<p>Le camp de Tombouctou a été remis aux autorités — <a href="https://base.example/mali"'
        ' rel="noopener noreferrer">dossier</a>.</p>'
    )
    assert first.content is not None
    assert "<script" not in first.content and "onclick" not in first.content
    assert "javascript:" not in first.content
    assert '<img alt="Le camp vide" src="https://base.example/img/camp.jpg">' in first.content
    assert '<p translate="no">MINUSMA</p>' in first.content
    assert first.author == "Aminata Traoré"
    assert first.categories == ("Mali", "Nations unies")
    assert first.media == (
        Media(
            url="https://journal.example.fr/img/camp.jpg",
            type="image/jpeg",
            length=48213,
            caption="Le camp de la MINUSMA à Tombouctou, vide.",
            credit="MINUSMA/Harandane Dicko",
        ),
    )
    assert first.published == utc(2023, 12, 12, 9, 0)
    assert first.language == "fr-FR"
    assert second.upstream_id == "https://journal.example.fr/2023/12/sans-date"
    assert (second.published, second.updated) == (None, None)
    assert second.summary == "Texte brut &lt; 3 &amp; plus"


def test_rss1_rdf_ids_dates_and_language():
    feed = parse("rss1.rdf")
    assert feed.language == "de"
    first, second = feed.entries
    assert first == EntryData(
        upstream_id="https://wissen.example.de/a/1",
        title="Größere Wälder",
        link="https://wissen.example.de/a/1",
        summary="Die Wälder wachsen.",
        author="K. Müller",
        categories=("Umwelt",),
        published=utc(2024, 3, 5, 6, 30),
        updated=utc(2024, 3, 5, 6, 30),
        language="de",
    )
    assert second.published is None


def test_rss091_without_guid_uses_link_else_stable_hash():
    feed = parse("rss091.xml")
    first, second = feed.entries
    assert first.upstream_id == "http://old.example.com/stories/1.html"
    assert second.upstream_id == stable_id("No link at all", None)
    assert second.upstream_id == parse("rss091.xml").entries[1].upstream_id
    assert second.upstream_id.startswith("urn:lingofeed:sha256:")
    assert second.link is None and second.language == "en-us"


def test_atom_xhtml_content_resolves_xml_base_and_keeps_raw_ids():
    feed = parse("atom_xhtml.atom", content_type="application/atom+xml")
    assert feed.title == "Noticias del día"
    assert feed.language == "es"
    spanish, english = feed.entries
    assert spanish.upstream_id == "slug-lluvias"  # not resolved against the feed URL
    assert spanish.link == "https://noticias.example.org/blog/2024/02/lluvias"
    assert spanish.content is not None
    assert 'href="https://noticias.example.org/blog/2024/02/lluvias-mapa"' in spanish.content
    assert 'src="https://noticias.example.org/blog/img/lluvia.jpg"' in spanish.content
    assert "<figcaption>Una calle de Bogotá.</figcaption>" in spanish.content
    assert spanish.summary == "<p>Llueve &amp; mucho en Bogotá.</p>"
    assert spanish.media == (
        Media("https://noticias.example.org/media/lluvias.mp3", "audio/mpeg", 1024),
    )
    assert spanish.published == utc(2024, 2, 1, 13, 0)
    assert spanish.updated == utc(2024, 2, 1, 14, 15)
    assert spanish.author == "Lucía Gómez" and spanish.categories == ("clima",)
    assert english.language == "en"
    assert english.published == english.updated == utc(2024, 1, 31, 10, 0)


def test_atom_ids_do_not_change_when_the_feed_moves():
    here = parse("atom_xhtml.atom", base="https://a.example/feed")
    there = parse("atom_xhtml.atom", base="https://b.example/elsewhere/feed")
    assert [e.upstream_id for e in here.entries] == [e.upstream_id for e in there.entries]


def test_json_feed_1_1():
    feed = parse("jsonfeed.json", content_type="application/feed+json")
    assert (feed.title, feed.link, feed.language) == (
        "Le fil JSON",
        "https://fil.example.net/",
        "fr",
    )
    second, first = feed.entries
    assert second.upstream_id == "2"
    assert second.content == (
        '<p>Avec une <a href="https://fil.example.net/images" rel="noopener noreferrer">image</a>'
        ".</p>"
    )
    assert second.summary == "<p>Résumé &amp; suite</p>"
    assert second.author == "Claire, Paul"
    assert second.categories == ("Santé", "Afrique")
    assert second.media == (
        Media("https://fil.example.net/img/2.jpg"),
        Media("https://fil.example.net/a.pdf", "application/pdf", 2048, "Le rapport"),
    )
    assert second.published == utc(2024, 4, 2, 7, 0)
    assert second.updated == utc(2024, 4, 2, 10, 0)
    assert second.language == "fr"
    assert first.upstream_id == "1"  # numeric ids become strings
    assert first.content == "<p>Ligne un.</p><p>Ligne &lt;deux&gt;.</p>"
    assert first.language == "en" and first.published is None


def test_json_feed_is_sniffed_without_content_type():
    assert len(parse("jsonfeed.json", content_type=None).entries) == 2


@pytest.mark.parametrize(
    ("name", "title", "summary"),
    [
        ("latin1.xml", "Crème brûlée à Noël", "Déjà vu, où ça ?"),
        ("cp1252.xml", "“Smart” quotes cost €5 – really", "It’s here…"),  # noqa: RUF001
    ],
)
def test_declared_non_utf8_encodings_are_decoded(name, title, summary):
    (entry,) = parse(name, content_type="text/xml").entries
    assert entry.title == title
    assert entry.summary == summary


def test_media_rss_group_captions_credits_and_thumbnails():
    feed = parse("media_rss.xml")
    gallery, thumb = feed.entries
    assert gallery.summary == "A story with a gallery."
    assert gallery.content is None  # no media:description leaks into the body
    assert gallery.media == (
        Media(
            "https://base.example/pics/7a.jpg",
            "image/jpeg",
            None,
            "A harbour at dawn.",
            "Group Credit",
        ),
        Media(
            "https://photos.example.com/pics/7b.jpg",
            "image/jpeg",
            None,
            "Boats leaving.",
            "Own Credit",
        ),
    )
    assert thumb.summary is None
    assert thumb.media == (
        Media("https://photos.example.com/thumbs/8.jpg", caption="The thumbnail caption."),
        Media("https://photos.example.com/pics/8.jpg", "image/jpeg", 5000),
    )


def test_item_limit_keeps_the_newest_in_document_order():
    feed = parse("media_rss.xml", item_limit=1)
    assert [e.upstream_id for e in feed.entries] == ["photos-8"]
    entries = [
        EntryData("undated", "u"),
        EntryData("old", "o", published=utc(2020, 1, 1)),
        EntryData("new", "n", updated=utc(2024, 1, 1)),
    ]
    assert [e.upstream_id for e in keep_newest(entries, 2)] == ["old", "new"]
    assert [e.upstream_id for e in keep_newest(entries, 3)] == ["undated", "old", "new"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body><p>Not a feed</p></body></html>", "not"),
        (b"\x00\x01garbage", "not"),
        (b'{"items": [1, }', "invalid JSON at line 1, column 15"),
        (b'{"title": "no items"}', "no 'items' list"),
        (b'{"items": ["x"]}', "item 0 is not an object"),
    ],
)
def test_unusable_body_is_parse_error_naming_source(body, reason):
    with pytest.raises(ParseError, match=reason) as info:
        parse_feed(SOURCE, body, base_url=SOURCE.url, content_type=None)
    assert info.value.source_id == "up"
    assert "'up'" in str(info.value)


def test_empty_but_valid_feed_has_no_entries():
    body = b"<rss version='2.0'><channel><title>Empty</title></channel></rss>"
    feed = parse_feed(SOURCE, body, base_url=SOURCE.url, content_type="application/rss+xml")
    assert feed.title == "Empty" and feed.entries == ()


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>a &xxe; b</title><description>&xxe;</description></item>
</channel></rss>""".encode()
    feed = parse_feed(SOURCE, body, base_url=SOURCE.url, content_type="application/rss+xml")
    assert "TOPSECRET" not in repr(feed)


@pytest.mark.timeout(120)  # an unbounded expansion would exhaust memory or never finish
def test_billion_laughs_does_not_blow_up():
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    body = f"""<?xml version="1.0"?><!DOCTYPE rss [{lol}]>
<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>&lol9;</title></item></channel></rss>""".encode()
    try:
        feed = parse_feed(SOURCE, body, base_url=SOURCE.url, content_type="application/rss+xml")
    except ParseError:
        return  # refusing the document is fine too
    assert all(len(e.title) < 100_000 for e in feed.entries)
