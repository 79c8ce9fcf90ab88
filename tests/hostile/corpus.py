"""The hostile and broken upstream corpus, generated in memory from this module.

Each ``Case`` is one upstream body with what must happen to it: usable (entries come out and are
published safely) or unusable (a clear per-source ``SourceError``), plus text that must survive
as text and strings that must never reach a published file. ``{base}`` in a body is replaced by
the test server's URL, so entity payloads can point at a server that records whether it was
contacted. Bodies are built, not stored: a reviewer reads the attack next to its expectation.

Streaming cases (a 200 MB body, a gzip bomb, a slow drip) live in ``tests/hostile/upstream.py``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from enum import Enum

#: Served at ``/secret`` by the test; an entity that fetched it would leak this into a feed.
SECRET = "SECRET-7f3a9c-must-never-be-published"
#: The first line of /etc/passwd on every Unix: an entity that read the file would leak it.
PASSWD_MARKER = "root:x:0:0"


class Expect(Enum):
    ENTRIES = "entries"  # parses; at least one entry is stored and published
    ERROR = "error"  # unusable: a SourceError naming the source, nothing stored
    EITHER = "either"  # a recovering parser may salvage entries; never a crash


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    expect: Expect = Expect.ENTRIES
    #: Text a reader must see as text in the published HTML/title (escaped markup stays text).
    keep_text: tuple[str, ...] = ()
    #: Strings that must not appear in any published byte.
    absent: tuple[str, ...] = ()
    #: Entries expected to be stored (duplicates collapse), when it matters.
    entries: int | None = None


def item(
    title: str = "Item",
    description: str = "<p>Body</p>",
    guid: str = "https://example.org/a/1",
    extra: str = "",
) -> str:
    """An RSS item; ``description`` goes in CDATA (so it is HTML, as most feeds send it)."""
    return (
        f"<item><title>{title}</title><link>https://example.org/a</link>"
        f"<guid>{guid}</guid><description><![CDATA[{description}]]></description>{extra}</item>"
    )


def rss(*items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>', head: str = "") -> str:
    return (
        f'{prolog}{head}<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        "<channel><title>Hostile</title><link>https://example.org/</link><language>en</language>"
        f"<description>d</description>{''.join(items)}</channel></rss>"
    )


def _rss_case(name: str, *items: str, **kwargs: object) -> Case:
    return Case(name, rss(*items).encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def _atom(entry: str, updated: str = "2024-05-01T00:00:00Z") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        "<title>Hostile</title><id>urn:x:feed</id><updated>2024-05-01T00:00:00Z</updated>"
        f"<entry><id>urn:x:1</id><updated>{updated}</updated>{entry}</entry></feed>"
    ).encode()


def _json(*items: object) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Hostile",
        "language": "en",
        "items": items,
    }
    return json.dumps(feed).encode()


_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)
_QUADRATIC = '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "x" * 50_000 + '">]>'

_SCRIPTS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x ONERROR=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="https://example.org" onclick="alert(1)" onmouseover=alert(1)>x</a>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    '<iframe src="https://evil.example/"></iframe>',
    '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example/"><input name="p"><button formaction="javascript:x">'
    "go</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//"><link rel="stylesheet" href="https://evil.example/s.css">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="width:expression(alert(1))">css expression</div>',
    '<p style="background-image:url(&#34;javascript:alert(1)&#34;)">css url</p>',
    "<template><script>alert(1)</script></template><noscript><p>x</p></noscript>",
    '<isindex action="javascript:alert(1)" type=image>',
    "<details open ontoggle=alert(1)>x</details>",
]
_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java&#x09;script:alert(1)",
    "&#106;avascript:alert(1)",
    " javascript:alert(1)",
    "javascript&colon;alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "DATA:text/html,<script>alert(1)</script>",
]


def _markup_cases() -> list[Case]:
    cases = [
        _rss_case(f"script-{n}", item(description=f"<p>Before</p>{payload}<p>After</p>"))
        for n, payload in enumerate(_SCRIPTS)
    ]
    cases += [
        _rss_case(
            f"url-{n}",
            item(description=f'<p><a href="{url}">link</a><img src="{url}" alt="pic"></p>'),
        )
        for n, url in enumerate(_URLS)
    ]
    cases += [
        _rss_case(
            "item-link-javascript",
            item().replace("https://example.org/a<", "javascript:alert(1)<"),
        ),
        _rss_case(
            "enclosure-javascript",
            item(extra='<enclosure url="javascript:alert(1)" type="image/jpeg" length="1"/>'),
        ),
        _rss_case(
            "media-content-data-url",
            item(
                extra='<media:content url="data:image/png;base64,AAAA" medium="image">'
                "<media:description>caption &lt;script&gt;</media:description></media:content>"
            ),
        ),
        _rss_case(
            "html-in-title",
            item(title="&lt;b&gt;Bold&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;"),
        ),
        _rss_case(
            "escaped-markup-stays-text",
            item(description="<p>Write &lt;script&gt;alert(1)&lt;/script&gt; to test.</p>"),
            keep_text=("<script>alert(1)</script>",),
        ),
        _rss_case(
            "double-escaped-in-plain-description",
            item(title="Use &amp;lt;iframe&amp;gt; carefully")
            .replace("<![CDATA[", "")
            .replace("]]>", ""),
        ),
        _rss_case(
            "xhtml-namespace-script",
            item(
                description='<p xmlns:h="http://www.w3.org/1999/xhtml">x</p>',
                extra='<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>',
            ),
        ),
        _rss_case(
            "content-encoded-script",
            item(
                extra='<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
                "<![CDATA[<p>Full</p><script>alert(1)</script>]]></content:encoded>"
            ),
        ),
        _rss_case("deeply-nested", item(description="<div>" * 5000 + "deep" + "</div>" * 5000)),
        _rss_case(
            "cdata-end-and-comments",
            item(description="<p>a</p><!-- <script>alert(1)</script> --><p>]]&gt;b</p>"),
        ),
        _rss_case(
            "control-and-bidi-characters",
            item(title="Title \u202eevil\u202c \u200b", description="<p>nul\x00 vt\x0b ok</p>"),
            expect=Expect.EITHER,
        ),
        Case(
            "atom-xhtml-script",
            _atom(
                '<title type="html">&lt;img src=x onerror=alert(1)&gt;Hi</title>'
                '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                '<p onclick="alert(1)">x</p><script>alert(1)</script>'
                '<a href="javascript:alert(1)">y</a></div></content>'
            ),
            content_type="application/atom+xml",
        ),
        Case(
            "atom-html-content",
            _atom(
                '<title>T</title><summary type="html">&lt;script&gt;alert(1)&lt;/script&gt;s'
                '</summary><content type="html">&lt;iframe src=x&gt;&lt;/iframe&gt;&lt;p&gt;'
                'ok&lt;/p&gt;</content><link rel="alternate" href="javascript:alert(1)"/>'
            ),
            content_type="application/atom+xml",
        ),
        Case(
            "json-feed-hostile",
            _json(
                {
                    "id": "1",
                    "url": "javascript:alert(1)",
                    "title": "<script>alert(1)</script>",
                    "content_html": '<p onclick="x">a</p><script>alert(1)</script>',
                    "image": "data:image/png;base64,AAAA",
                    "attachments": [{"url": "javascript:x", "mime_type": "image/png"}],
                },
                {"id": "2", "title": "text", "content_text": "<script>alert(2)</script> as text"},
            ),
            content_type="application/feed+json",
            keep_text=("<script>alert(2)</script> as text",),
        ),
    ]
    return cases


def _entity_cases() -> list[Case]:
    passwd = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    remote = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/secret">]>'
    parameter = '<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{base}/secret.dtd"> %ext;]>'
    external_dtd = '<!DOCTYPE rss SYSTEM "{base}/secret.dtd">'
    leaky = item(title="leak &xxe; here", description="<p>&xxe;</p>")
    return [
        Case(
            "billion-laughs",
            rss(item(title="&lol9;"), prolog=_BILLION_LAUGHS).encode(),
            expect=Expect.EITHER,
            absent=("lol" * 1000,),
        ),
        Case(
            "quadratic-blowup",
            rss(item(title="&a;" * 2000), prolog=_QUADRATIC).encode(),
            expect=Expect.EITHER,
        ),
        Case(
            "xxe-file",
            rss(item(title="&xxe;", description="<p>&xxe;</p>"), head=passwd).encode(),
            expect=Expect.EITHER,
            absent=(PASSWD_MARKER,),
        ),
        Case("xxe-http", rss(leaky, head=remote).encode(), Expect.EITHER, absent=(SECRET,)),
        Case("xxe-parameter", rss(leaky, head=parameter).encode(), Expect.EITHER, absent=(SECRET,)),
        Case("external-dtd", rss(item(), head=external_dtd).encode(), Expect.EITHER),
        Case(
            "xinclude",
            rss(
                item(
                    extra='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                    'href="file:///etc/passwd" parse="text"/>'
                )
            ).encode(),
            absent=(PASSWD_MARKER,),
        ),
        Case(
            "stylesheet-pi",
            rss(
                item(), head='<?xml-stylesheet type="text/xsl" href="javascript:alert(1)"?>'
            ).encode(),
        ),
    ]


def _broken_cases() -> list[Case]:
    good = rss(item(), item(guid="https://example.org/a/2", title="Second"))
    garbage = random.Random(1).randbytes(4096)
    return [
        Case("empty-body", b"", expect=Expect.ERROR),
        Case("whitespace-body", b"  \n\t ", expect=Expect.ERROR),
        Case("binary-garbage", garbage, expect=Expect.ERROR),
        Case(
            "html-page",
            b"<!doctype html><html><body><p>Hi</p></body></html>",
            "text/html",
            Expect.ERROR,
        ),
        Case("truncated-xml", good.encode()[: len(good) // 2], expect=Expect.EITHER),
        Case("mismatched-tags", good.replace("</title>", "</titel>", 1).encode(), Expect.EITHER),
        Case("unescaped-ampersand", good.replace("Second", "Fish & Chips").encode(), Expect.EITHER),
        Case("json-truncated", _json({"id": "1"})[:-10], "application/feed+json", Expect.ERROR),
        Case("json-not-object", b"[1, 2, 3]", "application/feed+json", Expect.ERROR),
        Case(
            "json-wrong-types",
            _json({"id": {"x": 1}, "title": 7, "content_html": ["a"], "date_published": 5}, "str"),
            "application/feed+json",
            Expect.EITHER,
        ),
        Case(
            "json-items-not-list",
            _json().replace(b"[]", b'"nope"'),
            "application/feed+json",
            Expect.EITHER,
        ),
        Case(
            "declared-utf8-actually-latin1",
            good.replace("Second", "Caf\u00e9 cr\u00e8me").encode("latin-1"),
            expect=Expect.EITHER,
        ),
        Case(
            "undeclared-cp1252",
            good.replace('<?xml version="1.0" encoding="utf-8"?>', "")
            .replace("Second", "\u201cquoted\u201d \u20ac")
            .encode("cp1252"),
            content_type="application/rss+xml",
            expect=Expect.EITHER,
        ),
        Case(
            "utf16-with-bom",
            good.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"),
            content_type="application/rss+xml",
        ),
        Case(
            "bogus-encoding-name",
            good.replace('encoding="utf-8"', 'encoding="x-no-such-charset"').encode(),
            content_type="application/rss+xml; charset=x-no-such-charset",
            expect=Expect.EITHER,
        ),
        Case(
            "header-and-prolog-disagree",
            good.replace("Second", "\u00e9t\u00e9").encode("utf-8"),
            content_type="application/rss+xml; charset=iso-8859-1",
        ),
    ]


def _shape_cases() -> list[Case]:
    return [
        _rss_case(
            "duplicate-ids",
            item(title="First version"),
            item(title="Second version, same guid"),
            item(guid="https://example.org/a/2"),
            entries=2,
        ),
        _rss_case("empty-ids", item(guid=""), item(guid="", title="Other")),
        _rss_case(
            "enormous-single-item",
            item(description="<p>" + "Lorem ipsum dolor sit amet. " * 110_000 + "</p>"),
        ),
        _rss_case(
            "many-items",
            *(item(guid=f"https://example.org/a/{n}", title=f"N{n}") for n in range(3000)),
            entries=3000,
        ),
        _rss_case("long-url", item(description=f'<a href="https://e.org/{"a" * 100_000}">x</a>')),
        *(
            _rss_case(name, item(extra=f"<pubDate>{date}</pubDate>"))
            for name, date in (
                ("far-future-date", "Fri, 31 Dec 9999 23:59:59 GMT"),
                ("year-zero-date", "Sat, 01 Jan 0000 00:00:00 GMT"),
                ("year-one-date", "Mon, 01 Jan 0001 00:00:00 GMT"),
                ("invalid-date", "31 Feb 2024 25:61:61 XYZ"),
            )
        ),
        Case(
            "atom-dates-out-of-range",
            _atom(
                "<title>T</title><published>0000-01-01T00:00:00Z</published>",
                updated="9999-12-31T23:59:59Z",
            ),
            content_type="application/atom+xml",
        ),
        Case(
            "json-dates-out-of-range",
            _json(
                {"id": "a", "title": "a", "date_published": "0000-01-01T00:00:00Z"},
                {"id": "b", "title": "b", "date_published": "99999-01-01T00:00:00Z"},
                {"id": "c", "title": "c", "date_modified": "not a date"},
            ),
            content_type="application/feed+json",
        ),
    ]


def cases() -> list[Case]:
    """Every static case, names unique (pytest ids)."""
    everything = _markup_cases() + _entity_cases() + _broken_cases() + _shape_cases()
    names = [case.name for case in everything]
    assert len(names) == len(set(names)), "case names must be unique"
    return everything
