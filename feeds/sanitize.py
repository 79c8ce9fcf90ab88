"""Sanitise upstream HTML with nh3, and turn HTML into plain text.

Everything upstream sends, and everything the translator gives back, passes through
``sanitize_html`` before it is stored or published: feed readers render our HTML, so a script or
an ``on*`` handler from one upstream must never reach a reader, and relative URLs would point at
*our* host once republished (the W3C validator reports them as ``ContainsRelRef``).

The allow-list keeps ordinary article markup (media included: ``<video>``/``<audio>``/``<source>``
with http(s) URLs, ``<picture>``, ``srcset``, ``<time datetime>``, ``<abbr title>``, ``<q cite>``)
plus the two markers the translator honours: ``translate="no"`` (any element) and
``class="notranslate"``.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import urljoin, urlsplit

import nh3

_URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: A ``srcset`` candidate: a URL (no whitespace; ``data:`` URLs hold commas), its descriptor.
_SRCSET_CANDIDATE = re.compile(r"\s*(\S+)(?:\s+([^,]*))?(?:,|$)")
_SRCSET_DESCRIPTOR = re.compile(r"(?:\d+(?:\.\d+)?[wx])?")
#: Images and media load only over http(s).
_MEDIA_SCHEMES = frozenset({"http", "https"})

_GLOBAL_ATTRIBUTES = frozenset({"translate", "lang", "dir", "class"})

_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(_GLOBAL_ATTRIBUTES),
    "a": {"href", "title", "hreflang"},
    "img": {"src", "srcset", "sizes", "alt", "title", "width", "height"},
    "video": {"src", "poster", "title", "controls", "width", "height", "loop", "muted"},
    "audio": {"src", "title", "controls", "loop", "muted"},
    "source": {"src", "srcset", "sizes", "type", "media"},
    "time": {"datetime"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}

_TAGS = frozenset(
    {
        *("p", "br", "hr", "div", "span", "a", "img", "figure", "figcaption"),
        *("em", "strong", "b", "i", "u", "s", "small", "sup", "sub", "abbr", "cite", "q"),
        *("del", "ins", "mark", "code", "pre", "kbd", "samp", "blockquote"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col"),
        *("video", "audio", "source", "picture", "time"),
    }
)

#: Removed together with their content (a script's text is not article text).
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)

#: ``class`` carries no styling in a feed reader; only the translator's marker means anything.
#: ``span`` keeps every class because the translator may mark its own inline spans with one.
_KEPT_CLASSES = frozenset({"notranslate"})

_TRANSLATE_VALUES = frozenset({"yes", "no"})

_WHITESPACE = re.compile(r"\s+")
#: Tags of ``_TAGS`` that start or end a block: their text never runs into its neighbours'.
_BLOCK_BOUNDARY = re.compile(
    r"<\s*(?:br|hr|/?(?:p|div|pre|blockquote|h[1-6]|ul|ol|li|dl|dt|dd|figure|figcaption"
    r"|table|caption|thead|tbody|tfoot|tr|th|td))\b",
    re.I,
)


def _attribute_filter(base_url: str | None) -> Callable[[str, str, str], str | None]:
    """nh3's ``attribute_filter``: meaningful values of the global attributes, and ``srcset``
    with the same URL rules as ``src`` (nh3 checks ``src`` and ``poster`` itself, not the
    URLs of a ``srcset`` list)."""
    resolve = _absolutizer(base_url)

    def keep(tag: str, attr: str, value: str) -> str | None:
        if attr == "srcset":
            return _srcset(value, resolve)
        return _filter_attribute(tag, attr, value)

    return keep


def _srcset(value: str, resolve: Callable[[str], str | None] | Literal["deny"]) -> str | None:
    """The candidates of a ``srcset`` whose URL is http(s) (relative ones resolved), or None."""
    kept = []
    for candidate in _SRCSET_CANDIDATE.finditer(value):
        url, descriptor = candidate.group(1), (candidate.group(2) or "").strip()
        if not _SRCSET_DESCRIPTOR.fullmatch(descriptor):
            continue
        scheme = urlsplit(url).scheme.lower()
        if not scheme:
            absolute = None if resolve == "deny" else resolve(url)
            url = absolute or ""
        elif scheme not in _MEDIA_SCHEMES:
            continue
        if url:
            kept.append(f"{url} {descriptor}".strip())
    return ", ".join(kept) or None


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Keep only meaningful values of the attributes every element may carry."""
    if attr == "class" and tag != "span":
        kept = [name for name in value.split() if name in _KEPT_CLASSES]
        return " ".join(kept) or None
    if attr == "translate":
        lowered = value.strip().lower()
        return lowered if lowered in _TRANSLATE_VALUES else None
    return value


def _absolutizer(base_url: str | None) -> Callable[[str], str | None] | Literal["deny"]:
    """nh3's ``url_relative`` option: resolve against ``base_url``, or drop when there is none.

    A relative URL without a base cannot be made safe to republish, so it is removed rather
    than left pointing at whatever host serves our feed.
    """
    if not base_url or not urlsplit(base_url).scheme:
        return "deny"

    def resolve(url: str) -> str | None:
        absolute = urljoin(base_url, url)
        return absolute if urlsplit(absolute).scheme in _URL_SCHEMES else None

    return resolve


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Return ``html`` reduced to safe article markup with absolute URLs.

    Drops scripts, styles, frames, event handlers, CSS and ``javascript:``/``data:`` URLs;
    resolves relative ``href``/``src`` against ``base_url``; adds ``rel="noopener noreferrer"``
    to links. Idempotent, so it can run on input and again after translation.
    """
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(base_url),
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer",
        url_relative=_absolutizer(base_url),
        strip_comments=True,
    ).strip()


#: Elements a reader shows without any text in them.
_SHOWN_WITHOUT_TEXT = re.compile(r"<\s*(?:img|video|audio|picture|source|hr)\b", re.I)


def sanitize_body(html: str | None, base_url: str | None = None) -> str | None:
    """``sanitize_html`` for a summary or content: None when nothing a reader sees is left.

    An upstream ``<description></description>``, a lone ``<p> </p>`` or markup that was all
    script would otherwise be published as an empty ``<p></p>`` body; without one, the feeds
    simply omit the element.
    """
    clean = sanitize_html(html or "", base_url)
    if not plain_text(clean) and not _SHOWN_WITHOUT_TEXT.search(clean):
        return None
    return clean


def plain_text(html: str) -> str:
    """Text of an HTML fragment: tags removed, entities decoded, whitespace collapsed.

    Block boundaries become spaces so ``<p>a</p><p>b</p>`` reads "a b", not "ab".
    """
    if not html:
        return ""
    spaced = _BLOCK_BOUNDARY.sub(lambda match: " " + match.group(0), html)
    text = nh3.clean(spaced, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT))
    return collapse_whitespace(html_lib.unescape(text))


def collapse_whitespace(text: str) -> str:
    """Single spaces between words, none at the ends (for plain-text titles and captions)."""
    return _WHITESPACE.sub(" ", text).strip()
