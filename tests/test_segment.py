"""Sentence splitting: a table of tricky cases per language, and exact rejoining."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lingofeed.translations.segment import sentence_spans, split_sentences

CASES: list[tuple[str, str, list[str]]] = [
    # French: titles, dates, numbers, guillemets with a space, URLs, e-mails, initials, ellipsis.
    (
        "fr",
        "M. Dupont est arrivé le 28/12 à 3,5 km. Il a dit « Bonjour. » Puis il est parti.",
        [
            "M. Dupont est arrivé le 28/12 à 3,5 km.",
            "Il a dit « Bonjour. »",
            "Puis il est parti.",
        ],
    ),
    (
        "fr",
        "Mme Diallo et le Dr. Traoré sont là. Voir https://ex.com/a.b?c=d. Écrivez à a.b@ex.fr !",
        [
            "Mme Diallo et le Dr. Traoré sont là.",
            "Voir https://ex.com/a.b?c=d.",
            "Écrivez à a.b@ex.fr !",
        ],
    ),
    ("fr", "J.-P. Sartre écrit. Etc. Oui.", ["J.-P. Sartre écrit.", "Etc.", "Oui."]),
    (
        "fr",
        "Quoi ? dit-il. Il attend... Et puis rien.",
        ["Quoi ? dit-il.", "Il attend...", "Et puis rien."],
    ),
    (
        "fr",
        "Il est né en 1950. Il a 3.5 ans de retard.",
        ["Il est né en 1950.", "Il a 3.5 ans de retard."],
    ),
    ("fr", "Voir p. 12 et l'art. 3 du texte.", ["Voir p. 12 et l'art. 3 du texte."]),
    # English: initials, titles, months, lower-case continuation, quotes and brackets.
    (
        "en",
        'Mr. Smith met Dr. J. R. R. Tolkien on Jan. 5. He left (quietly.) Then "Hello." said she.',
        [
            "Mr. Smith met Dr. J. R. R. Tolkien on Jan. 5.",
            "He left (quietly.)",
            'Then "Hello." said she.',
        ],
    ),
    (
        "en",
        "It costs $3.50 e.g. here. U.S. troops left. Wait... What?",
        ["It costs $3.50 e.g. here.", "U.S. troops left.", "Wait...", "What?"],
    ),
    ("en", 'He said no. "Yes," she replied.', ["He said no.", '"Yes," she replied.']),
    (
        "en",
        "See No. 5 for details. It is at 10 a.m. today.",
        ["See No. 5 for details.", "It is at 10 a.m. today."],
    ),
    # German: z.B., ordinals, low quotes.
    (
        "de",
        "Das ist z.B. ein Test. Am 3. Oktober 2023 kam er. Er sagte: „Hallo.“ Dann ging er.",
        [
            "Das ist z.B. ein Test.",
            "Am 3. Oktober 2023 kam er.",
            "Er sagte: „Hallo.“",
            "Dann ging er.",
        ],
    ),
    (
        "de",
        "Prof. Dr. Müller bzw. Frau Nr. 2 kommen. Sie sind da.",
        ["Prof. Dr. Müller bzw. Frau Nr. 2 kommen.", "Sie sind da."],
    ),
    # Spanish: inverted marks open the next sentence; Sr./Sra.
    (
        "es",
        "El Sr. García y la Sra. López llegaron. ¿Qué pasa? ¡Nada!",
        ["El Sr. García y la Sra. López llegaron.", "¿Qué pasa?", "¡Nada!"],
    ),
    ("es", "Lo dijo p. ej. Juan. EE.UU. respondió.", ["Lo dijo p. ej. Juan.", "EE.UU. respondió."]),
    # Italian and Portuguese.
    (
        "it",
        "Il Dott. Rossi e il Sig. Bianchi sono qui. Va bene.",
        ["Il Dott. Rossi e il Sig. Bianchi sono qui.", "Va bene."],
    ),
    (
        "pt",
        "O Sr. Silva e a Dra. Costa chegaram. Tudo bem?",
        ["O Sr. Silva e a Dra. Costa chegaram.", "Tudo bem?"],
    ),
    # A language without its own list still splits, and regional tags use the primary subtag.
    ("sv", "Hej. Dr. Berg kom.", ["Hej.", "Dr. Berg kom."]),
    ("pt-BR", "A Sra. Lima veio. Ela saiu.", ["A Sra. Lima veio.", "Ela saiu."]),
    # Blank lines separate paragraphs even without punctuation.
    ("en", "A title\n\nThe body starts here.", ["A title", "The body starts here."]),
]


@pytest.mark.parametrize(("lang", "text", "expected"), CASES)
def test_splits_tricky_cases_per_language(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split_sentences("", "fr") == []
    assert split_sentences("  \n\t ", "fr") == []


def test_spans_leave_only_whitespace_between_sentences() -> None:
    text = "  Première phrase.\u00a0 Deuxième ?\n\nTroisième !  "
    spans = sentence_spans(text, "fr")
    assert [text[a:b] for a, b in spans] == ["Première phrase.", "Deuxième ?", "Troisième !"]
    gaps = [
        text[: spans[0][0]],
        *(text[b:a] for (_, b), (a, _) in itertools.pairwise(spans)),
        text[spans[-1][1] :],
    ]
    assert all(gap.strip() == "" for gap in gaps)


@given(
    st.text(alphabet=st.sampled_from(list("abAB. !?\n«»\"'1,é")), max_size=60),
    st.sampled_from(["fr", "en", "de", "xx"]),
)
def test_spans_rejoin_to_the_input(text: str, lang: str) -> None:
    spans = sentence_spans(text, lang)
    rebuilt, position = [], 0
    for start, end in spans:
        assert start >= position and end > start
        assert text[position:start].strip() == ""
        rebuilt.append(text[position:end])
        position = end
    assert text[position:].strip() == ""
    assert "".join(rebuilt) + text[position:] == text


def test_importing_the_splitter_loads_no_nlp_library() -> None:
    code = (
        "import sys, lingofeed.translations.segment; "
        "print(sorted(m for m in ('spacy', 'stanza', 'argostranslate') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
