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


def _once_folder(folder: Path) -> Path:
    """A config with one French file source (two sample articles, one of whose ``alt`` the
    test model cannot translate) and English as the target; the models installed."""
    samples = REPO / "config" / "sample" / "articles"
    (folder / "articles").mkdir()
    shutil.copy(samples / "tombouctou-marche.md", folder / "articles")
    camp = (samples / "tombouctou-camp-remis.md").read_text(encoding="utf-8")
    alt = "alt: Des soldats devant le drapeau des Nations unies."
    assert alt in camp
    (folder / "articles" / "camp.md").write_text(
        camp.replace(alt, f"alt: {RUNAWAY}"), encoding="utf-8"
    )
    config = folder / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/")
        + '\n[languages.en]\n\n[[sources]]\nid = "articles"\ndirectory = "articles"\n'
        'language = "fr"\n',
        encoding="utf-8",
    )
    for package in committed_packages().values():
        installed = lingofeed(
            "--config", str(config), "models", "install", str(package), cwd=folder
        )
        assert installed.returncode == 0, installed.stderr
    return config


def _remembered(database: Path, source: str) -> int:
    with sqlite3.connect(database) as conn:
        query = "SELECT count(*) FROM translation_memory WHERE source = ?"
        count: int = conn.execute(query, (source,)).fetchone()[0]
    return count


def test_once_reports_a_runaway_alt_as_untranslated_and_publishes_only_the_rest(
    tmp_path: Path,
) -> None:
    config = _once_folder(tmp_path)
    why = f"media.0.alt: {MODEL} gave no translation of {RUNAWAY!r} (its output ran away)"
    for _attempt in range(2):  # never remembered: the second run asks the model again
        done = lingofeed("--config", str(config), "once", cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert f"lingofeed: source 'articles': en: 1 item not translated: {why}" in done.stderr
        assert "event=translation-failed" in done.stderr and "tombouctou-camp-remis" in done.stderr
        assert f"output ran away (no end, or absurdly long); kept as written: {RUNAWAY!r}" in (
            done.stderr
        )

    status = lingofeed("--config", str(config), "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    [row] = [line for line in status.stdout.splitlines() if line.startswith("en ")]
    # language, items, untranslated, failed, ..., error
    assert re.match(r"en +1 +1 +1 ", row), status.stdout
    assert why in row

    feed = json.loads((tmp_path / "public" / "en" / "feed.json").read_text(encoding="utf-8"))
    [item] = feed["items"]
    assert item["url"].endswith("/tombouctou-marche")
    assert item["_lingofeed"]["machine_translated"] is True
    assert RUNAWAY not in json.dumps(feed, ensure_ascii=False)

    database = tmp_path / "data" / "lingofeed.sqlite"
    assert _remembered(database, RUNAWAY) == 0
    assert _remembered(database, "Un marché sous le soleil.") == 1
