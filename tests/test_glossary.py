"""Glossary terms and protected tokens, enforced on model output through the alignment.

Pure-logic tests feed hand-written model outputs (with the alignment a model would give) to
``enforce``; the end-to-end tests through the repo's real model live in ``test_pipeline.py``.
"""

from __future__ import annotations

import pytest

from lingofeed.translations.glossary import (
    Glossary,
    enforce,
    has_words_to_translate,
    protected_tokens,
)
from lingofeed.translations.types import AlignedTranslation


def out(text: str, *pairs: tuple[int, int]) -> AlignedTranslation:
    """A model output with its word alignment (source word, target word)."""
    return AlignedTranslation(text, tuple(pairs))


def enforced_text(source: str, translation: AlignedTranslation, glossary: Glossary | None) -> str:
    result = enforce(source, translation, glossary)
    assert result.problems == ()
    return " ".join(slot for slot in result.slots if slot)


TIMBUKTU = Glossary({"Tombouctou": "Timbuktu", "Nations unies": "United Nations"}, ["MINUSMA"])


def test_term_replaces_the_aligned_target_word_keeping_punctuation():
    source = "Le camp est à Tombouctou, dit-il."
    model = out("The camp is in Tombuctu, he said.", (0, 0), (1, 1), (2, 2), (3, 3), (4, 4))
    assert enforced_text(source, model, TIMBUKTU) == "The camp is in Timbuktu, he said."


def test_term_inside_a_hashtag_keeps_the_hash():
    source = "Fermeture du camp de #Tombouctou."
    model = AlignedTranslation.unchanged("Closure of camp of #Tombouctou.")
    assert enforced_text(source, model, TIMBUKTU) == "Closure of camp of #Timbuktu."


def test_term_the_model_already_got_right_is_left_alone():
    source = "Le camp de Tombouctou."
    model = out("The Timbuktu camp.", (0, 0), (1, 2), (3, 1))
    assert enforced_text(source, model, TIMBUKTU) == "The Timbuktu camp."


def test_term_matches_whole_words_only():
    source = "Les Tombouctous arrivent."
    model = AlignedTranslation.unchanged("The Tombouctous arrive.")
    assert enforced_text(source, model, TIMBUKTU) == "The Tombouctous arrive."


def test_term_matching_is_case_sensitive_by_default():
    source = "tombouctou est loin."
    model = AlignedTranslation.unchanged("tombouctou is far.")
    assert enforced_text(source, model, TIMBUKTU) == "tombouctou is far."
    loose = Glossary({"Tombouctou": "Timbuktu"}, case_sensitive=False)
    assert enforced_text(source, model, loose) == "Timbuktu is far."


def test_multi_word_term_replaces_all_its_aligned_words():
    source = "Les Nations unies partent."
    model = out("The Nations united leave.", (0, 0), (1, 1), (2, 2), (3, 3))
    assert enforced_text(source, model, TIMBUKTU) == "The United Nations leave."


def test_protected_term_is_restored_over_its_aligned_word():
    source = "La MINUSMA part."
    model = out("The MINUSA leaves.", (0, 0), (1, 1), (2, 2))
    assert enforced_text(source, model, TIMBUKTU) == "The MINUSMA leaves."


def test_unaligned_term_replaces_a_verbatim_copy():
    source = "Un vol relie Bamako à Tombouctou."
    model = out("One flight links Bamako to Tombouctou.")
    assert enforced_text(source, model, TIMBUKTU) == "One flight links Bamako to Timbuktu."


@pytest.mark.parametrize(
    ("source", "model", "expected"),
    [
        ("Le 28/12 au camp.", "On 28.12 at camp.", "On 28/12 at camp."),
        ("Il mesure 3,5 m.", "It measures 3.5 m.", "It measures 3,5 m."),
        (
            "Voir https://ex.org/a?b=1 ici.",
            "See https://ex.org/a ici.",
            "See https://ex.org/a?b=1 ici.",
        ),
        (
            "Écrire à info@ex.org demain.",
            "Write to info@ex demain.",
            "Write to info@ex.org demain.",
        ),
        ("Merci @minusma pour tout.", "Thanks @minusm for all.", "Thanks @minusma for all."),
    ],
)
def test_altered_protected_token_is_restored_from_the_source(source, model, expected):
    assert enforced_text(source, AlignedTranslation.unchanged(model), None) == expected


