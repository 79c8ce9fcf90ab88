"""Bilingual feeds as an operator and a reader meet them: ``bilingual = true`` on a language in a
config file, an upstream feed on 127.0.0.1, ``lingofeed once``/``check`` as subprocesses on the
real test model, every published file checked by the feed rules and read with feedparser; and
the block-by-block interleaving itself."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from lxml import etree

from lingofeed.feeds.render.bilingual import bilingual_entry, interleave
from lingofeed.feeds.types import EntryData, LocalizedEntry, Media
from tests.feedrules import assert_all_valid
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import check_report, config_header, lingofeed
from tests.test_selection import KEPT_TITLE, KEPT_TITLE_EN, MISSION, _folder, _rss

MISSION_EN = "The United Nations mission in Mali ended on 31 December after ten years."
LEFT = "Les derniers Casques bleus ont quitté le pays."
LEFT_EN = "The last peacekeepers left the country."
GATE = "Des Casques bleus à l'entrée du camp de Tombouctou."
GATE_EN = "Peacekeepers at the gate of the Timbuktu camp."
#: A paragraph, a list item and a figure caption, each translated, and a name left as it is.
BODY = (
    f"<p>{MISSION}</p><ul><li>{LEFT}</li></ul>"
    f'<figure><img src="https://upstream.example/gate.jpg" alt="{GATE}">'
    f"<figcaption>{GATE}</figcaption></figure><p>MINUSMA</p>"
)
BILINGUAL_SOURCE = """\
[[sources]]
id = "wire"
url = "{url}"
language = "{language}"
"""


def _published(tmp_path: Path) -> dict[str, bytes]:
    public = tmp_path / "public"
    return {
        str(path.relative_to(public)): path.read_bytes()
        for path in sorted(public.rglob("*"))
        if path.is_file()
    }


def _once(tmp_path: Path, config: Path) -> dict[str, bytes]:
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    files = _published(tmp_path)
    assert_all_valid(files)
    return files


def _bilingual_config(
    tmp_path: Path,
    feed_server: FeedServer,
    keys: str,
    item: tuple[str, str, str] = ("kept", KEPT_TITLE, BODY),
    language: str = "fr",
) -> Path:
    """English (bilingual, with ``keys``) and French targets over one source in ``language``
    whose feed has one ``(slug, title, description HTML)`` item."""
    url = feed_server.add("/wire.xml", _rss([item]))
    config = _folder(tmp_path, BILINGUAL_SOURCE.format(url=url, language=language))
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[languages.en]\n", f"[languages.en]\n{keys}"), "utf-8")
    return config


def test_a_bilingual_language_publishes_each_block_after_its_original(tmp_path, feed_server):
    config = _bilingual_config(tmp_path, feed_server, "bilingual = true\n")
    files = _once(tmp_path, config)
    for name in ("en/bilingual/feed.xml", "en/bilingual/sources/wire/atom.xml"):
        (entry,) = feedparser.parse(files[name]).entries
        assert entry.title == f"{KEPT_TITLE_EN} — {KEPT_TITLE}", name
    (item,) = json.loads(files["en/bilingual/feed.json"])["items"]
    body = item["content_html"]
    assert f'<p lang="en">{MISSION_EN}</p><p lang="fr">{MISSION}</p>' in body
    assert f'<li><div lang="en">{LEFT_EN}</div><div lang="fr">{LEFT}</div></li>' in body
    assert f'<figcaption><div lang="en">{GATE_EN}</div><div lang="fr">{GATE}</div>' in body
    assert f'alt="{GATE_EN}"' in body and body.count("<p>MINUSMA</p>") == 1
    assert item["_lingofeed"]["bilingual"] is True
    (plain,) = json.loads(files["en/feed.json"])["items"]
    assert MISSION not in plain["content_html"] and plain["_lingofeed"]["bilingual"] is False
    assert plain["id"] != item["id"]  # readers key items by id across feeds
    assert not any(name.startswith("fr/bilingual/") for name in files)
    # The index, the OPML and the English feeds' alternates lead to the bilingual feeds.
    index = files["index.html"].decode()
    assert 'href="http://127.0.0.1:8080/en/bilingual/feed.xml"' in index
    assert 'href="http://127.0.0.1:8080/en/bilingual/sources/wire/feed.json"' in index
    assert "Bilingual: translation and original" in index
    outlines = etree.fromstring(files["en/feeds.opml"]).iter("outline")
    urls = [outline.get("xmlUrl") for outline in outlines]
    assert "http://127.0.0.1:8080/en/bilingual/sources/wire/feed.xml" in urls
    french_atom = feedparser.parse(files["fr/atom.xml"]).feed
    assert all("/bilingual/" not in link.href for link in french_atom.links)


def test_an_english_article_shows_its_translated_french_passages_after_their_translation(
    tmp_path, feed_server
):
    """Partly translated: only the French caption changed; its language is not recorded."""
    body = (
        f'<p>{LEFT_EN}</p><figure><img src="https://upstream.example/gate.jpg" alt="{GATE}">'
        f"<figcaption>{GATE}</figcaption></figure>"
    )
    item = ("english", KEPT_TITLE_EN, body)
    config = _bilingual_config(tmp_path, feed_server, "bilingual = true\n", item, "en")
    files = _once(tmp_path, config)
    (item,) = json.loads(files["en/bilingual/feed.json"])["items"]
    assert item["title"] == KEPT_TITLE_EN, "written in English: shown once"
    body = item["content_html"]
    assert body.count(f"<p>{LEFT_EN}</p>") == 1
    assert f'<figcaption><div lang="en">{GATE_EN}</div><div lang="">{GATE}</div>' in body
    assert f'alt="{GATE_EN}"' in body
    assert item["_lingofeed"]["partly_machine_translated"] is True


def test_the_separator_follows_the_config_and_turning_it_off_unpublishes(tmp_path, feed_server):
    config = _bilingual_config(
        tmp_path, feed_server, 'bilingual = true\nbilingual_separator = " / "\n'
    )
    files = _once(tmp_path, config)
    (entry,) = feedparser.parse(files["en/bilingual/feed.xml"]).entries
    assert entry.title == f"{KEPT_TITLE_EN} / {KEPT_TITLE}"
    text = config.read_text(encoding="utf-8").replace("bilingual = true", "bilingual = false")
    config.write_text(text, encoding="utf-8")
    files = _once(tmp_path, config)
    assert not any("bilingual/" in name for name in files)
    assert "/bilingual/" not in files["index.html"].decode()
    (entry,) = feedparser.parse(files["en/feed.xml"]).entries
    assert entry.title == KEPT_TITLE_EN


def test_check_names_a_bad_bilingual_key_with_its_line(tmp_path):
    text = (
        config_header("http://127.0.0.1:8080/")
        + '\n[languages.en]\nbilingual = "yes"\n\n[languages.de]\nbilingual_separator = "  "\n'
        '\n[[sources]]\nid = "wire"\nurl = "https://wire.example/feed"\n'
    )
    report, config, line = check_report(tmp_path, text)
    message = f"{config}:{line['bilingual']}: languages.en.bilingual: must be bool, not a string"
    assert message in report
    assert (
        f"{config}:{line['bilingual_separator']}: languages.de.bilingual_separator: must be "
        "visible text on one line, like ' — '" in report
    )


def test_blocks_pair_up_at_every_depth_and_unchanged_ones_appear_once():
    translated = "<blockquote><p>Hello.</p><p>Gao</p></blockquote><ol><li>One</li></ol>"
    original = "<blockquote><p>Bonjour.</p><p>Gao</p></blockquote><ol><li>Un</li></ol>"
    assert interleave(translated, original, "en", "fr") == (
        '<blockquote><p lang="en">Hello.</p><p lang="fr">Bonjour.</p><p>Gao</p></blockquote>'
        '<ol><li><div lang="en">One</div><div lang="fr">Un</div></li></ol>'
    )


def test_loose_text_is_paired_as_one_block_with_the_direction_of_its_script():
    assert interleave("Peace <b>now</b>", "سلام <b>الآن</b>", "en", "ar") == (
        '<div lang="en">Peace <b>now</b></div><div lang="ar" dir="rtl">سلام <b>الآن</b></div>'
    )
    assert interleave("Gao", "Gao", "en", "fr") == "Gao"


def test_trees_that_do_not_pair_up_show_the_whole_original_after_the_whole_translation():
    """An upstream edit added a paragraph that is not translated yet."""
    assert interleave("<p>One.</p>", "<p>Un.</p><p>Deux.</p>", "en", "fr") == (
        '<div lang="en"><p>One.</p></div><hr><div lang="fr"><p>Un.</p><p>Deux.</p></div>'
    )


def test_fields_shown_as_written_appear_once_and_captions_read_translation_then_original():
    """A title-only source (``translate = ["title"]``): its text is the original already."""
    original = EntryData(
        "u",
        KEPT_TITLE,
        content=f"<p>{MISSION}</p>",
        media=(Media("https://upstream.example/gate.jpg", caption=GATE, alt=GATE),),
        language="fr",
    )
    shown = LocalizedEntry(
        "wire",
        "u",
        "en",
        "fr",
        KEPT_TITLE_EN,
        content=original.content,
        media=(Media("https://upstream.example/gate.jpg", caption=GATE_EN, alt=GATE_EN),),
        original_fields=("content",),
        original=original,
    )
    both = bilingual_entry(shown, " | ")
    assert both.bilingual and both.title == f"{KEPT_TITLE_EN} | {KEPT_TITLE}"
    assert both.content == f"<p>{MISSION}</p>"
    assert (both.media[0].caption, both.media[0].alt) == (f"{GATE_EN} | {GATE}", GATE_EN)


def test_interleaving_writes_void_media_sources_and_empty_items_as_html_has_them():
    video = '<video controls><source src="https://upstream.example/a.mp4" type="video/mp4"></video>'
    shown = interleave(
        f"<figure>{video}<figcaption>The camp</figcaption></figure><ul><li></li><li>Gao</li></ul>",
        f"<figure>{video}<figcaption>Le camp</figcaption></figure><ul><li></li><li>Gao</li></ul>",
        "en",
        "fr",
    )
    assert "</source>" not in shown
    assert '<source src="https://upstream.example/a.mp4" type="video/mp4">' in shown
    assert "<ul><li></li><li>Gao</li></ul>" in shown
