"""Per-segment language detection: confident segments are detected, the rest keep the fallback."""

from __future__ import annotations

import pytest

from lingofeed.translations.langdetect import (
    DetectionSettings,
    SegmentLanguageDetector,
    detect_language,
)

SEED_CAPTION = (
    "Fermeture le 28/12 du camp de #Tombouctou. Engagés à finaliser le processus de "
    "liquidation dans les délais les plus courts possibles."
)


def test_french_seed_caption_inside_an_english_article_is_french() -> None:
    assert detect_language(SEED_CAPTION, ["en", "fr", "de"], fallback="en") == "fr"


def test_each_seed_caption_sentence_is_french() -> None:
    for sentence in ("Fermeture le 28/12 du camp de #Tombouctou.", SEED_CAPTION.split(". ")[1]):
        assert detect_language(sentence, ["en", "fr"], fallback="en") == "fr"


def test_english_sentence_in_a_french_article_is_english() -> None:
    text = "The United Nations mission in Mali ended on 31 December after ten years."
    assert detect_language(text, ["fr", "en"], fallback="fr") == "en"


@pytest.mark.parametrize(
    "text",
    [
        "MINUSMA 2023",
        "#Tombouctou #Gao",
        "Bamako",
        "28/12/2023 14:00",
        "https://un.org/fr/a.b",
        "",
        "  ",
    ],
)
def test_names_numbers_and_hashtags_keep_the_articles_language(text: str) -> None:
    assert detect_language(text, ["en", "fr", "de"], fallback="en") == "en"
    assert detect_language(text, ["en", "fr", "de"], fallback="fr") == "fr"


def test_low_confidence_keeps_the_fallback() -> None:
    strict = SegmentLanguageDetector(["fr", "en"], DetectionSettings(min_confidence=0.999999))
    assert strict.detect("The camp closed today.", fallback="fr") == "fr"
    assert SegmentLanguageDetector(["fr", "en"]).detect("The camp closed today.", "fr") == "en"


def test_returns_the_callers_tag_for_regional_variants() -> None:
    text = "O acampamento foi entregue às autoridades do Mali no fim de dezembro."
    assert detect_language(text, ["pt-BR", "en"], fallback="en") == "pt-BR"


def test_unknown_or_single_languages_always_fall_back() -> None:
    assert detect_language(SEED_CAPTION, ["xx"], fallback="en") == "en"
    assert detect_language(SEED_CAPTION, [], fallback="en") == "en"


def test_detecting_a_batch_gives_each_segment_what_detecting_it_alone_gives() -> None:
    detector = SegmentLanguageDetector(["fr", "en"])
    segments = [
        (SEED_CAPTION, "en"),
        ("The United Nations mission in Mali ended after ten years.", "fr"),
        ("MINUSMA 2023", "fr"),
        ("", "en"),
        ("Le camp a été remis aux autorités maliennes.", "fr"),
    ]
    assert detector.detect_many(segments) == ["fr", "en", "fr", "en", "fr"]
    assert detector.detect_many(segments) == [detector.detect(t, f) for t, f in segments]
    assert detector.detect_many([]) == []
    assert SegmentLanguageDetector(["fr"]).detect_many(segments[:2]) == ["en", "fr"]
