"""Article extraction from a page's bytes: structure kept, boilerplate and the title left out,
captions back on their images, nothing fetched, and a clear error when there is no article."""

from __future__ import annotations

import pytest

from lingofeed.feeds.errors import ExtractError
from lingofeed.feeds.ingest.extract import extract_article
from tests.fixtures.feeds import FeedServer
from tests.test_fulltext import (
    BOILERPLATE,
    CAMP_ALT,
    CAMP_CAPTION,
    CAMP_PAGE,
    CAMP_PARAGRAPHS,
    CAMP_TITLE,
)


def test_the_article_keeps_its_structure_and_its_image_captions():
    html = extract_article(
        "s", CAMP_PAGE.encode(), url="https://sahel.example.org/a/1", title=CAMP_TITLE
    )
    assert all(f"<p>{p}" in html for p in CAMP_PARAGRAPHS[:2])
    assert "<h2>" in html and html.count("<li>") == 2
    assert (
        f'<figure><img src="https://sahel.example.org/img/drapeau.jpg" alt="{CAMP_ALT}">'
        f"<figcaption>{CAMP_CAPTION}</figcaption></figure>"
    ) in html
    assert '<a href="https://sahel.example.org/communique" rel="noopener noreferrer">' in html
    assert CAMP_TITLE not in html
    assert not [text for text in BOILERPLATE if text in html]
    assert "<script" not in html


def test_extraction_never_fetches_the_pages_links_or_images(feed_server: FeedServer):
    base = feed_server.url("/a/1")
    extract_article("s", CAMP_PAGE.encode(), url=base, content_type="text/html; charset=utf-8")
    assert feed_server.requests == []


def test_the_servers_charset_decodes_the_page():
    page = CAMP_PAGE.replace('<meta charset="utf-8">', "")
    html = extract_article("s", page.encode("latin-1", errors="replace"), url="https://x.example/",
                           content_type="text/html; charset=ISO-8859-1")  # fmt: skip
    assert CAMP_PARAGRAPHS[0] in html


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"%PDF-1.4", "application/pdf", "not an HTML page (Content-Type application/pdf)"),
        (b"<html><body><div></div></body></html>", "text/html",
         "no article text found on the page"),
        (b"", "text/html", "not an HTML page"),
    ],
)  # fmt: skip
def test_a_page_without_an_article_is_an_error_naming_the_page(body, content_type, message):
    with pytest.raises(ExtractError) as info:
        extract_article("wire", body, url="https://x.example/p", content_type=content_type)
    assert message in str(info.value)
    assert "source 'wire' (https://x.example/p)" in str(info.value)


def test_a_page_with_no_more_text_than_the_feed_is_refused():
    page = b"<html><body><nav><a href='/'>Accueil</a></nav><p>Connectez-vous.</p></body></html>"
    with pytest.raises(ExtractError, match=r"no longer than the feed's own \(40\)"):
        extract_article("s", page, url="https://x.example/p", longer_than=40)
