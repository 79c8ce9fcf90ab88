"""The HTML sanitiser: what survives, what goes, and URLs made absolute."""

from __future__ import annotations

import pytest

from lingofeed.feeds.sanitize import plain_text, sanitize_html

BASE = "https://news.example.org/2024/05/story.html"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Hi <script>alert(1)</script>there</p>", "<p>Hi there</p>"),
        ("<style>p{color:red}</style><p>x</p>", "<p>x</p>"),
        ('<p onclick="steal()" style="color:red">x</p>', "<p>x</p>"),
        ('<iframe src="https://evil.example/">fallback</iframe>ok', "ok"),
        ('<object data="x.swf"></object><embed src="x.swf">ok', "ok"),
        ('<a href="javascript:alert(1)">j</a>', '<a rel="noopener noreferrer">j</a>'),
        ('<a href="vbscript:msgbox">v</a>', '<a rel="noopener noreferrer">v</a>'),
        ('<img src="data:image/png;base64,AAAA" alt="d">', '<img alt="d">'),
        ("<!-- comment --><b>b</b>", "<b>b</b>"),
        ("<form><input value=x></form>text", "text"),
    ],
)
def test_dangerous_markup_is_removed(dirty: str, clean: str):
    assert sanitize_html(dirty, BASE) == clean


def test_relative_urls_become_absolute_and_links_get_rel():
    html = '<a href="../other.html" title="t" hreflang="fr">o</a><img src="/img/a.jpg" alt="a">'
    assert sanitize_html(html, BASE) == (
        '<a href="https://news.example.org/2024/other.html" title="t" hreflang="fr"'
        ' rel="noopener noreferrer">o</a><img src="https://news.example.org/img/a.jpg" alt="a">'
    )


def test_relative_urls_without_base_are_dropped():
    assert sanitize_html('<a href="/x">x</a>', None) == '<a rel="noopener noreferrer">x</a>'
    assert sanitize_html('<a href="https://a.example/">x</a>', None) == (
        '<a href="https://a.example/" rel="noopener noreferrer">x</a>'
    )


def test_translator_markers_are_kept():
    html = (
        '<p translate="no">MINUSMA</p><code class="notranslate other">x()</code>'
        '<span class="notranslate glossary" lang="fr">Tombouctou</span><p class="lead">l</p>'
    )
    assert sanitize_html(html, BASE) == (
        '<p translate="no">MINUSMA</p><code class="notranslate">x()</code>'
        '<span class="notranslate glossary" lang="fr">Tombouctou</span><p>l</p>'
    )


def test_invalid_translate_value_is_dropped():
    assert sanitize_html('<p translate="maybe">x</p>', BASE) == "<p>x</p>"


def test_article_markup_survives():
    html = (
        '<h2>T</h2><figure><img src="https://a.example/i.jpg" alt="i" width="10" height="5">'
        "<figcaption>Cap</figcaption></figure><blockquote><p>q</p></blockquote>"
        "<ul><li>a</li></ul><ol><li>b</li></ol><pre><code>c</code></pre>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>d</td></tr></tbody></table>"
        "<p>x<sup>2</sup>H<sub>2</sub>O<br><em>e</em><strong>s</strong></p><hr>"
    )
    assert sanitize_html(html, BASE) == html


@pytest.mark.parametrize(
    "html",
    [
        '<p>a <a href="/x">b</a> <img src="y.png"></p><script>z</script>',
        "<p>Tom &amp; Jerry &lt;3 — «ok»</p>",
        '<span translate="no" class="notranslate">N</span>',
    ],
)
def test_sanitising_twice_changes_nothing(html: str):
    once = sanitize_html(html, BASE)
    assert sanitize_html(once, BASE) == once


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a b"),
        ("<ul><li>a</li><li>b</li></ul>c", "a b c"),
        ("<dl><dt>a</dt><dd>b</dd></dl>", "a b"),
        ("<table><caption>a</caption><tr><th>b</th><td>c</td></tr></table>", "a b c"),
        ("<figure><img src='x.jpg'><figcaption>a</figcaption></figure>b", "a b"),
        ("<h2>a</h2><pre>b</pre>c<hr>d<blockquote>e</blockquote>", "a b c d e"),
        ("<b>bo</b>ld <abbr>x</abbr>y", "bold xy"),
    ],
)
def test_plain_text_keeps_block_texts_apart_and_inline_texts_together(html, text):
    assert plain_text(html) == text


def test_plain_text_strips_tags_decodes_entities_and_collapses_space():
    assert plain_text("<p>Tom &amp; <b>Jerry</b></p>\n<p>go   home</p>") == "Tom & Jerry go home"
    assert plain_text("AT&amp;T &lt;3 &eacute;t&eacute;") == "AT&T <3 été"
    assert plain_text("a<br>b<script>c</script>") == "a b"
    assert plain_text("") == ""


def test_media_time_picture_srcset_abbr_and_q_are_kept_with_http_urls_only():
    html = (
        '<video src="https://un.org/v.mp4" poster="javascript:alert(1)" controls onplay="x()">'
        '<source src="/v.webm" type="video/webm">Texte.</video>'
        '<audio src="javascript:alert(2)" controls></audio>'
        '<picture><source srcset="https://un.org/a.webp 1x, javascript:alert(3) 2x, b.webp 3x">'
        '<img src="a.jpg" srcset="data:image/png;base64,AAAA 1x, /b.jpg 2x" alt="Un camp">'
        "</picture>"
        '<p><time datetime="2023-12-31">31 déc.</time> <abbr title="Fonds">UNICEF</abbr> '
        '<q cite="https://un.org/q">Paix</q></p>'
    )
    assert sanitize_html(html, BASE) == (
        '<video src="https://un.org/v.mp4" controls="">'
        '<source src="https://news.example.org/v.webm" type="video/webm">Texte.</video>'
        '<audio controls=""></audio>'
        '<picture><source srcset="https://un.org/a.webp 1x,'
        ' https://news.example.org/2024/05/b.webp 3x">'
        '<img src="https://news.example.org/2024/05/a.jpg"'
        ' srcset="https://news.example.org/b.jpg 2x" alt="Un camp"></picture>'
        '<p><time datetime="2023-12-31">31 déc.</time> <abbr title="Fonds">UNICEF</abbr> '
        '<q cite="https://un.org/q">Paix</q></p>'
    )
    assert sanitize_html(sanitize_html(html, BASE), BASE) == sanitize_html(html, BASE)


def test_a_srcset_without_a_base_keeps_only_absolute_http_urls():
    html = '<img srcset="/a.jpg 1x, https://un.org/b.jpg 2x, javascript:x 3x" alt="a">'
    assert sanitize_html(html, None) == '<img srcset="https://un.org/b.jpg 2x" alt="a">'
