"""End to end: the real ``lingofeed once`` on two sources and two languages, with the real model,
on SQLite and on PostgreSQL.

Two sources (an RSS feed served on 127.0.0.1 and the sample article directory), targets en and
fr, the repo's own small Argos model. Expected texts come from the model's training corpus,
which it reproduces exactly: a wrong language pair, a lost segment or a stale translation shows
up as a different string.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from lingofeed.translations.testmodel import read_corpus
from tests.feedrules import assert_valid_atom, assert_valid_json_feed, assert_valid_rss
from tests.fixtures.feeds import FeedServer
from tests.fixtures.postgres import DATABASES, PostgresCluster
from tests.fixtures.service import REPO, TEST_PACKAGES, lingofeed, make_service_folder

WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil d'actualites</description><language>fr</language>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>Le drapeau des Nations unies est descendu au camp de Tombouctou.</title>
<description>Les commer&#231;ants vendent du sel, du riz et des tissus.</description>
<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""

EN = dict(read_corpus())
FR = {english: french for french, english in EN.items()}
ENGLISH_TITLE = "UN peacekeepers leave Mali as MINUSMA ends after ten years"
FRENCH_CAPTION = (
    "Fermeture le 28/12 du camp de #Tombouctou. Engagés à finaliser le processus de "
    "liquidation dans les délais les plus courts possibles."
)


@dataclass(frozen=True)
class Published:
    public: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    before_second: dict[str, tuple[int, bytes]]


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _model_calls(stderr: str) -> int:
    return sum(int(n) for n in re.findall(r"event=cycle-usage .*?model_calls=(\d+)", stderr))


@pytest.fixture(scope="module", params=DATABASES)
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Published]:
    """``lingofeed once`` twice on one folder (the upstream feed answers 304 the second time),
    with the default SQLite database, then with ``database_url`` on PostgreSQL."""
    server = FeedServer()
    with ExitStack() as stack:
        stack.callback(server.close)
        database_url = None
        if request.param == "postgresql":
            cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
            database_url = stack.enter_context(cluster.database())
        folder = tmp_path_factory.mktemp("e2e")
        wire = server.add("/wire.xml", WIRE, etag='"v1"')
        config = make_service_folder(folder, wire, database_url=database_url)
        first = lingofeed("--config", str(config), "once", cwd=folder)
        assert first.returncode == 0, first.stderr
        before = _files(folder / "public")
        second = lingofeed("--config", str(config), "once", cwd=folder)
        yield Published(folder / "public", first, second, before)


def _json_items(published: Published, language: str) -> dict[str, dict[str, Any]]:
    feed = json.loads((published.public / language / "feed.json").read_bytes())
    return {item["title"]: item for item in feed["items"]}


def _captions(item: dict[str, Any]) -> list[str]:
    return [attachment.get("title") for attachment in item.get("attachments", [])]


def test_every_language_publishes_valid_rss_atom_and_json(published):
    for language in ("en", "fr"):
        folder = published.public / language
        for check, name in (
            (assert_valid_rss, "feed.xml"),
            (assert_valid_atom, "atom.xml"),
            (assert_valid_json_feed, "feed.json"),
        ):
            check((folder / name).read_bytes())
        # two sources: three sample articles and one wire item
        assert len(_json_items(published, language)) == 4, language


def test_french_items_carry_the_models_english(published):
    english = _json_items(published, "en")
    wire = english[EN["Le drapeau des Nations unies est descendu au camp de Tombouctou."]]
    assert wire["summary"] == EN["Les commerçants vendent du sel, du riz et des tissus."]
    market = english["In Timbuktu, the great market comes back to life"]
    assert _captions(market) == [
        EN["Des commerçants installent leurs étals au grand marché de Tombouctou."]
    ]
    assert 'class="lingofeed-notice"' in market["content_html"]


def test_english_article_is_translated_into_french_and_keeps_its_french_caption(published):
    french = _json_items(published, "fr")
    article = french[FR[ENGLISH_TITLE]]
    assert FR["The last peacekeepers left the country."] in article["summary"]
    assert _captions(article) == [FRENCH_CAPTION]
    # the French originals are shown as written
    assert "La MINUSMA remet le camp de Tombouctou aux autorités maliennes" in french


def test_first_run_calls_the_model_and_a_second_changes_no_file_and_calls_none(published):
    assert _model_calls(published.first.stderr) > 0
    assert published.second.returncode == 0, published.second.stderr
    assert _files(published.public) == published.before_second
    assert _model_calls(published.second.stderr) == 0
    assert re.search(r"source=wire .*event=fetched status=304", published.second.stderr)


def test_english_article_shows_its_french_caption_in_english(published):
    """The English article is in the en feed as written, except its French caption."""
    english = _json_items(published, "en")
    caption = _captions(english[ENGLISH_TITLE])
    assert caption == [EN[FRENCH_CAPTION]]


def test_english_article_in_the_english_feed_says_only_some_passages_were_translated(published):
    english = _json_items(published, "en")
    article = english[ENGLISH_TITLE]
    assert "Some passages were machine translated. Read the original:" in article["content_html"]
    assert "from English" not in article["content_html"]
    assert article["_lingofeed"]["partly_machine_translated"] is True
    market = english["In Timbuktu, the great market comes back to life"]
    assert "Machine-translated from French." in market["content_html"]
    assert market["_lingofeed"]["partly_machine_translated"] is False


def test_the_demo_config_tells_readers_truthfully_what_was_translated(tmp_path):
    """The README's demo: copy config/, install the models, ``once``, read en/atom.xml."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    config = str(tmp_path / "config" / "example.toml")
    for package in sorted(TEST_PACKAGES.glob("*.argosmodel")):
        installed = lingofeed("--config", config, "models", "install", str(package), cwd=tmp_path)
        assert installed.returncode == 0, installed.stderr
    done = lingofeed("--config", config, "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    atom = feedparser.parse((tmp_path / "var" / "public" / "en" / "atom.xml").read_bytes())
    bodies = {entry.title: entry.content[0].value for entry in atom.entries}
    assert "Some passages were machine translated." in bodies[ENGLISH_TITLE]
    assert "Machine translated from English." not in bodies[ENGLISH_TITLE]
    market = bodies["In Timbuktu, the great market comes back to life"]
    assert "Machine translated from French." in market
