"""Check published files for anything a feed reader or browser could execute.

Each format is *parsed* the way a reader would (XML with a locked-down lxml parser, JSON with
``json``, the HTML payloads of RSS/Atom/JSON with lxml.html), and then every element and
attribute is inspected: a string search alone would miss ``<ScRiPt>`` and would wrongly flag
``&lt;script&gt;``, which is harmless text and must stay text.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree, html

#: Elements that run code, load other documents, or change how the page is interpreted.
FORBIDDEN_TAGS = frozenset(
    {
        *("script", "iframe", "frame", "frameset", "object", "embed", "applet", "style"),
        *("link", "meta", "base", "form", "input", "button", "textarea", "select"),
        *("svg", "math", "template", "noscript", "portal", "xml"),
    }
)
#: Attributes holding a URL a reader may follow or load.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "poster", "cite", "background", "srcset", "data"}
    | {"xmlurl", "htmlurl", "url"}  # OPML outlines, media RSS
)
#: In RSS/Atom, ``<link>`` is a feed element, not an HTML stylesheet link.
XML_FORBIDDEN_TAGS = FORBIDDEN_TAGS - {"link"}
#: A page head needs ``<meta>``, ``<link rel=alternate>`` and its own ``<style>``; see
#: ``page_problems``.
PAGE_FORBIDDEN_TAGS = FORBIDDEN_TAGS - {"link", "meta", "style"}
#: CSS that would load something or run script (old IE) has no place in our inline style.
_CSS_LOADS = re.compile(r"url\(|@import|expression\(|</", re.IGNORECASE)
#: RSS/Atom elements whose text is a URL a reader follows.
_URL_TEXT_TAGS = frozenset({"link", "guid", "comments", "docs", "url"})
_DANGEROUS_SCHEME = re.compile(r"^(?:javascript|data|vbscript|livescript):", re.IGNORECASE)
#: Browsers drop ASCII whitespace and control characters inside a scheme ("java\tscript:").
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")

_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def dangerous_url(value: str) -> bool:
    """True when ``value`` would run script or inline a document if followed."""
    return bool(_DANGEROUS_SCHEME.match(_IGNORED_IN_SCHEME.sub("", value)))


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def element_problems(
    root: etree._Element, where: str, forbidden: frozenset[str] = FORBIDDEN_TAGS
) -> Iterator[str]:
    """Forbidden elements, ``on*`` handlers, styles and dangerous URLs under ``root``."""
    for element in root.iter():
        tag = _local(element.tag)
        if tag in forbidden:
            yield f"{where}: <{tag}> element"
        for name, value in element.attrib.items():
            attr = _local(name)
            if attr.startswith("on"):
                yield f"{where}: {attr}= handler on <{tag}>"
            elif attr == "style":
                yield f"{where}: style= attribute on <{tag}> ({value[:60]!r})"
            elif attr in URL_ATTRIBUTES and dangerous_url(value):
                yield f"{where}: {attr}={value[:60]!r} on <{tag}>"


def html_problems(fragment: str, where: str) -> list[str]:
    """Problems in an HTML fragment, parsed as a browser-like reader would."""
    if not fragment.strip():
        return []
    root = html.fragment_fromstring(fragment, create_parent="div")
    return list(element_problems(root, where))


def _carries_html(element: etree._Element) -> bool:
    """RSS description / content:encoded, or an Atom text construct of type html."""
    tag = element.tag
    if tag in ("description", _CONTENT_ENCODED):
        return True
    atom_text = (f"{_ATOM}content", f"{_ATOM}summary", f"{_ATOM}title", f"{_ATOM}subtitle")
    return tag in atom_text and element.get("type") == "html"


def _xml_html_payloads(root: etree._Element) -> Iterator[tuple[str, str]]:
    """(where, html) for every element of an RSS or Atom document that carries HTML."""
    for element in root.iter():
        if _carries_html(element):
            yield _local(element.tag), element.text or ""


def xml_problems(data: bytes, where: str) -> list[str]:
    """Problems in an RSS/Atom/OPML document: its own markup and every HTML payload."""
    root = etree.fromstring(data, _SAFE_XML)
    problems = list(element_problems(root, where, XML_FORBIDDEN_TAGS))
    for element in root.iter():
        text = (element.text or "").strip()
        if _local(element.tag) in _URL_TEXT_TAGS and dangerous_url(text):
            problems.append(f"{where}: <{_local(element.tag)}>{text[:60]}")
    for tag, payload in _xml_html_payloads(root):
        problems.extend(html_problems(payload, f"{where} <{tag}>"))
    return problems


def json_problems(data: bytes, where: str) -> list[str]:
    """Problems in a JSON Feed: HTML fields and every URL field."""
    feed = json.loads(data)
    problems: list[str] = []
    for index, item in enumerate(feed.get("items", [])):
        spot = f"{where} item {index}"
        for key in ("content_html",):
            if isinstance(item.get(key), str):
                problems.extend(html_problems(item[key], f"{spot} {key}"))
        urls = [item.get("url"), item.get("external_url"), item.get("image")]
        urls += [a.get("url") for a in item.get("attachments", []) if isinstance(a, dict)]
        problems.extend(
            f"{spot}: URL {u[:60]!r}" for u in urls if isinstance(u, str) and dangerous_url(u)
        )
    return problems


def page_problems(body: bytes, where: str) -> list[str]:
    """A static page of ours needs no script either: only charset and viewport metas,
    alternate links, and an inline style in the head that loads nothing."""
    root = html.document_fromstring(body)
    problems = list(element_problems(root, where, PAGE_FORBIDDEN_TAGS))
    for meta in root.iter("meta"):
        names = set(meta.attrib)
        viewport = names == {"name", "content"} and meta.get("name") == "viewport"
        if names != {"charset"} and not viewport:
            problems.append(f"{where}: <meta {dict(meta.attrib)}>")
    for style in root.iter("style"):
        parent = style.getparent()
        in_head = parent is not None and parent.tag == "head"
        if not in_head or _CSS_LOADS.search(style.text or ""):
            problems.append(f"{where}: <style> element")
    for link in root.iter("link"):
        if link.get("rel") != "alternate":
            problems.append(f"{where}: <link rel={link.get('rel')!r}>")
    return problems


def file_problems(path: Path, data: bytes | None = None) -> list[str]:
    """Problems in one published file, by its type; ``data`` defaults to the file's bytes."""
    body = path.read_bytes() if data is None else data
    where = path.name
    if path.suffix == ".gz":  # the publisher's pre-compressed sibling: check what it holds
        return file_problems(path.with_suffix(""), gzip.decompress(body))
    if path.suffix in (".xml", ".opml"):
        return xml_problems(body, where)
    if path.suffix == ".json":
        return json_problems(body, where)
    if path.suffix == ".html":
        return page_problems(body, where)
    return [f"{where}: unexpected published file type"]


def tree_problems(root: Path) -> list[str]:
    """Problems in every published file under ``root``."""
    problems: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            problems.extend(file_problems(path))
    return problems


def visible_text(path: Path) -> str:
    """All text a reader of ``path`` is shown: HTML payloads decoded, one string."""
    body = path.read_bytes()
    if path.suffix == ".json":
        feed = json.loads(body)
        parts: list[str] = []
        for item in feed.get("items", []):
            parts += [str(item.get(key) or "") for key in ("title", "summary", "content_text")]
            if item.get("content_html"):
                parts.append(html.fragment_fromstring(item["content_html"], "div").text_content())
        return "\n".join(parts)
    root = etree.fromstring(body, _SAFE_XML)
    payloads = {id(element) for element in root.iter() if _carries_html(element)}
    parts = []
    for element in root.iter():
        text = element.text or ""
        if id(element) in payloads and text.strip():
            parts.append(html.fragment_fromstring(text, create_parent="div").text_content())
        else:
            parts.append(text)
    return "\n".join(parts)
