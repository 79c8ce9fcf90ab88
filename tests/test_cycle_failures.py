"""Translation failures through the real ``lingofeed once``/``status`` and the real model.

A target language without a model never reports success, yet the other languages publish; an
upstream edit that cannot be translated (its model was removed) leaves the last good
translation in the feed — never the untranslated edit, never an empty feed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lingofeed.feeds.store import TranslationRecord, TranslationStatus
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.translations.testmodel import read_corpus
from tests.feedrules import assert_valid_json_feed
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import lingofeed, make_service_folder

EN = dict(read_corpus())
FLAG = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
TRADERS = "Les commerçants vendent du sel, du riz et des tissus."
MARKET = "Le grand marché de Tombouctou est de nouveau animé."


def _wire(title: str, summary: str | None = None) -> str:
    description = f"<description>{summary}</description>" if summary else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>{title}</title>{description}<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""


def _items(public: Path, language: str) -> dict[str, dict[str, Any]]:
    data = (public / language / "feed.json").read_bytes()
    assert_valid_json_feed(data)
    return {item["url"]: item for item in json.loads(data)["items"]}


def test_a_language_without_a_model_fails_loudly_and_the_others_publish(
    feed_server: FeedServer, tmp_path: Path
):
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _wire(FLAG)))
    with config.open("a", encoding="utf-8") as file:
        file.write('\n[languages.de]\ntitle = "Nachrichten"\n')
    run = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "lingofeed: source 'wire': de: 1 item not translated:" in run.stderr
    assert "lingofeed: source 'articles': de: 3 items not translated:" in run.stderr
    assert "no installed model translates fr to de" in run.stderr
    public = tmp_path / "public"
    assert len(_items(public, "en")) == 4 and len(_items(public, "fr")) == 4
    assert _items(public, "de") == {}
    status = lingofeed("--config", str(config), "status", cwd=tmp_path)
    [row] = [line for line in status.stdout.splitlines() if line.startswith("de ")]
    assert row.split()[1:4] == ["0", "4", "4"], row  # items, untranslated, failed
    assert "no installed model translates" in row


def test_an_edit_that_cannot_be_translated_keeps_the_last_translation_published(
    feed_server: FeedServer, tmp_path: Path
):
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _wire(FLAG)))
    first = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    public = tmp_path / "public"
    before = _items(public, "en")
    assert before["https://wire.example.org/1"]["title"] == EN[FLAG]

    removed = lingofeed("--config", str(config), "models", "remove", "fr", "en", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    feed_server.add("/wire.xml", _wire(TRADERS, summary=MARKET))  # upstream edits the item
    second = lingofeed("--config", str(config), "once", cwd=tmp_path)

    assert second.returncode == 1, second.stderr
    assert "lingofeed: source 'wire': en: 1 item not translated:" in second.stderr
    after = _items(public, "en")
    assert after.keys() == before.keys()  # nothing vanished from the English feed
    wire = after["https://wire.example.org/1"]
    # The last good translation, unchanged, marked as no longer current.
    assert wire["_lingofeed"].pop("translation_failed") is True
    assert before["https://wire.example.org/1"]["_lingofeed"].pop("translation_failed") is False
    assert wire == before["https://wire.example.org/1"]
    assert TRADERS not in json.dumps(after, ensure_ascii=False)
    assert MARKET not in json.dumps(after, ensure_ascii=False)
    # French readers see the edit: it is their language
    assert _items(public, "fr")["https://wire.example.org/1"]["title"] == TRADERS


def _lone_word_cycle(server: FeedServer, folder: Path) -> dict[str, TranslationRecord | None]:
    """One cycle over a wire feed of a known sentence and an item titled just "x"."""
    wire = _wire(FLAG).replace(
        "</channel>",
        "<item><guid>https://wire.example.org/2</guid><title>x</title>"
        "<pubDate>Mon, 15 Jan 2024 09:00:00 GMT</pubDate></item></channel>",
    )
    config = make_service_folder(folder, server.add("/wire.xml", wire))
    settings = load_settings(config)
    with open_runtime(settings) as runtime:
        run_cycle(runtime.context(settings))
        return {
            url: runtime.storage.get_translation("wire", url, "en")
            for url in ("https://wire.example.org/1", "https://wire.example.org/2")
        }


def test_a_lone_unknown_word_is_translated_anyway(feed_server: FeedServer, tmp_path: Path):
    """The model never ends a translation of "x": decoding is capped and the word kept as is."""
    good, lone = _lone_word_cycle(feed_server, tmp_path).values()
    assert good is not None and good.status is TranslationStatus.DONE
    assert good.fields["title"] == EN[FLAG]
    assert lone is not None and lone.status is TranslationStatus.DONE, lone
    assert lone.fields["title"] == "x"
