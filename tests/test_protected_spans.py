"""What is not words survives translation: emoji, symbols, bidi marks, runs in another script,
markup shown as text, credits and acronyms, through the pipeline and the real test model.

Inputs are corpus sentences plus the span under test: the model never sees an aside, so it
gives the corpus translation and the aside comes back in place.
"""

from __future__ import annotations

import pytest

from lingofeed.translations.pipeline import TranslationPipeline
from lingofeed.translations.types import DocField, Document, FieldKind

CONVOY = "Le dernier convoi a quitté Gao en décembre."
CONVOY_EN = "The last convoy left Gao in December."
SEED_FR = (
    "Fermeture le 28/12 du camp de #Tombouctou. Engagés à finaliser le processus de "
    "liquidation dans les délais les plus courts possibles."
)
#: Without a glossary the hashtag stays as written.
SEED_EN = (
    "Closure on 28/12 of the #Tombouctou camp. Committed to completing the liquidation process "
    "as quickly as possible."
)


@pytest.fixture
def pipeline(translator, memory) -> TranslationPipeline:
    return TranslationPipeline(translator, memory, languages=["fr", "en"])


def translated(pipeline: TranslationPipeline, text: str, kind: FieldKind = FieldKind.TEXT) -> str:
    document = Document("a", {"field": DocField(text, kind)}, "fr")
    [english] = pipeline.translate([document], ["en"])
    assert english.complete, english.problems
    return english.fields["field"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (f"{CONVOY} 🎉", f"{CONVOY_EN} 🎉"),
        (
            "Le dernier convoi 🌍 a quitté Gao en décembre.",
            "The last convoy 🌍 left Gao in December.",
        ),
        (
            "Le dernier convoi a quitté Gao en décembre 👏🏽.",
            "The last convoy left Gao in December 👏🏽.",
        ),
        (f"{CONVOY}👩\u200d👩\u200d👧", f"{CONVOY_EN}👩\u200d👩\u200d👧"),
        (f"© {CONVOY}", f"© {CONVOY_EN}"),
        (
            "Le dernier convoi a quitté \u200fGao\u200e en décembre.",
            "The last convoy left \u200fGao\u200e in December.",
        ),
        (f"{CONVOY} مرحبا بكم", f"{CONVOY_EN} مرحبا بكم"),
        (f"{SEED_FR} (Credit: UNMINUSMA)", f"{SEED_EN} (Credit: UNMINUSMA)"),
    ],
)
def test_emoji_symbols_bidi_marks_other_scripts_and_credits_come_back_in_place(
    pipeline, source, expected
):
    assert translated(pipeline, source) == expected


def test_escaped_markup_stays_text_and_is_not_lost(pipeline):
    markup = f"<p>&lt;script&gt;alert(1)&lt;/script&gt; {CONVOY} ]]&gt; &amp;</p>"
    html = translated(pipeline, markup, FieldKind.HTML)
    assert html == f"<p>&lt;script&gt;alert(1)&lt;/script&gt; {CONVOY_EN} ]]&gt; &amp;</p>"


def test_the_model_never_sees_an_aside(translator, memory):
    seen: list[str] = []

    class Recording:
        def translate(self, texts, src, tgt):
            seen.extend(texts)
            return translator.translate(texts, src, tgt)

        def translate_aligned(self, texts, src, tgt, *, align=True):
            seen.extend(texts)
            return translator.translate_aligned(texts, src, tgt, align=align)

        def model_id(self, src, tgt):
            return translator.model_id(src, tgt)

    pipeline = TranslationPipeline(Recording(), memory, languages=["fr", "en"])
    assert translated(pipeline, f"🎉 {CONVOY} (Crédit : MINUSMA) 🎉 ©") == (
        f"🎉 {CONVOY_EN} (Crédit : MINUSMA) 🎉 ©"
    )
    assert seen == [CONVOY]


def test_a_caption_of_only_asides_and_acronyms_is_kept_without_the_model(pipeline, translator):
    segments = translator.stats.segments
    assert translated(pipeline, "UNICEF 🎉 (Credit: UNMINUSMA)") == "UNICEF 🎉 (Credit: UNMINUSMA)"
    assert translator.stats.segments == segments


def test_acronyms_survive_and_may_become_the_target_languages_acronym(pipeline):
    assert translated(pipeline, "L'UNICEF soutient les écoles de la région.") == (
        "UNICEF supports the schools of the region."
    )
    assert translated(
        pipeline, "Les Casques bleus de l'ONU quittent le Mali à la fin de la MINUSMA après dix ans"
    ) == ("UN peacekeepers leave Mali as MINUSMA ends after ten years")


def test_a_number_the_target_language_would_misread_is_written_in_its_form(pipeline):
    # The en->fr model copies 5,100 as written; in French that reads 5.1.
    document = Document("a", {"title": DocField("The floods affected 5,100 people.")}, "en")
    [french] = pipeline.translate([document], ["fr"])
    assert french.fields["title"] == "Les inondations ont touché 5\u202f100 personnes."
    assert french.complete


def test_a_number_without_ambiguity_is_left_as_written(pipeline):
    assert translated(pipeline, "La chaleur dépasse souvent 45,5 degrés en mai.") == (
        "The heat often exceeds 45,5 degrees in May."
    )


def test_an_element_ends_where_its_words_end(pipeline):
    # The attention pulls "supports the ... the" to "L'UNICEF"; the copy of UNICEF wins.
    markup = '<p>L\'<abbr title="UNICEF">UNICEF</abbr> soutient les écoles de la région.</p>'
    assert translated(pipeline, markup, FieldKind.HTML) == (
        '<p><abbr title="UNICEF">UNICEF</abbr> supports the schools of the region.</p>'
    )


def test_a_link_whose_text_is_a_url_leaves_the_full_stop_outside(pipeline):
    markup = '<p>Lire le <a href="https://un.org/">https://un.org/</a>.</p>'
    html = translated(pipeline, markup, FieldKind.HTML)
    assert html.endswith('<a href="https://un.org/">https://un.org/</a>.</p>')
