"""Properties of extract -> rebuild on random article HTML (``tests/strategies.py``).

Whatever the translations, the output is well-formed, every source element appears exactly once
with its attributes, text stays text, and protected tokens (URLs, numbers...) survive.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lingofeed.translations.html import Rendering, extract
from lingofeed.translations.types import AlignedTranslation
from tests.strategies import (
    ARTICLE,
    assert_tokens_kept,
    assert_well_formed,
    elements,
    parse,
)


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
    rebuilt = job.rebuild(
        {unit: Rendering(AlignedTranslation.unchanged(unit)) for unit in job.units}
    )
    assert rebuilt.problems == ()
    if rebuilt.translated:
        assert_well_formed(rebuilt.text)
    assert elements(rebuilt.text) == elements(markup)
    visible = ["".join(parse(m).text_content().split()) for m in (markup, rebuilt.text)]
    assert visible[0] == visible[1]
    assert_tokens_kept(markup, rebuilt.text)


@settings(max_examples=60, deadline=None)
@given(ARTICLE, st.randoms(use_true_random=False))
def test_reordered_translation_keeps_every_element_once(markup, rng):
    job = extract(markup, "fr")
    rebuilt = job.rebuild({unit: Rendering(shuffled(unit, rng)) for unit in job.units})
    if rebuilt.translated:
        assert_well_formed(rebuilt.text)
    assert elements(rebuilt.text, ("alt", "title")) == elements(markup, ("alt", "title"))
    assert_tokens_kept(markup, rebuilt.text)
