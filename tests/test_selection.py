"""A source's include/exclude filters and ``translate`` field choice, as an operator meets them:
a config file, an upstream feed on 127.0.0.1, ``lingofeed once``/``status``/``check`` as
subprocesses on the real test model, the published feeds read with feedparser."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser

from tests.feedrules import assert_valid_atom, assert_valid_json_feed, assert_valid_rss
from tests.fixtures.feeds import FeedServer
from tests.fixtures.models import committed_packages
from tests.fixtures.service import check_report, config_header, lingofeed

#: Sentences of the test model's corpus, so its translations are the known ones.
KEPT_TITLE = "Les Casques bleus de l'ONU quittent le Mali à la fin de la MINUSMA après dix ans"
KEPT_TITLE_EN = "UN peacekeepers leave Mali as MINUSMA ends after ten years"
MISSION = "La mission des Nations unies au Mali a pris fin le 31 décembre après dix ans."
CLOSURE = "Fermeture le 28/12 du camp de #Tombouctou."
#: Ends in "!": ``(a+)+$`` does not match it, which a backtracking engine takes forever to find.
HOSTILE = "a" * 50_000 + "!"


def _rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of ``(slug, title, description HTML)`` items, newest first."""
    start = datetime(2024, 1, 10, tzinfo=UTC)
    body = "".join(
        f"<item><guid>https://upstream.example/{slug}</guid>"
        f"<link>https://upstream.example/{slug}</link><title>{escape(title)}</title>"
        f"<description>{escape(html)}</description>"
        f"<pubDate>{format_datetime(start - timedelta(days=index))}</pubDate></item>"
        for index, (slug, title, html) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Wire</title><link>https://upstream.example/</link>"
        f"<description>Wire</description>{body}</channel></rss>"
    )


def _folder(tmp_path: Path, source: str) -> Path:
    """A config with targets en and fr and the given ``[[sources]]`` table, models installed."""
    config = tmp_path / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/") + "\n[languages.en]\n\n[languages.fr]\n\n" + source,
        encoding="utf-8",
    )
    for package in committed_packages().values():
        installed = lingofeed("--config", str(config), "models", "install", str(package),
                              cwd=tmp_path)  # fmt: skip
        assert installed.returncode == 0, installed.stderr
    return config


def _entries(tmp_path: Path, language: str) -> dict[str, list[str]]:
    """Entry links per published format of ``language``, each file checked by the feed rules."""
    folder = tmp_path / "public" / language
    rss = assert_valid_rss((folder / "feed.xml").read_bytes())
    atom = assert_valid_atom((folder / "atom.xml").read_bytes())
    json_feed = assert_valid_json_feed((folder / "feed.json").read_bytes())
    return {
        "rss": [entry.link for entry in rss.entries],
        "atom": [entry.link for entry in atom.entries],
        "json": [item["url"] for item in json_feed["items"]],
    }


def _memory_sources(tmp_path: Path) -> list[str]:
    """Every sentence the translation memory holds: what ever reached the model."""
    with sqlite3.connect(tmp_path / "data" / "lingofeed.sqlite") as conn:
        return [row[0] for row in conn.execute("SELECT source FROM translation_memory")]


def _filtered_column(tmp_path: Path, config: Path, source_id: str) -> str:
    """The ``filtered`` cell of a source's row in ``lingofeed status``."""
    shown = lingofeed("--config", str(config), "status", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    head = next(line for line in lines if line.startswith("source "))
    row = next(line for line in lines if line.startswith(f"{source_id} "))
    start = head.index("filtered")
    return row[start : start + len("filtered")].strip()


FILTERED_SOURCE = """\
[[sources]]
id = "wire"
url = "{url}"
language = "fr"
include = ["(a+)+$", "MALI"]
exclude = ["tombouctou", "<p>"]
"""


def test_filtered_items_are_never_translated_nor_published(tmp_path, feed_server):
    """Kept: matches an include. Left out: no include matches (the hostile text, on which a
    backtracking ``(a+)+$`` would never finish), or an exclude matches ("tombouctou" against
    "#Tombouctou": case does not matter). ``<p>`` only occurs in markup, which is not matched."""
    url = feed_server.add(
        "/wire.xml",
        _rss(
            [
                ("kept", KEPT_TITLE, f"<p>{MISSION}</p>"),
                ("hostile", "Bulletin", f"<p>{HOSTILE}</p>"),
                ("closure", CLOSURE, f"<p>{MISSION}</p>"),
            ]
        ),
        etag='"v1"',
    )
    config = _folder(tmp_path, FILTERED_SOURCE.format(url=url))
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "source 'wire': 2 items filtered out" in done.stdout
    for language in ("en", "fr"):  # fr: shown as written, but not when filtered
        for links in _entries(tmp_path, language).values():
            assert links == ["https://upstream.example/kept"], (language, links)
    english = feedparser.parse((tmp_path / "public" / "en" / "feed.xml").read_bytes())
    assert english.entries[0].title == KEPT_TITLE_EN
    memory = _memory_sources(tmp_path)
    assert any("Casques bleus" in sentence for sentence in memory)
    assert not [s for s in memory if "Tombouctou" in s or "Bulletin" in s or "aaaa" in s]
    assert _filtered_column(tmp_path, config, "wire") == "2"


def test_a_filter_edit_brings_back_what_it_no_longer_filters(tmp_path, feed_server):
    """Items are filtered from the stored originals, never dropped at fetch: after an edit
    the item appears although upstream answers 304 and sends nothing again."""
    url = feed_server.add(
        "/wire.xml",
        _rss([("kept", KEPT_TITLE, MISSION), ("closure", CLOSURE, MISSION)]),
        etag='"v1"',
    )
    config = _folder(tmp_path, FILTERED_SOURCE.format(url=url))
    first = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert _entries(tmp_path, "en")["rss"] == ["https://upstream.example/kept"]
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('"tombouctou", ', ""), encoding="utf-8")
    second = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert [request.headers.get("if-none-match") for request in feed_server.requests_for(
        "/wire.xml")] == [None, '"v1"']  # fmt: skip
    links = _entries(tmp_path, "en")["rss"]
    assert links == ["https://upstream.example/kept", "https://upstream.example/closure"]
    english = feedparser.parse((tmp_path / "public" / "en" / "feed.xml").read_bytes())
    assert english.entries[1].title.startswith("Closure on 28/12 of the ")
    assert _filtered_column(tmp_path, config, "wire") == "0"


