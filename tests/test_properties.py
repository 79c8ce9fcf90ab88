"""Property: random, hostile, often broken HTML in -> sanitised -> translated -> safe HTML out.

The input is not well-formed on purpose (stray and unclosed tags, scripts, handlers,
``javascript:`` URLs, entities, comments). It goes through what the cycle does to an HTML
field: ``sanitize_html`` on ingest, then the HTML-aware translation (extract -> rebuild) with
translations that are themselves hostile (a model may output ``<script>`` as words, reorder
words and align badly). The result must be well-formed and contain nothing executable, and
rendering it into a feed must keep it so. With the repo's test model built, the same holds
through the real model pipeline (``test_real_model_pipeline_output_is_safe``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lingofeed.feeds.render import FeedSettings, render_site
from lingofeed.feeds.sanitize import sanitize_html
from lingofeed.feeds.types import LocalizedEntry
from lingofeed.translations.html import Rendering, extract
from lingofeed.translations.types import AlignedTranslation
from tests.hostile.safety import dangerous_url, file_problems, html_problems
from tests.strategies import assert_well_formed

_TAGS = ["p", "b", "a", "img", "script", "iframe", "svg", "style", "div", "span", "x-evil",
         "object", "math", "form", "table", "td", "li", "figure", "figcaption", "br"]  # fmt: skip
_ATTRIBUTES = [
    'onclick="alert(1)"',
    "onerror=alert(1)",
    'href="javascript:alert(1)"',
    'href=" JaVa&#x09;script:alert(1)"',
    'src="data:text/html,<script>alert(1)</script>"',
    'style="width:expression(alert(1))"',
    'href="https://example.org/ok?a=1&amp;b=2"',
    'src="/relative.jpg"',
    'alt="<script>alert(1)</script>"',
    'title="\'&quot;&lt;"',
    'class="notranslate"',
    'translate="no"',
]
_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from("abc xyz<>&;\"'=/é\u00a0\u202e"), max_size=20),
    st.sampled_from(["Tombouctou.", "le camp de Gao", " la ville "]),
)
_HOSTILE_WORDS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "&lt;b&gt;",
    "</p><iframe>",
    "<!--",
    "]]>",
]


def _open_tag(tag: str, attributes: list[str]) -> str:
    return f"<{tag}{''.join(' ' + a for a in attributes)}>"


_PIECE = st.one_of(
    _TEXT,
    st.builds(
        _open_tag, st.sampled_from(_TAGS), st.lists(st.sampled_from(_ATTRIBUTES), max_size=3)
    ),
    st.sampled_from(_TAGS).map(lambda tag: f"</{tag}>"),
    st.sampled_from(["<!-- c -->", "<![CDATA[x]]>", "&amp;", "&lt;script&gt;", "&#0;", "&bogus;"]),
)
#: Tag soup: pieces in any order, so tags are often unclosed or stray.
SOUP = st.lists(_PIECE, min_size=1, max_size=25).map("".join)


def hostile_translation(unit: str, rng: random.Random) -> AlignedTranslation:
    """The unit's words reordered, with hostile words mixed in and a partial alignment."""
    words = unit.split()
    order = list(range(len(words)))
    rng.shuffle(order)
    out = [words[s] for s in order]
    for _ in range(rng.randint(0, 2)):
        out.insert(rng.randint(0, len(out)), rng.choice(_HOSTILE_WORDS))
    pairs = tuple((s, t) for t, s in enumerate(order) if rng.random() < 0.7)
    return AlignedTranslation(" ".join(out), pairs)


_WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def assert_safe(markup: str) -> None:
    assert html_problems(markup, "output") == []


def _rendered_problems(content: str) -> list[str]:
    settings = FeedSettings("https://feeds.example/", ("en",))
    entry = LocalizedEntry(
        "s", "urn:x:1", "en", "fr", "t", content=content, summary=content, published=_WHEN
    )
    problems: list[str] = []
    for path, data in render_site(settings, {"en": [entry]}).items():
        problems += file_problems(Path(path), data)
    return problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SOUP)
def test_sanitised_soup_is_safe_and_idempotent(soup):
    clean = sanitize_html(soup, "https://example.org/a/")
    assert_safe(clean)
    assert sanitize_html(clean, "https://example.org/a/") == clean


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SOUP, st.randoms(use_true_random=False))
def test_hostile_translation_of_sanitised_soup_stays_safe(soup, rng):
    clean = sanitize_html(soup, "https://example.org/a/")
    job = extract(clean, "fr")
    rebuilt = job.rebuild({unit: Rendering(hostile_translation(unit, rng)) for unit in job.units})
    if rebuilt.translated:
        # Leading/trailing spaces are not markup (lxml drops a fragment's leading space).
        assert_well_formed(rebuilt.text.strip())
    assert_safe(rebuilt.text)
    assert _rendered_problems(rebuilt.text) == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", " java\tscript:x", "DATA:text/html,x"])
def test_the_checker_itself_catches_dangerous_urls(url):
    assert dangerous_url(url)
    assert html_problems(f'<a href="{url}">x</a>', "probe") != []