def test_lost_protected_token_without_alignment_is_a_problem():
    result = enforce("Le 28/12 au camp.", out("At the camp."), None)
    assert result.problems and "28/12" in result.problems[0]


def test_a_number_inside_a_longer_number_does_not_count_as_kept():
    # The model wrote 28/13/2023: "2023" is part of another token, not a copy of it.
    source = "2023 autorités 28/12 10:30!"
    model = out("The process began on 28/13/2023.", (2, 0), (1, 1), (3, 3), (3, 4))
    result = enforce(source, model, None)
    assert result.problems and "'2023'" in result.problems[0]


def test_a_term_falling_back_onto_a_restored_url_goes_beside_it():
    # Every target word is aligned to the URL, so the URL is restored over all of them; the
    # unaligned term's proportional position is that same word: the URL must survive.
    source = "Tombouctou de https://example.org/a?b=1."
    model = out("The mobile network 12/02.", (2, 0), (2, 1), (2, 2), (2, 3))
    assert enforced_text(source, model, TIMBUKTU) == "Timbuktu https://example.org/a?b=1."


def test_two_tokens_aligned_to_one_word_are_both_kept():
    model = out("The meeting.", (0, 1), (1, 1))  # both tokens on "meeting."
    assert enforced_text("28/12 @minusma", model, None) == "The 28/12 @minusma."


def test_a_protected_term_never_overwrites_a_rewritten_hashtag():
    # "Barkhane", not "MINUSMA": an acronym is a protected token, restored only where aligned.
    glossary = Glossary({"Tombouctou": "Timbuktu"}, ["Barkhane"])
    model = out("Closure November.", (1, 0), (1, 1))
    assert enforced_text("Barkhane #Tombouctou", model, glossary) == "Barkhane #Timbuktu."


def test_an_acronym_translated_into_another_acronym_is_not_lost():
    model = out("Les Casques bleus de l'ONU.", (0, 4), (1, 2))
    assert enforced_text("UN peacekeepers.", model, None) == "Les Casques bleus de l'ONU."


def test_a_lost_acronym_is_restored_over_its_aligned_word():
    model = out("The Fund supports schools.", (0, 0), (0, 1), (1, 2), (2, 3))
    assert enforced_text("UNICEF soutient écoles.", model, None) == "UNICEF supports schools."


def test_capitals_of_an_all_caps_headline_are_words_not_acronyms():
    assert has_words_to_translate("LE CAMP FERME")
    assert enforced_text("LE CAMP FERME", out("THE CAMP CLOSES"), None) == "THE CAMP CLOSES"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("#Tombouctou", False),
        ("28/12 @minusma.", False),
        ("https://example.org/a?b=1&c=2 info@example.org, 3,5 !", False),
        ("« 10:30 »", False),
        ("2023 #Tombouctou Gao", True),
        ("Le camp.", True),
        ("<script>", False),
        ("🎉 © ]]> & (Credit: UNMINUSMA)", False),
        ("UNICEF 2023", False),
    ],
)
def test_only_sentences_with_a_word_outside_protected_tokens_need_the_model(sentence, expected):
    assert has_words_to_translate(sentence) is expected


def test_protected_tokens_are_found():
    text = "Le 28/12 à 10:30, voir https://ex.org/x. #Gao @un info@ex.org 12 000"
    assert protected_tokens(text) == [
        "28/12",
        "10:30",
        "https://ex.org/x",
        "#Gao",
        "@un",
        "info@ex.org",
        "12",
        "000",
    ]


def test_fingerprint_is_stable_and_changes_with_the_rules():
    same = Glossary({"Nations unies": "United Nations", "Tombouctou": "Timbuktu"}, ["MINUSMA"])
    assert same.fingerprint() == TIMBUKTU.fingerprint()
    assert Glossary({"Tombouctou": "Timbuctoo"}).fingerprint() != TIMBUKTU.fingerprint()
    assert Glossary(protected=["MINUSMA"]).fingerprint() != Glossary().fingerprint()


def test_empty_term_is_refused():
    with pytest.raises(ValueError, match="empty"):
        Glossary({"Tombouctou": " "})