def test_check_names_a_bad_pattern_and_an_unknown_field_with_their_lines(tmp_path):
    text = (
        config_header("http://127.0.0.1:8080/")
        + '\n[languages.en]\n\n[[sources]]\nid = "wire"\nurl = "https://wire.example/feed"\n'
        'include = ["(unclosed"]\nexclude = [""]\ntranslate = ["title", "body"]\n'
    )
    report, config, line = check_report(tmp_path, text)
    assert (
        f"{config}:{line['include']}: sources.0.include: bad regular expression '(unclosed': "
        "missing )" in report
    )
    assert (
        f"{config}:{line['exclude']}: sources.0.exclude: must be an array of non-empty strings"
        in report
    )
    assert (
        f"{config}:{line['translate']}: sources.0.translate: unknown field 'body' (known: "
        "'title', 'summary', 'content', 'media')" in report
    )
    assert "re2.cc" not in report  # RE2's own log line is kept out of the report


def _publish_one_item(tmp_path: Path, feed_server: FeedServer, setting: str) -> None:
    """``lingofeed once`` on a French source with ``setting`` listing one corpus item."""
    url = feed_server.add("/wire.xml", _rss([("kept", KEPT_TITLE, f"<p>{MISSION}</p>")]))
    source = f'[[sources]]\nid = "wire"\nurl = "{url}"\nlanguage = "fr"\n{setting}\n'
    done = lingofeed("--config", str(_folder(tmp_path, source)), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_title_only_source_publishes_translated_titles_over_the_original_text(
    tmp_path, feed_server
):
    _publish_one_item(tmp_path, feed_server, 'translate = ["title"]')
    _entries(tmp_path, "en")  # every format valid
    folder = tmp_path / "public" / "en"
    for name in ("feed.xml", "atom.xml"):
        entry = feedparser.parse((folder / name).read_bytes()).entries[0]
        assert entry.title == KEPT_TITLE_EN, name
        assert entry.summary == f'<div lang="fr"><p>{MISSION}</p></div>', name
        body = entry.content[0].value
        assert f'<div lang="fr"><p>{MISSION}</p></div>' in body, name
        assert "Machine-translated from French, except the article text, which is the " in body
    item = assert_valid_json_feed((folder / "feed.json").read_bytes())["items"][0]
    assert item["title"] == KEPT_TITLE_EN
    assert item["content_html"].startswith(f'<div lang="fr"><p>{MISSION}</p></div>')
    assert item["_lingofeed"]["machine_translated"] is True
    # The text cost no model work: only the title reached the model.
    assert _memory_sources(tmp_path) == [KEPT_TITLE]


def test_an_item_with_none_of_the_chosen_fields_is_published_as_written(tmp_path, feed_server):
    """``translate = ["media"]`` on an item without images: nothing to translate, still in the
    feed, as written and marked French, no notice (nothing was machine translated)."""
    _publish_one_item(tmp_path, feed_server, 'translate = ["media"]')
    assert _entries(tmp_path, "en")["rss"] == ["https://upstream.example/kept"]
    item = assert_valid_json_feed((tmp_path / "public" / "en" / "feed.json").read_bytes())
    entry = item["items"][0]
    assert entry["title"] == KEPT_TITLE
    assert entry["content_html"] == f'<div lang="fr"><p>{MISSION}</p></div>'
    assert entry["_lingofeed"]["machine_translated"] is False
    assert _memory_sources(tmp_path) == []
