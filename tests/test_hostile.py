"""Hostile and broken upstream feeds, served on 127.0.0.1 and driven through the real ingest.

For every case in ``tests/hostile/corpus.py``: fetch over HTTP, parse, store, render, publish.
The case either yields entries or fails with a ``SourceError`` naming the source; it never
crashes, never hangs (pytest-timeout), never contacts anything an entity points at, and nothing
executable appears in any published RSS/Atom/JSON/OPML/index.html (checked after parsing).
A handful of markup cases also go, declared French, through the real fr->en model and the cycle.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from lingofeed.feeds.errors import FetchError, ParseError, SourceError
from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.types import Source
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.translations.models import ModelStore
from tests.fixtures.feeds import FeedServer, Reply
from tests.fixtures.service import TEST_PACKAGES, config_header
from tests.hostile.corpus import PASSWD_MARKER, SECRET, Case, Expect, cases
from tests.hostile.pipeline import LANGUAGE, ingest, publish_store
from tests.hostile.safety import tree_problems, visible_text
from tests.hostile.upstream import Behaviour, Upstream, gzip_bomb, huge_feed

pytestmark = pytest.mark.timeout(120)

CASES = cases()


@pytest.fixture
def fetcher():
    with Fetcher(timeout=10.0) as client:
        yield client


def _serve(feed_server: FeedServer, case: Case) -> str:
    """Serve the case at /feed, plus the secrets an entity payload might try to pull in."""
    feed_server.add("/secret", SECRET, content_type="text/plain")
    feed_server.add("/secret.dtd", f'<!ENTITY xxe "{SECRET}">', content_type="application/xml")
    body = case.body.replace(b"{base}", feed_server.base_url.encode())
    return feed_server.add("/feed", body, content_type=case.content_type)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_feed_is_published_safely_or_refused_clearly(
    case: Case, feed_server: FeedServer, storage, fetcher, tmp_path
):
    source = Source(id=f"hostile-{case.name}", url=_serve(feed_server, case), language=LANGUAGE)
    try:
        entries = ingest(fetcher, storage, source)
    except SourceError as error:
        assert case.expect is not Expect.ENTRIES, f"usable feed refused: {error}"
        assert source.id in str(error), "the error must name the source"
        entries = ()
    else:
        assert case.expect is not Expect.ERROR, f"unusable feed accepted: {entries}"
    if case.expect is Expect.ENTRIES:
        assert entries, "a usable feed must give entries"
    if case.entries is not None:
        assert len(storage.get_articles(source.id)) == case.entries
    output = tmp_path / "public"
    files = publish_store(storage, output)
    assert tree_problems(output) == []
    for secret in (SECRET, PASSWD_MARKER, *case.absent):
        assert not any(secret.encode() in data for data in files.values()), secret
        assert not any(secret in repr(entry) for entry in entries), secret
    assert [r.path for r in feed_server.requests if r.path.startswith("/secret")] == []
    shown = "\n".join(visible_text(output / path) for path in files if path != "index.html")
    for text in case.keep_text:
        assert text in shown, f"{text!r} must reach the reader as text"


#: Scripts, on* handlers, an iframe, javascript: URLs, entity-escaped markup, in every format.
TRANSLATED_CASES = (
    *("script-0", "script-3", "script-6", "script-9", "script-15", "url-0", "url-3", "url-4"),
    *("html-in-title", "escaped-markup-stays-text", "media-content-data-url"),
    *("content-encoded-script", "atom-xhtml-script", "atom-html-content", "json-feed-hostile"),
)
_SCHOOLS = "Les écoles ont rouvert leurs portes en octobre."
_ROADS = "Les routes vers Gao et Mopti restent dangereuses."
_TRADERS = "Les commerçants vendent du sel, du riz et des tissus."
#: The corpus's English filler as French sentences the test model knows (it cannot translate a
#: lone word such as "x": see test_cycle_failures for what that does to its item).
_IN_FRENCH = {
    "<title>Item</title>": "<title>Le grand marché de Tombouctou est de nouveau animé.</title>",
    "<title>T</title>": "<title>Le grand marché de Tombouctou est de nouveau animé.</title>",
    "<p>Before</p>": f"<p>{_TRADERS}</p>",
    "<p>After</p>": f"<p>{_SCHOOLS}</p>",
    "<p>Body</p>": f"<p>{_ROADS}</p>",
    "<p>Full</p>": f"<p>{_SCHOOLS}</p>",
    ">x<": f">{_SCHOOLS}<",
    ">y<": f">{_ROADS}<",
    ">a</p>": f">{_SCHOOLS}</p>",
    "&gt;ok&lt;": f"&gt;{_ROADS}&lt;",
    "&lt;/script&gt;s</summary>": f"&lt;/script&gt;{_TRADERS}</summary>",
    '"title": "text"': f'"title": "{_ROADS}"',
    # The hostile URLs' link text and alt: words the test model knows (on "link" and "pic" it
    # runs away, and an item with a passage it cannot translate is rightly held back).
    ">link</a>": f">{_TRADERS}</a>",
    'alt="pic"': f'alt="{_SCHOOLS}"',
    "<language>en</language>": "<language>fr</language>",
    'xml:lang="en"': 'xml:lang="fr"',
    '"language": "en"': '"language": "fr"',
}
_FR_EN = "translate-fr_en-lingofeed_test.argosmodel"

_TRANSLATED_CONFIG = config_header("https://feeds.example/") + "[languages.en]\n"


def _in_french(case: Case) -> bytes:
    body = case.body
    for english, french in _IN_FRENCH.items():
        body = body.replace(english.encode(), french.encode())
    return body


def test_hostile_french_items_translated_into_english_are_published_safely(
    feed_server: FeedServer, tmp_path
):
    """The translated path: model output and re-inserted tags are sanitised again, so nothing
    executable reaches the English feeds, and escaped markup stays harmless text."""
    chosen = [case for case in CASES if case.name in TRANSLATED_CASES]
    assert len(chosen) == len(TRANSLATED_CASES)
    feed_server.add("/secret", SECRET, content_type="text/plain")
    sources = "".join(
        f'[[sources]]\nid = "{case.name}"\nlanguage = "fr"\nurl = "'
        + feed_server.add(f"/{case.name}", _in_french(case), content_type=case.content_type)
        + '"\n'
        for case in chosen
    )
    config = tmp_path / "lingofeed.toml"
    config.write_text(_TRANSLATED_CONFIG + sources, encoding="utf-8")
    settings = load_settings(config)
    ModelStore(settings.models.directory).install_file(TEST_PACKAGES / _FR_EN, progress=False)
    with open_runtime(settings) as runtime:
        reports = run_cycle(runtime.context(settings))
        shown = {entry.source_id for entry in runtime.storage.get_localized("en")}
    assert [(r.source_id, r.error) for r in reports if r.error] == []
    assert sum(report.translated for report in reports) >= len(chosen)
    assert shown == set(TRANSLATED_CASES), "every case must reach the English feed translated"
    public = tmp_path / "public"
    assert tree_problems(public) == []
    published = b"".join(path.read_bytes() for path in public.rglob("*") if path.is_file())
    assert SECRET.encode() not in published


def test_a_parse_error_names_the_source_and_the_reason(feed_server, storage, fetcher):
    url = feed_server.add("/feed", b"<html><body>no feed here</body></html>")
    source = Source(id="broken", url=url, language=LANGUAGE)
    with pytest.raises(ParseError) as caught:
        ingest(fetcher, storage, source)
    message = str(caught.value)
    assert "broken" in message and url in message
    assert storage.get_articles("broken") == []


def test_ids_that_change_every_fetch_leave_only_the_latest_items_shown(
    feed_server, storage, fetcher, tmp_path
):
    fetches = []

    def changing(_request):
        fetches.append(1)
        n = len(fetches)
        items = "".join(
            f"<item><title>T{k}</title><guid>urn:x:{n}-{k}</guid></item>" for k in range(5)
        )
        channel = f"<title>c</title><language>en</language>{items}"
        body = f'<rss version="2.0"><channel>{channel}</channel></rss>'
        return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})

    source = Source(id="churn", url=feed_server.handle("/feed", changing), language=LANGUAGE)
    for _ in range(4):
        ingest(fetcher, storage, source)
    shown = storage.get_localized(LANGUAGE, source_id="churn")
    assert len(shown) == 5, "items no longer listed upstream must not stay in the feed"
    assert {entry.upstream_id for entry in shown} == {f"urn:x:4-{k}" for k in range(5)}
    publish_store(storage, tmp_path / "public")
    assert tree_problems(tmp_path / "public") == []


_PEAK_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from lingofeed.feeds.ingest.parse import parse_feed
    from lingofeed.feeds.types import Source
    from tests.hostile.corpus import cases
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wanted = set(sys.argv[1:])
    outcome = {}
    for case in cases():
        if case.name not in wanted:
            continue
        try:
            parsed = parse_feed(Source("m", "http://x/"), case.body, base_url="http://x/",
                                content_type=case.content_type)
            outcome[case.name] = len(parsed.entries)
        except Exception as error:
            outcome[case.name] = type(error).__name__
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_kib": after - before, "outcome": outcome}))
    """
)


