"""Text the model failed on is untranslated, never "done" (issue 11, item 3).

The test model never ends "Le camp de Tombouctou" (it decodes to its cap): the engine keeps the
sentence as written. That used to come back from the pipeline as a translation, so a French
``alt`` was published in the English feed as complete. Here it goes through the pipeline as a
cycle calls it, and through ``lingofeed once`` as an operator runs it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lingofeed.feeds.store import SqlTranslationMemory
from lingofeed.feeds.types import Article, EntryData, Media
from lingofeed.scheduler.documents import article_document
from lingofeed.translations.engine import ArgosTranslator
from lingofeed.translations.memory import TMKey
from lingofeed.translations.pipeline import TranslationPipeline

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
