"""Text the model failed on is untranslated, never "done" (issue 11, item 3).

The test model never ends "Le camp de Tombouctou" (it decodes to its cap): the engine keeps the
sentence as written. That used to come back from the pipeline as a translation, so a French
``alt`` was published in the English feed as complete. Here it goes through the pipeline as a
cycle calls it, and through ``lingofeed once`` as an operator runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lingofeed.feeds.store import SqlTranslationMemory
from lingofeed.feeds.types import Article, EntryData, Media
from lingofeed.scheduler.documents import article_document
from lingofeed.translations.engine import ArgosTranslator
from lingofeed.translations.memory import TMKey
from lingofeed.translations.pipeline import TranslationPipeline
from tests.fixtures.models import committed_packages
from tests.fixtures.service import REPO, config_header, lingofeed

#: The test model's output for this never ends (checked below through the engine's own count).
RUNAWAY = "Le camp de Tombouctou"
CAPTION = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
CAPTION_EN = "The United Nations flag is lowered at the Timbuktu camp."
MODEL = "translate-fr_en-lingofeed_test@1.0"


def _article(alt: str, content: str | None = None) -> Article:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    data = EntryData(
        upstream_id="camp",
        title=CAPTION,
        content=content,
        media=(Media("https://example.org/camp.jpg", caption=CAPTION, alt=alt),),
        language="fr",
    )
    return Article("wire", data, data.content_hash(), now, now)


def _pipeline(translator: ArgosTranslator, memory: SqlTranslationMemory) -> TranslationPipeline:
    return TranslationPipeline(translator, memory, languages=["fr", "en"])


def test_a_runaway_alt_makes_the_item_incomplete_and_is_not_remembered(
    translator: ArgosTranslator, memory: SqlTranslationMemory
) -> None:
    pipeline = _pipeline(translator, memory)
    [result] = pipeline.translate([article_document(_article(RUNAWAY))], ["en"])
    assert translator.stats.runaway == 1
    assert result.fields["title"] == CAPTION_EN
    assert not result.complete
    [problem] = result.problems
    assert problem.startswith("media.0.alt: ") and repr(RUNAWAY) in problem and MODEL in problem
    assert memory.get_many([TMKey(RUNAWAY, "fr", "en", MODEL)]) == {}
    assert TMKey(CAPTION, "fr", "en", MODEL) in memory.get_many([TMKey(CAPTION, "fr", "en", MODEL)])
    # Not remembered, so the next cycle asks the model again (a better model may succeed).
    [again] = pipeline.translate([article_document(_article(RUNAWAY))], ["en"])
    assert not again.complete and translator.stats.runaway == 2


def test_a_runaway_sentence_that_needs_an_alignment_is_a_problem_too(
    translator: ArgosTranslator, memory: SqlTranslationMemory
) -> None:
    content = f"<p>{RUNAWAY.replace('camp', '<b>camp</b>')}</p>"
    pipeline = _pipeline(translator, memory)
    [result] = pipeline.translate([article_document(_article(CAPTION, content))], ["en"])
    assert translator.stats.runaway == 1
    assert [problem.split(": ")[0] for problem in result.problems] == ["content"]
    assert memory.get_many([TMKey(RUNAWAY, "fr", "en", MODEL)]) == {}


def test_a_lone_name_the_model_cannot_end_is_kept_as_written_and_complete(
    translator: ArgosTranslator, memory: SqlTranslationMemory
) -> None:
    """ "Gao" runs away too, but a name is its own translation: not a failure."""
    [result] = _pipeline(translator, memory).translate([article_document(_article("Gao"))], ["en"])
    assert translator.stats.runaway == 1
    assert result.complete, result.problems
    assert result.fields["media.0.alt"] == "Gao"


ALT = "Des soldats devant le drapeau des Nations unies."


def _once_folder(folder: Path, samples: dict[str, str], language: str = "fr") -> Path:
    """A config with one file source of ``language`` (``samples`` maps sample articles to
    file names) and English and French as the targets, the models installed."""
    (folder / "articles").mkdir()
    for sample, name in samples.items():
        shutil.copy(REPO / "config" / "sample" / "articles" / sample, folder / "articles" / name)
    config = folder / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/") + "\n[languages.en]\n\n[languages.fr]\n\n"
        f'[[sources]]\nid = "articles"\ndirectory = "articles"\nlanguage = "{language}"\n',
        encoding="utf-8",
    )
    for package in committed_packages().values():
        installed = lingofeed(
            "--config", str(config), "models", "install", str(package), cwd=folder
        )
        assert installed.returncode == 0, installed.stderr
    return config


def _set_alt(folder: Path, old: str, new: str, name: str = "camp.md") -> None:
    camp = folder / "articles" / name
    text = camp.read_text(encoding="utf-8")
    assert f"alt: {old}\n" in text
    camp.write_text(text.replace(f"alt: {old}\n", f"alt: {new}\n"), encoding="utf-8")


def _once_fails_on_the_alt(config: Path, item: str = "tombouctou-camp-remis") -> None:
    """``lingofeed once`` asks the model, which runs away; exit 1 with the field and why."""
    done = lingofeed("--config", str(config), "once", cwd=config.parent)
    assert done.returncode == 1, done.stderr
    why = f"media.0.alt: {MODEL} gave no translation of {RUNAWAY!r} (its output ran away)"
    assert f"lingofeed: source 'articles': en: 1 item not translated: {why}" in done.stderr
    assert f"event=translation-failed item={item}" in done.stderr
    assert f"kept as written: {RUNAWAY!r}" in done.stderr


def _json_items(folder: Path) -> dict[str, dict[str, Any]]:
    feed = (folder / "public" / "en" / "feed.json").read_text(encoding="utf-8")
    assert RUNAWAY not in feed
    return {item["url"].rsplit("/", 1)[1]: item for item in json.loads(feed)["items"]}


def _remembered(database: Path, source: str) -> int:
    with sqlite3.connect(database) as conn:
        query = "SELECT count(*) FROM translation_memory WHERE source = ?"
        count: int = conn.execute(query, (source,)).fetchone()[0]
    return count


def test_once_reports_a_runaway_alt_as_untranslated_and_never_publishes_it(
    tmp_path: Path,
) -> None:
    samples = {"tombouctou-marche.md": "marche.md", "tombouctou-camp-remis.md": "camp.md"}
    config = _once_folder(tmp_path, samples)
    _set_alt(tmp_path, ALT, RUNAWAY)
    _once_fails_on_the_alt(config)
    status = lingofeed("--config", str(config), "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    [row] = [line for line in status.stdout.splitlines() if line.startswith("en ")]
    # language, items, untranslated, failed, ..., error
    assert re.match(r"en +1 +1 +1 ", row), status.stdout
    assert f"media.0.alt: {MODEL} gave no translation of {RUNAWAY!r}" in row
    assert list(_json_items(tmp_path)) == ["tombouctou-marche"]
    database = tmp_path / "data" / "lingofeed.sqlite"
    assert _remembered(database, RUNAWAY) == 0
    assert _remembered(database, "Un marché sous le soleil.") == 1

    # Upstream fixes the alt: translated and published, not failed.
    _set_alt(tmp_path, RUNAWAY, ALT)
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    camp = _json_items(tmp_path)["tombouctou-camp-remis"]
    assert camp["_lingofeed"]["machine_translated"] is True
    assert camp["_lingofeed"]["translation_failed"] is False
    good_title = camp["title"]

    # An edit brings the runaway back: the model is asked again (nothing remembered), the
    # last good translation stays, marked as no longer current.
    _set_alt(tmp_path, ALT, RUNAWAY)
    _once_fails_on_the_alt(config)
    items = _json_items(tmp_path)
    assert items["tombouctou-camp-remis"]["title"] == good_title
    assert items["tombouctou-camp-remis"]["_lingofeed"]["translation_failed"] is True
    assert items["tombouctou-marche"]["_lingofeed"]["translation_failed"] is False
    assert _remembered(database, RUNAWAY) == 0


def test_an_english_article_whose_french_alt_failed_is_shown_as_written_and_marked(
    tmp_path: Path,
) -> None:
    """An original in the feed's own language is shown as written; its quoted French passage
    could not be translated, so it says so instead of being a plain original."""
    config = _once_folder(tmp_path, {"minusma-mission-ends.md": "ends.md"}, language="auto")
    _set_alt(tmp_path, "Peacekeepers at the gate of the Timbuktu camp.", RUNAWAY, "ends.md")
    _once_fails_on_the_alt(config, item="minusma-mission-ends")
    [item] = json.loads((tmp_path / "public" / "en" / "feed.json").read_bytes())["items"]
    assert item["_lingofeed"]["translation_failed"] is True
    assert item["_lingofeed"]["machine_translated"] is False