def test_entity_expansion_and_huge_items_parse_in_bounded_memory():
    """Parsed in a fresh process so its peak RSS says what these documents cost (C memory too)."""
    names = ["billion-laughs", "quadratic-blowup", "enormous-single-item", "deeply-nested"]
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, *names],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"peak RSS growth parsing {names}: {report['grew_kib'] / 1024:.0f} MiB {report}")
    assert report["grew_kib"] < 400 * 1024, report
    assert set(report["outcome"]) == set(names)
    for name, outcome in report["outcome"].items():
        assert isinstance(outcome, int) or outcome == "ParseError", (name, outcome)


@pytest.fixture
def upstream():
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


def _peak_while(action) -> tuple[int, BaseException | None]:
    """Python heap peak (bytes) while ``action`` runs, and what it raised."""
    tracemalloc.start()
    try:
        action()
    except BaseException as error:  # reported to the caller, which asserts on it
        return tracemalloc.get_traced_memory()[1], error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, None


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_200_mb_body_is_cut_at_the_size_limit_in_bounded_memory(upstream, declared):
    total = 200 * 1024 * 1024
    headers = {"Content-Type": "application/rss+xml"}
    if declared:
        headers["Content-Length"] = str(total)
    url = upstream.add("/huge", Behaviour(headers=headers, chunks=huge_feed(total)))
    limit = 4 * 1024 * 1024
    with Fetcher(timeout=20.0, max_bytes=limit) as fetcher:
        peak, error = _peak_while(lambda: fetcher.fetch("huge", url))
    assert isinstance(error, FetchError), error
    assert "too large" in str(error) and "huge" in str(error)
    print(f"200 MB body ({'declared' if declared else 'undeclared'}): peak {peak >> 20} MiB")
    assert peak < 4 * limit, f"peak {peak} bytes for a {limit}-byte limit"


def test_a_gzip_bomb_is_cut_at_the_size_limit_after_decompression(upstream):
    bomb = gzip_bomb(256 * 1024 * 1024)
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    headers["Content-Length"] = str(len(bomb))
    url = upstream.add("/bomb", Behaviour(headers=headers, chunks=lambda: iter([bomb])))
    limit = 4 * 1024 * 1024
    with Fetcher(timeout=20.0, max_bytes=limit) as fetcher:
        peak, error = _peak_while(lambda: fetcher.fetch("bomb", url))
    assert isinstance(error, FetchError) and "too large" in str(error), error
    print(f"gzip bomb of {len(bomb) >> 10} KiB: peak {peak >> 20} MiB")
    assert peak < 4 * limit + 2 * len(bomb)
