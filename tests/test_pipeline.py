"""One cycle's translation through the repo's real test model and a real SQLite memory."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from lingofeed.translations.glossary import Glossary
from lingofeed.translations.langdetect import SegmentLanguageDetector
from lingofeed.translations.pipeline import TranslationPipeline
from lingofeed.translations.types import DocField, Document, FieldKind
from tests.strategies import ARTICLE, assert_tokens_kept, assert_well_formed, elements

SEED_FR = (
    "Fermeture le 28/12 du camp de #Tombouctou. Engagés à finaliser le processus de "
    "liquidation dans les délais les plus courts possibles."
)
SEED_EN = (
    "Closure on 28/12 of the #Timbuktu camp. Committed to completing the liquidation process "
    "as quickly as possible."
)
TITLE_EN = "UN peacekeepers leave Mali as MINUSMA ends after ten years"
GLOSSARIES = {("fr", "en"): Glossary({"Tombouctou": "Timbuktu"}, ["MINUSMA"])}


@pytest.fixture
def pipeline(translator, memory) -> TranslationPipeline:
    return TranslationPipeline(translator, memory, glossaries=GLOSSARIES, languages=["fr", "en"])


def article(key: str = "a", language: str | None = "en", **fields: str) -> Document:
    kinds = {name: FieldKind.HTML if name == "content" else FieldKind.TEXT for name in fields}
    return Document(key, {n: DocField(t, kinds[n]) for n, t in fields.items()}, language)


def test_french_caption_in_english_document_is_translated_and_english_title_stays(pipeline):
    document = article(title=TITLE_EN, **{"media.0.caption": SEED_FR})
    [english] = pipeline.translate([document], ["en"])
    assert english.fields == {"title": TITLE_EN, "media.0.caption": SEED_EN}
    assert english.source_language == "en" and english.machine_translated and english.complete


def test_without_a_glossary_the_hashtag_is_kept_as_written(translator, memory):
    plain = TranslationPipeline(translator, memory, languages=["fr", "en"])
    [english] = plain.translate([article(language="fr", caption=SEED_FR)], ["en"])
    assert english.fields["caption"] == SEED_EN.replace("#Timbuktu", "#Tombouctou")


def test_second_run_over_the_same_documents_makes_no_model_call(pipeline, translator):
    documents = [article(title=TITLE_EN, caption=SEED_FR), article("b", "fr", title=SEED_FR)]
    first = pipeline.translate(documents, ["en", "fr"])
    calls = translator.stats.calls
    # en->fr: the title alone (no alignment needed); fr->en: 28/12 and #Tombouctou need one,
    # the second sentence does not.
    assert pipeline.stats.model_calls == 3 and pipeline.stats.sentences_translated == 3
    second = pipeline.translate(documents, ["en", "fr"])
    assert translator.stats.calls == calls
    assert pipeline.stats.model_calls == 0 and pipeline.stats.sentences_translated == 0
    assert pipeline.stats.tm_hits == pipeline.stats.sentences_requested == 3
    assert second == first


def test_a_sentence_shared_by_documents_is_translated_once(pipeline, translator):
    shared = "Le dernier convoi a quitté Gao en décembre."
    documents = [
        article("a", "fr", title=shared),
        article("b", "fr", title="Les derniers Casques bleus ont quitté le pays.", summary=shared),
        article("c", "fr", content=f"<p>{shared}</p>"),
    ]
    segments = translator.stats.segments
    results = pipeline.translate(documents, ["en"])
    assert translator.stats.segments - segments == 2
    assert pipeline.stats.sentences_requested == 2
    assert results[0].fields["title"] == "The last convoy left Gao in December."
    assert results[1].fields["summary"] == "The last convoy left Gao in December."
    assert results[2].fields["content"] == "<p>The last convoy left Gao in December.</p>"


def test_without_deduplication_every_occurrence_goes_to_the_model_with_the_same_result(
    pipeline, translator, memory
):
    shared = "Le dernier convoi a quitté Gao en décembre."
    documents = [article("a", "fr", title=shared, summary=shared), article("b", "fr", title=shared)]
    every = TranslationPipeline(translator, memory, languages=["fr"], deduplicate=False)
    segments = translator.stats.segments
    results = every.translate(documents, ["en"])
    assert translator.stats.segments - segments == 2  # one per document (fields share units)
    assert (every.stats.sentences_requested, every.stats.sentences_translated) == (2, 2)
    assert results == pipeline.translate(documents, ["en"])
    assert pipeline.stats.tm_hits == 1  # the memory holds the sentence once


def test_a_segment_shared_by_documents_is_detected_once_per_fallback(pipeline, monkeypatch):
    asked: list[tuple[str, str]] = []
    detect_many = SegmentLanguageDetector.detect_many

    def recording(self, segments):
        asked.extend(segments)
        return detect_many(self, segments)

    monkeypatch.setattr(SegmentLanguageDetector, "detect_many", recording)
    shared = "Le dernier convoi a quitté Gao en décembre."
    documents = [
        article("a", "fr", title=shared, caption="Gao."),
        article("b", "fr", summary=shared),
        article("c", "en", caption="Gao."),  # too short to tell: each keeps its own fallback
    ]
    results = pipeline.translate(documents, ["en"])
    assert sorted(asked) == [("Gao.", "en"), ("Gao.", "fr"), (shared, "fr")]
    assert results[0].fields["title"] == results[1].fields["summary"] != shared
    assert results[2].fields == {"caption": "Gao."} and not results[2].machine_translated


def test_every_field_gets_its_own_translation(pipeline):
    document = article(
        "a",
        "fr",
        title="La MINUSMA remet le camp de Tombouctou aux autorités maliennes",
        summary="Le dernier convoi a quitté Gao en décembre.",
        content="<p>Les derniers Casques bleus ont quitté le pays.</p>",
        **{"media.0.caption": "Des soldats devant le drapeau des Nations unies."},
    )
    [english] = pipeline.translate([document], ["en"])
    assert english.fields == {
        "title": "MINUSMA hands over the Timbuktu camp to the Malian authorities",
        "summary": "The last convoy left Gao in December.",
        "content": "<p>The last peacekeepers left the country.</p>",
        "media.0.caption": "Soldiers in front of the United Nations flag.",
    }
    assert [d.key for d in pipeline.translate([document, article("b", "fr")], ["en"])] == [
        "a",
        "b",
    ]


def test_a_pair_without_a_model_fails_alone(pipeline):
    document = article("a", "fr", title="Le dernier convoi a quitté Gao en décembre.")
    english, german = pipeline.translate([document], ["en", "de"])
    assert english.complete and english.fields["title"] == "The last convoy left Gao in December."
    assert not german.complete and not german.machine_translated
    assert german.fields["title"] == "Le dernier convoi a quitté Gao en décembre."
    assert "title" in german.problems[0] and "fr->de" in german.problems[0]
    assert pipeline.stats.failed_pairs == 1


@pytest.mark.parametrize("glossary", [None, GLOSSARIES[("fr", "en")]])
def test_a_sentence_of_only_protected_tokens_is_kept_without_a_model_call(
    translator, memory, glossary
):
    # A tiny model handed a lone "#Tombouctou" invents a sentence around it.
    glossaries = {("fr", "en"): glossary} if glossary else {}
    pipeline = TranslationPipeline(translator, memory, glossaries=glossaries, languages=["fr"])
    document = article(
        "a",
        "fr",
        title="#Tombouctou",
        summary="28/12 @minusma.",
        content='<p><a href="https://un.org">https://un.org/r</a> 10:30 !</p>',
    )
    segments = translator.stats.segments
    [english] = pipeline.translate([document], ["en"])
    assert translator.stats.segments == segments and pipeline.stats.sentences_requested == 0
    kept = {name: field.text for name, field in document.fields.items()}
    assert english.fields == {**kept, "title": "#Timbuktu" if glossary else "#Tombouctou"}
    assert english.complete and not english.machine_translated


def test_link_is_kept_around_its_translated_words(pipeline):
    content = '<p>Lire le <a href="https://un.org/r">rapport</a> du Secrétaire général.</p>'
    [english] = pipeline.translate([article("a", "fr", content=content)], ["en"])
    html = english.fields["content"]
    assert html.count("<a ") == 1 and 'href="https://un.org/r"' in html
    assert html.startswith("<p>Read the ") and "of the Secretary-General.</p>" in html
    assert '<a href="https://un.org/r">report</a>' in html


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(markup=ARTICLE)
def test_random_articles_keep_their_markup_through_the_real_model(pipeline, markup):
    [english] = pipeline.translate([article("a", "fr", content=markup)], ["en"])
    html = english.fields["content"]
    if english.machine_translated:
        assert_well_formed(html)
    assert elements(html, ("alt", "title")) == elements(markup, ("alt", "title"))
    assert_tokens_kept(markup, html, GLOSSARIES[("fr", "en")], ("fr", "en"))


def test_a_number_in_french_grouping_is_kept_not_overwritten(pipeline):
    """The en->fr model writes "12 000" for "12,000": a number, not a lost token."""
    english = "More than 12,000 peacekeepers served in Mali at the height of MINUSMA."
    french = "Plus de 12 000 Casques bleus ont servi au Mali au plus fort de la MINUSMA."
    [to_french] = pipeline.translate([article(title=english)], ["fr"])
    [to_english] = pipeline.translate([article(language="fr", title=french)], ["en"])
    assert to_french.fields["title"] == french and to_french.complete
    assert to_english.fields["title"] == english and to_english.complete


class Recording:
    """The real translator, recording which sentences were asked with a word alignment."""

    def __init__(self, inner):
        self.inner = inner
        self.plain: list[str] = []
        self.aligned: list[str] = []

    def translate(self, texts, src, tgt):
        self.plain.extend(texts)
        return self.inner.translate(texts, src, tgt)

    def translate_aligned(self, texts, src, tgt, *, align=True):
        (self.aligned if align else self.plain).extend(texts)
        return self.inner.translate_aligned(texts, src, tgt, align=align)

    def model_id(self, src, tgt):
        return self.inner.model_id(src, tgt)


FLAG = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
FLAG_EN = "The United Nations flag is lowered at the Timbuktu camp."
CONVOY = "Le dernier convoi a quitté Gao en décembre."
CONVOY_EN = "The last convoy left Gao in December."


def test_only_sentences_with_an_element_a_token_or_a_term_are_aligned(translator, memory):
    recording = Recording(translator)
    pipeline = TranslationPipeline(
        recording, memory, glossaries={("fr", "en"): Glossary({"Gao": "Gao city"})}
    )
    closure = "Fermeture le 28/12 du camp."
    market = "Le grand marché de Tombouctou est de nouveau animé."
    content = f'<p>{FLAG} <a href="https://un.org">{market}</a></p><p>{closure}</p>'
    document = article("a", "fr", title=FLAG, summary=CONVOY, content=content)
    [english] = pipeline.translate([document], ["en"])
    assert english.complete and english.fields["title"] == FLAG_EN
    assert english.fields["summary"] == CONVOY_EN.replace("Gao", "Gao city")
    assert sorted(recording.aligned) == sorted([market, closure, CONVOY])
    assert recording.plain == [FLAG]
    assert pipeline.stats.model_calls == 2


def test_a_remembered_sentence_without_alignment_is_aligned_when_an_element_needs_it(
    translator, memory
):
    recording = Recording(translator)
    pipeline = TranslationPipeline(recording, memory, languages=["fr", "en"])
    pipeline.translate([article("a", "fr", title=FLAG)], ["en"])
    assert (recording.plain, recording.aligned) == ([FLAG], [])
    link = '<a href="https://un.org">Tombouctou</a>'
    linked = "<p>" + FLAG.replace("Tombouctou", link) + "</p>"
    [english] = pipeline.translate([article("b", "fr", content=linked)], ["en"])
    expected = FLAG_EN.replace("Timbuktu", '<a href="https://un.org">Timbuktu</a>')
    assert english.fields["content"] == f"<p>{expected}</p>"
    assert recording.aligned == [FLAG]
    again = pipeline.translate([article("c", "fr", content=linked)], ["en"])
    assert again[0].fields == english.fields and recording.aligned == [FLAG]
    assert pipeline.stats.model_calls == 0 and pipeline.stats.tm_hits == 1
