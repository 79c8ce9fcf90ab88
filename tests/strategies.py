"""Hypothesis strategies for article HTML, and the checks property tests make on the output.

The HTML is built as a string from escaped text and known elements, so it is well-formed by
construction: what a property finds is a bug in the code under test, not in the generator.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from hypothesis import strategies as st

from lingofeed.translations.glossary import ACRONYM, Glossary, protected_tokens, term_pattern
from lingofeed.translations.html import parse_fragment as parse
from lingofeed.translations.html import serialise_fragment
from lingofeed.translations.numbers import NUMBER_GROUPED, number_format

#: Words from the test model's corpus, so real translations are sometimes meaningful.
_CORPUS_WORDS = (
    "le camp de Tombouctou a été remis aux autorités maliennes Gao Kidal mission paix "
    "l'ONU Casques bleus ville drapeau MINUSMA"
)
WORDS = st.sampled_from(_CORPUS_WORDS.split())
#: What must survive translation untouched.
PROTECTED = st.sampled_from(
    [
        "https://example.org/a?b=1&c=2",
        "www.example.org/x",
        "info@example.org",
        "28/12",
        "3,5",
        "2023",
        "10:30",
        "#Tombouctou",
        "@minusma",
    ]
)
#: Text that must stay text: markup characters and entities.
AWKWARD = st.sampled_from(["<script>", "a&b", "<b>x</b>", '"quoted"', "«\u00a0oui\u00a0»", "&amp;"])
PUNCTUATION = st.sampled_from(["", "", ".", ",", "!", "?", ":", ";"])

TEXT = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(st.one_of(WORDS, WORDS, PROTECTED, AWKWARD), min_size=1, max_size=6),
    PUNCTUATION,
)


def _escaped(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.map(lambda text: html.escape(text, quote=False))


def _attribute(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.map(lambda text: html.escape(text, quote=True))


def _element(
    tag: str, attrs: st.SearchStrategy[str], inner: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.builds(lambda a, i: f"<{tag}{a}>{i}</{tag}>", attrs, inner)


NO_ATTRIBUTES = st.just("")
LINK_ATTRIBUTES = st.builds(
    lambda url, title: f' href="{url}"' + (f' title="{title}"' if title else ""),
    _attribute(PROTECTED.filter(lambda p: "://" in p)),
    st.one_of(st.just(""), _attribute(TEXT)),
)
SPAN_ATTRIBUTES = st.sampled_from(['class="x"', 'class="a notranslate"', 'translate="no"']).map(
    lambda a: " " + a
)
IMAGE = st.builds(lambda alt: f'<img src="p.jpg" alt="{alt}">', _attribute(TEXT))
CODE = _element("code", NO_ATTRIBUTES, _escaped(st.sampled_from(["ls -l", "a < b", "x = 1;"])))


def _inline(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One level of inline markup around ``inner`` (text or deeper inline markup)."""
    return st.one_of(
        _element("a", LINK_ATTRIBUTES, inner),
        *(_element(tag, NO_ATTRIBUTES, inner) for tag in ("em", "strong", "b", "i")),
        _element("span", SPAN_ATTRIBUTES, inner),
    )


#: Inline content: escaped text mixed with nested inline elements, images, code and breaks.
INLINE = st.recursive(
    _escaped(TEXT),
    lambda inner: st.lists(
        st.one_of(inner, _inline(inner), IMAGE, CODE, st.just("<br>")), min_size=1, max_size=4
    ).map(" ".join),
    max_leaves=8,
)

BLOCK = st.one_of(
    _element("p", NO_ATTRIBUTES, INLINE),
    _element("h2", NO_ATTRIBUTES, INLINE),
    st.lists(_element("li", NO_ATTRIBUTES, INLINE), min_size=1, max_size=3).map(
        lambda items: "<ul>" + "".join(items) + "</ul>"
    ),
    _element("blockquote", NO_ATTRIBUTES, _element("p", NO_ATTRIBUTES, INLINE)),
    st.builds(
        lambda img, caption: f"<figure>{img}<figcaption>{caption}</figcaption></figure>",
        IMAGE,
        INLINE,
    ),
    _element("pre", NO_ATTRIBUTES, _escaped(st.sampled_from(["a  b\n  c", "if a < b:"]))),
    _element("p", st.just(' translate="no"'), INLINE),
)

#: An article body: a few blocks.
ARTICLE = st.lists(BLOCK, min_size=1, max_size=4).map("\n".join)


# Checks on rebuilt HTML, shared by the property tests.


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


def assert_well_formed(markup: str) -> None:
    """Serialised by lxml, so re-parsing gives it back unchanged (no tag to repair)."""
    assert serialise_fragment(parse(markup)) == markup


def visible_text(markup: str) -> str:
    """The text a reader sees: blocks, line breaks and images separate words."""
    root = parse(markup)
    for element in root.iterdescendants():
        if element.tag not in {"a", "em", "strong", "b", "i", "span"}:
            element.text = f" {element.text or ''}"
            element.tail = f" {element.tail or ''}"
    return root.text_content()


_NUMBERS = re.compile(NUMBER_GROUPED + r"|(?<![\w.,])\d+(?:[.,]\d+)*(?!\w)")


def _same_numbers(token: str, text: str, languages: tuple[str, str] | None) -> int:
    """Numbers of ``text`` other than ``token`` itself with its value in the source's or the
    target's format (``3.5`` for the French ``3,5``)."""
    if languages is None:
        return 0
    formats = [number_format(language) for language in languages]
    value = formats[0].value(token) if formats[0] else None
    if value is None:
        return 0
    return sum(
        1
        for number in _NUMBERS.findall(text)
        if number != token and any(f and f.value(number) == value for f in formats)
    )


def assert_tokens_kept(
    source: str,
    output: str,
    glossary: Glossary | None = None,
    languages: tuple[str, str] | None = None,
) -> None:
    """Every protected token of ``source`` is in ``output`` as often, as written, as the
    ``glossary`` rewrites it (``#Tombouctou`` -> ``#Timbuktu``) or, given the ``languages``
    (source, target), as the same number in either one's format."""
    text_in, text_out = visible_text(source), visible_text(output)
    for token in set(protected_tokens(text_in)):
        forms = {token}
        for old, new in glossary.rules if glossary else ():
            forms.add(old.sub(new.replace("\\", "\\\\"), token))
        found = sum(len(term_pattern(form).findall(text_out)) for form in forms)
        found += _same_numbers(token, text_out, languages)
        if ACRONYM.fullmatch(token):  # the target language's acronym (``ONU`` for ``UN``)
            found += sum(
                1 for t in protected_tokens(text_out) if t != token and ACRONYM.fullmatch(t)
            )
        assert found >= len(term_pattern(token).findall(text_in)), token
