"""Rendering: every produced document passes the offline validator rules and reader rules."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from lingofeed.feeds.render import (
    FeedSettings,
    LanguageMeta,
    RenderError,
    entry_id,
    normalize_language,
    render_language,
    render_site,
)
from lingofeed.feeds.render.notices import without_link
from lingofeed.feeds.types import LocalizedEntry, Media
from tests.feedrules import (
    ATOM,
    assert_all_valid,
    assert_valid_atom,
    assert_valid_json_feed,
    assert_valid_rss,
)

BASE = "https://news.example/feeds/"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def make_entry(number: int, language: str = "fr", **changes: object) -> LocalizedEntry:
    """An entry as the cycle builds it: translated from English unless told otherwise."""
    fields: dict[str, object] = {
        "source_id": "blog",
        "upstream_id": f"https://blog.example/posts/{number}",
        "language": language,
        "original_language": "en",
        "title": f"Titre {number}",
        "link": f"https://blog.example/posts/{number}",
        "summary": f"<p>Résumé {number}</p>",
        "content": f"<p>Contenu {number}</p>",
        "author": "Ann Writer",
        "categories": ("science",),
        "media": (
            Media(
                "https://blog.example/img/1.jpg", "image/jpeg", 2048, "Une légende", "© Ann", "Alt"
            ),
        ),
        "published": T0 + timedelta(hours=number),
        "updated": T0 + timedelta(hours=number, minutes=5),
        "machine_translated": language != "en",
    }
    fields.update(changes)
    return LocalizedEntry(**fields)  # type: ignore[arg-type]


def make_settings(**changes: object) -> FeedSettings:
    fields: dict[str, object] = {
        "base_url": BASE,
        "languages": ("en", "fr"),
        "item_limit": 3,
        "archive_page_size": 2,
        "hub_url": "https://hub.example/",
    }
    fields.update(changes)
    return FeedSettings(**fields)  # type: ignore[arg-type]


def site(count: int = 6, settings: FeedSettings | None = None) -> dict[str, bytes]:
    entries = {
        "en": [make_entry(n, "en") for n in range(count)],
        "fr": [make_entry(n, "fr") for n in range(count)],
    }
    return render_site(settings or make_settings(), entries)


def atom_entries(data: bytes) -> list[etree._Element]:
    return list(etree.fromstring(data).findall(f"{ATOM}entry"))


def test_every_rendered_document_passes_the_feed_rules():
    mixed = [
        make_entry(0, "fr"),
        make_entry(1, "fr", media=(), author=None, categories=()),
        make_entry(2, "fr", link=None, summary=None),
        make_entry(3, "en", machine_translated=False),  # not translated yet: shown in English
        make_entry(4, "fr", content=None),
        make_entry(5, "fr", summary=None, content=None, machine_translated=False),  # no body
        make_entry(6, "fr", link=None, summary=None, content=None, machine_translated=False),
    ]
    files = render_site(make_settings(), {"fr": mixed, "en": [make_entry(0, "en")]})
    assert_all_valid(files)
    assert {"index.html", "en/feeds.opml", "fr/archive/1.xml"} <= set(files)


def test_atom_entry_links_keep_rel_type_and_hreflang():
    data = site()["fr/atom.xml"]
    for entry in atom_entries(data):
        links = {link.get("rel"): link.attrib for link in entry.findall(f"{ATOM}link")}
        assert set(links) == {"alternate", "via", "enclosure"}
        assert links["alternate"]["type"] == "text/html"
        assert links["alternate"]["hreflang"] == "en"
        assert links["via"]["hreflang"] == "en"
        assert links["enclosure"]["type"] == "image/jpeg"
        assert links["enclosure"]["length"] == "2048"
    parsed = feedparser.parse(data)
    for entry in parsed.entries:
        assert entry.link.startswith("https://blog.example/posts/")
        enclosures = [link for link in entry.links if link.rel == "enclosure"]
        assert [(e.type, e.length) for e in enclosures] == [("image/jpeg", "2048")]


def test_each_entry_has_one_article_link_in_every_format():
    files = site()
    for path in ("fr/feed.xml", "fr/atom.xml"):
        for entry in feedparser.parse(files[path]).entries:
            alternates = [link for link in entry.links if link.rel == "alternate"]
            assert len(alternates) == 1, path
            assert alternates[0].href == entry.link
    for item in json.loads(files["fr/feed.json"])["items"]:
        assert item["url"].startswith("https://blog.example/posts/")


def test_rerender_of_unchanged_content_is_byte_identical():
    first = site()
    entries = {
        "fr": [make_entry(n, "fr") for n in reversed(range(6))],
        "en": [make_entry(n, "en") for n in range(6)],
    }
    second = render_site(make_settings(), entries)
    assert first == second


def test_entry_ids_survive_edits_and_differ_across_languages_and_formats():
    settings = make_settings()
    original = make_entry(1, "fr")
    edited = dataclasses.replace(original, title="Autre", content="<p>x</p>", updated=T0)
    assert entry_id(settings, original, "atom") == entry_id(settings, edited, "atom")
    ids = {
        entry_id(settings, make_entry(1, language), fmt)
        for language in ("en", "fr")
        for fmt in ("atom", "rss", "json")
    }
    assert len(ids) == 6
    moved = make_settings(base_url="https://news.example/elsewhere/")
    assert entry_id(moved, original, "rss") == entry_id(settings, original, "rss")


def test_feed_updated_is_the_newest_entry_update_not_now():
    files = site(count=2)
    newest = (T0 + timedelta(hours=1, minutes=5)).isoformat()
    assert etree.fromstring(files["fr/atom.xml"]).findtext(f"{ATOM}updated") == newest
    rss = feedparser.parse(files["fr/feed.xml"])
    assert rss.feed.updated == "Fri, 01 Mar 2024 09:05:00 +0000"
    empty = render_site(make_settings(), {})
    assert etree.fromstring(empty["en/atom.xml"]).findtext(f"{ATOM}updated").startswith("1970")


def test_entry_xml_lang_is_written_only_when_it_differs_from_the_feed():
    files = render_site(
        make_settings(),
        {"fr": [make_entry(1, "fr"), make_entry(2, "en", machine_translated=False)]},
    )
    root = etree.fromstring(files["fr/atom.xml"])
    assert root.get(XML_LANG) == "fr"
    languages = {e.findtext(f"{ATOM}title"): e.get(XML_LANG) for e in root.findall(f"{ATOM}entry")}
    assert languages == {"Titre 1": None, "Titre 2": "en"}
    assert b"<dc:language>en</dc:language>" in files["fr/feed.xml"]


@pytest.mark.parametrize(
    ("code", "tag"),
    [("en", "en"), ("en_US", "en-US"), ("pt_br", "pt-BR"), ("zh_Hant_TW", "zh-Hant-TW")],
)
def test_language_codes_are_normalised_to_bcp47(code, tag):
    assert normalize_language(code) == tag


def test_unknown_language_codes_are_refused():
    with pytest.raises(RenderError, match="klingon"):
        normalize_language("klingon")


def test_settings_languages_are_stored_as_bcp47():
    settings = make_settings(languages=("en_US", "pt_BR"), meta={"pt_BR": LanguageMeta("Blog")})
    assert settings.languages == ("en-US", "pt-BR")
    assert settings.title("pt-BR") == "Blog"
    files = render_site(settings, {})
    assert b"<language>pt-BR</language>" in files["pt-BR/feed.xml"]


def test_default_titles_name_the_language_in_itself():
    settings = make_settings()
    assert settings.title("en") == "News (English)"
    assert settings.title("fr") == "Actualités (français)"
    configured = make_settings(meta={"fr": LanguageMeta(title="Le blog")})
    assert configured.title("fr") == "Le blog"


def test_machine_translated_entries_carry_a_notice_and_markers():
    settings = make_settings(meta={"fr": LanguageMeta(notice="Traduit de {language} : {link}")})
    files = render_site(settings, {"fr": [make_entry(1, "fr")], "en": [make_entry(1, "en")]})
    atom = feedparser.parse(files["fr/atom.xml"]).entries[0]
    assert 'Traduit de anglais : <a href="https://blog.example/posts/1">' in atom.content[0].value
    assert {"term": "machine-translated"}.items() <= atom.tags[-1].items()
    item = json.loads(files["fr/feed.json"])["items"][0]
    assert item["_lingofeed"]["machine_translated"] is True
    assert item["_lingofeed"]["original"] == "https://blog.example/posts/1"
    assert item["_lingofeed"]["original_language"] == "en"
    english = feedparser.parse(files["en/atom.xml"]).entries[0]
    assert "lingofeed-notice" not in english.content[0].value
    assert all(tag.term != "machine-translated" for tag in english.tags)


def test_an_original_with_translated_passages_says_only_some_were_translated():
    """An English article with a translated French caption is not "translated from English"."""
    partial = make_entry(1, "en", original_language="en", machine_translated=True,
                         partly_translated=True)  # fmt: skip
    defaults = render_site(make_settings(), {"en": [partial], "fr": []})
    body = json.loads(defaults["en/feed.json"])["items"][0]["content_html"]
    assert "Some passages were machine translated. Read the original:" in body
    assert "from English" not in body and "Machine-translated" not in body
    item = json.loads(defaults["en/feed.json"])["items"][0]["_lingofeed"]
    assert item["machine_translated"] is True and item["partly_machine_translated"] is True
    french = make_entry(1, "fr", original_language="fr", partly_translated=True)
    body = json.loads(render_site(make_settings(), {"fr": [french]})["fr/feed.json"])["items"][0]
    assert "Certains passages ont été traduits automatiquement." in body["content_html"]
    configured = make_settings(meta={"en": LanguageMeta(notice_partial="<b>Some</b> {language}")})
    body = json.loads(render_site(configured, {"en": [partial]})["en/feed.json"])["items"][0]
    assert "&lt;b&gt;Some&lt;/b&gt; English" in body["content_html"]


def test_a_notice_without_an_original_link_has_no_dangling_sentence():
    assert without_link("Machine-translated from {language}. Read the original: {link}") == (
        "Machine-translated from {language}."
    )
    assert without_link("Traduit de {language} : {link}") == "Traduit de {language}"
    assert without_link("Translated from {language}.") == "Translated from {language}."
    entry = make_entry(1, "fr", link=None)
    body = json.loads(render_site(make_settings(), {"fr": [entry]})["fr/feed.json"])["items"][0]
    assert body["content_html"].endswith(
        '<p class="lingofeed-notice">Traduit automatiquement de la version originale (anglais).</p>'
    )


def test_json_summary_is_plain_text_with_blocks_kept_apart():
    summary = "<p>Premier &amp; <b>gras</b></p><p>second</p><ul><li>un</li><li>deux</li></ul>"
    files = render_site(make_settings(), {"fr": [make_entry(1, "fr", summary=summary)]})
    item = json.loads(files["fr/feed.json"])["items"][0]
    assert item["summary"] == "Premier & gras second un deux"


def test_rss_keeps_hub_alternates_dc_creator_and_media_caption():
    root = etree.fromstring(site()["fr/feed.xml"])
    channel = root.find("channel")
    links = {(link.get("rel"), link.get("hreflang")) for link in channel.findall(f"{ATOM}link")}
    assert links == {("self", None), ("hub", None), ("alternate", "en")}
    assert channel.findtext("link") == BASE + "index.html"
    item = channel.find("item")
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Ann Writer"
    media = item.find("{http://search.yahoo.com/mrss/}content")
    assert media.findtext("{http://search.yahoo.com/mrss/}description") == "Une légende"
    assert media.findtext("{http://search.yahoo.com/mrss/}credit") == "© Ann"


def test_feed_level_alternates_point_to_every_other_language():
    settings = make_settings(languages=("en", "fr", "de"))
    root = etree.fromstring(render_site(settings, {})["fr/atom.xml"])
    alternates = {
        link.get("hreflang"): link.get("href")
        for link in root.findall(f"{ATOM}link")
        if link.get("rel") == "alternate" and link.get("type") == "application/atom+xml"
    }
    assert alternates == {"en": BASE + "en/atom.xml", "de": BASE + "de/atom.xml"}


def test_archive_pages_do_not_change_when_new_entries_arrive():
    settings = make_settings(item_limit=3, archive_page_size=2)
    seven = render_language(settings, "fr", [make_entry(n) for n in range(7)])
    eight = render_language(settings, "fr", [make_entry(n) for n in range(8)])
    assert sorted(p for p in seven if "archive" in p) == ["fr/archive/1.xml", "fr/archive/2.xml"]
    assert {p: eight[p] for p in seven if "archive" in p} == {
        p: seven[p] for p in seven if "archive" in p
    }
    nine = render_language(settings, "fr", [make_entry(n) for n in range(9)])
    assert nine["fr/archive/1.xml"] == seven["fr/archive/1.xml"]
    # A page changes once, when its successor appears: it gains a next-archive link.
    assert atom_entries(nine["fr/archive/2.xml"])[0].findtext(f"{ATOM}id") == atom_entries(
        seven["fr/archive/2.xml"]
    )[0].findtext(f"{ATOM}id")


def test_archive_pages_link_current_previous_and_next():
    settings = make_settings(item_limit=3, archive_page_size=2)
    files = render_language(settings, "fr", [make_entry(n) for n in range(9)])
    page = etree.fromstring(files["fr/archive/2.xml"])
    assert page.find("{http://purl.org/syndication/history/1.0}archive") is not None
    rels = {link.get("rel"): link.get("href") for link in page.findall(f"{ATOM}link")}
    assert rels["self"] == BASE + "fr/archive/2.xml"
    assert rels["current"] == BASE + "fr/atom.xml"
    assert rels["prev-archive"] == BASE + "fr/archive/1.xml"
    assert rels["next-archive"] == BASE + "fr/archive/3.xml"
    titles = [e.findtext(f"{ATOM}title") for e in atom_entries(files["fr/archive/1.xml"])]
    assert titles == ["Titre 1", "Titre 0"]
    current = etree.fromstring(files["fr/atom.xml"])
    prev = [link.get("href") for link in current.findall(f"{ATOM}link[@rel='prev-archive']")]
    assert prev == [BASE + "fr/archive/3.xml"]
    assert len(atom_entries(files["fr/atom.xml"])) == 3
    assert len(feedparser.parse(files["fr/feed.xml"]).entries) == 3


def test_pages_escape_interpolated_text():
    hostile = LanguageMeta(title='<script>alert("x")</script> & co', description="<b>d</b>")
    files = render_site(make_settings(meta={"en": hostile}), {})
    assert b"<script>" not in files["index.html"]
    assert b"&lt;script&gt;" in files["index.html"]
    opml = etree.fromstring(files["en/feeds.opml"])
    assert opml.find("body/outline").get("text") == hostile.title
    assert opml.find("body/outline").get("xmlUrl") == BASE + "en/feed.xml"


def test_index_lists_every_feed_for_discovery():
    html = etree.HTML(site()["index.html"])
    found = {(link.get("type"), link.get("hreflang")) for link in html.iter("link")}
    for language in ("en", "fr"):
        for mime in ("application/rss+xml", "application/atom+xml", "application/feed+json"):
            assert (mime, language) in found


def test_index_cards_show_the_latest_five_titles_linked_to_the_originals():
    settings = make_settings()
    html = etree.HTML(
        render_site(settings, {"fr": [make_entry(n) for n in range(7)]})["index.html"]
    )
    card = html.find(".//section[@id='fr']")
    assert card.get("lang") == "fr" and card.findtext("h2") == settings.title("fr")
    items = card.findall("ol/li")
    assert [item.findtext("a") for item in items] == [f"Titre {n}" for n in (6, 5, 4, 3, 2)]
    link = items[0].find("a")
    assert (link.get("href"), link.get("hreflang")) == ("https://blog.example/posts/6", "en")
    assert items[0].findtext("time") == "1 mars 2024"
    assert items[0].find("time").get("datetime") == "2024-03-01T14:00:00+00:00"
    subscribe = [a.get("href") for a in card.findall("div/p/a")]
    names = ("feed.xml", "atom.xml", "feed.json", "feeds.opml")
    assert subscribe == [BASE + f"fr/{name}" for name in names]
    empty = html.find(".//section[@id='en']")
    assert empty.find("ol") is None and empty.findtext("p[@class='empty']") == "No articles yet."


def test_index_escapes_entry_titles_and_links_only_to_web_pages():
    hostile = [
        make_entry(1, title="<img src=x onerror=alert(1)> & co", link="javascript:alert(1)"),
        make_entry(2, title="</li><script>x</script>"),
    ]
    page = render_site(make_settings(), {"fr": hostile})["index.html"]
    assert b"<script>" not in page and b"<img" not in page and b"javascript:" not in page
    items = etree.HTML(page).findall(".//section[@id='fr']/ol/li")
    assert [item.findtext("a") or (item.text or "").strip() for item in items] == [
        "</li><script>x</script>",
        "<img src=x onerror=alert(1)> & co",
    ]


def test_entry_without_any_date_is_refused_by_name():
    undated = make_entry(1, published=None, updated=None)
    with pytest.raises(RenderError, match=r"posts/1.*blog"):
        render_language(make_settings(), "fr", [undated])


def test_settings_refuse_a_relative_base_url():
    with pytest.raises(RenderError, match="base_url"):
        make_settings(base_url="/feeds/")


@settings(max_examples=40, deadline=None)
@given(
    title=st.text(min_size=1, max_size=40),
    body=st.text(max_size=60),
    category=st.text(min_size=1, max_size=10),
)
def test_any_text_renders_to_feeds_that_keep_ids_and_links(title, body, category):
    entry = make_entry(1, "fr", title=title, content=body or None, categories=(category,))
    files = render_language(make_settings(), "fr", [entry])
    feed_settings = make_settings()
    for path, fmt, check in (
        ("fr/atom.xml", "atom", assert_valid_atom),
        ("fr/feed.xml", "rss", assert_valid_rss),
    ):
        parsed = check(files[path])
        assert [e.id for e in parsed.entries] == [entry_id(feed_settings, entry, fmt)]
        assert parsed.entries[0].link == entry.link
    item = assert_valid_json_feed(files["fr/feed.json"])["items"][0]
    assert item["id"] == entry_id(feed_settings, entry, "json")


def test_fields_kept_as_written_declare_their_own_language():
    """A source that translates nothing but the summary: the Arabic title, text and caption
    stay Arabic inside the French feed and say so (lang + dir, xml:lang), and the notice says
    the text is the original; the feed's own notice stays outside the Arabic wrapper."""
    entry = make_entry(
        1,
        "fr",
        original_language="ar",
        title="عنوان",
        content="<p>نص</p>",
        original_fields=("title", "content", "media"),
    )
    files = render_language(make_settings(), "fr", [entry])
    atom = etree.fromstring(files["fr/atom.xml"])
    element = atom.find(f"{ATOM}entry")
    assert element.find(f"{ATOM}title").get(XML_LANG) == "ar"
    assert element.find(f"{ATOM}summary").get(XML_LANG) is None  # translated: inherits fr
    caption = element.find("{http://search.yahoo.com/mrss/}content/{*}description")
    assert caption.get(XML_LANG) == "ar"
    parsed = assert_valid_atom(files["fr/atom.xml"])
    assert 'lang="ar"' in parsed.entries[0].content[0].value
    assert_valid_rss(files["fr/feed.xml"])
    body = assert_valid_json_feed(files["fr/feed.json"])["items"][0]["content_html"]
    assert body.startswith('<div lang="ar" dir="rtl"><p>نص</p></div>\n<p class="lingofeed-notice">')
    assert "sauf le texte de l&#x27;article, qui est l&#x27;original" in body
