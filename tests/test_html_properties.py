"""Properties of extract -> rebuild on random article HTML (``tests/strategies.py``).

Whatever the translations, the output is well-formed, every source element appears exactly once
with its attributes, text stays text, and protected tokens (URLs, numbers...) survive.
"""

from __future__ import annotations

import random
from collections import Counter

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import ARTICLE
from translations.glossary import protected_tokens, term_pattern
from translations.html import Rebuilt, Rendering, extract
from translations.types import AlignedTranslation


def parse(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def serialise(root: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(root, encoding="unicode")[len("<div>") : -len("</div>")]


def elements(markup: str, ignore: tuple[str, ...] = ()) -> Counter[tuple[object, ...]]:
    """Every element with its attributes (except ``ignore``; whitespace normalised)."""
    return Counter(
        (
            el.tag,
            tuple(
                sorted((k, " ".join(v.split())) for k, v in el.attrib.items() if k not in ignore)
            ),
        )
        for el in parse(markup).iterdescendants()
    )


def assert_well_formed(rebuilt: Rebuilt) -> None:
    """lxml serialised it, so re-parsing gives it back unchanged (no tag to repair)."""
    if rebuilt.translated:
        assert serialise(parse(rebuilt.text)) == rebuilt.text


def visible_text(markup: str) -> str:
    """The text a reader sees: blocks, line breaks and images separate words."""
    root = parse(markup)
    for element in root.iterdescendants():
        if element.tag not in {"a", "em", "strong", "b", "i", "span"}:
            element.text = f" {element.text or ''}"
            element.tail = f" {element.tail or ''}"
    return root.text_content()


def assert_tokens_kept(source: str, output: str) -> None:
    text_in, text_out = visible_text(source), visible_text(output)
    for token in set(protected_tokens(text_in)):
        pattern = term_pattern(token)
        assert len(pattern.findall(text_out)) >= len(pattern.findall(text_in)), token


def identity(unit: str) -> AlignedTranslation:
    return AlignedTranslation(unit, tuple((i, i) for i in range(len(unit.split()))))


def shuffled(unit: str, rng: random.Random) -> AlignedTranslation:
    """The unit's words in another order, with part of the alignment missing, as a model
    that reorders and aligns imperfectly would give."""
    order = list(range(len(unit.split())))
    rng.shuffle(order)
    words = unit.split()
    text = " ".join(words[s] for s in order)
    pairs = tuple((s, t) for t, s in enumerate(order) if rng.random() < 0.8)
    return AlignedTranslation(text, pairs)


@settings(max_examples=60, deadline=None)
@given(ARTICLE)
def test_identity_translation_keeps_markup_text_and_tokens(markup):
    job = extract(markup, "fr")
    rebuilt = job.rebuild({unit: Rendering(identity(unit)) for unit in job.units})
    assert rebuilt.problems == ()
    assert_well_formed(rebuilt)
    assert elements(rebuilt.text) == elements(markup)
    visible = ["".join(parse(m).text_content().split()) for m in (markup, rebuilt.text)]
    assert visible[0] == visible[1]
    assert_tokens_kept(markup, rebuilt.text)


@settings(max_examples=60, deadline=None)
@given(ARTICLE, st.randoms(use_true_random=False))
def test_reordered_translation_keeps_every_element_once(markup, rng):
    job = extract(markup, "fr")
    rebuilt = job.rebuild({unit: Rendering(shuffled(unit, rng)) for unit in job.units})
    assert_well_formed(rebuilt)
    assert elements(rebuilt.text, ("alt", "title")) == elements(markup, ("alt", "title"))
    assert_tokens_kept(markup, rebuilt.text)
