"""Full text (``full_text = true``) the way an operator meets it: ``lingofeed once`` on a config.

A French feed served on 127.0.0.1 carries only summaries; its items link to article pages on
127.0.0.1 wrapped in navigation, a footer and reader comments. The published feeds (parsed with
feedparser) must carry the article, translated by the repo's real test model (the French comes
from its training corpus, which it reproduces exactly), and none of the boilerplate. A second
run after an upstream edit sends a conditional GET and does not extract again; pages that fail
(500, too large, not HTML) keep the summary, are not retried at once, and show on the status.
With ``allow_private_addresses`` off, the private page is refused with a clear message.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from lingofeed.feeds.ingest.fetch import DEFAULT_MAX_BYTES
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.translations.testmodel import read_corpus
from tests.feedrules import assert_valid_atom, assert_valid_json_feed, assert_valid_rss
from tests.fixtures.feeds import FeedServer, RecordedRequest, Reply
from tests.fixtures.models import committed_packages
from tests.fixtures.service import config_header, lingofeed

EN = dict(read_corpus())

CAMP_TITLE = "La MINUSMA remet le camp de Tombouctou aux autorités maliennes"
CAMP_PARAGRAPHS = (
    "Le camp de Tombouctou a été remis aux autorités maliennes le 28 décembre.",
    "La cérémonie s'est déroulée en présence du gouverneur de la région.",
    "Les camps vides ont été remis à l'armée.",
)
CAMP_HEADING = "Les Casques bleus ont quitté la ville après dix ans de présence."
CAMP_LIST = (
    "Le matériel restant a été transporté vers Bamako par la route.",
    "Le dernier convoi a quitté Gao en décembre.",
)
CAMP_CAPTION = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
CAMP_ALT = "Des soldats devant le drapeau des Nations unies."
MARKET_TITLE = "À Tombouctou, le grand marché reprend vie"
MARKET_PARAGRAPHS = (
    "Le grand marché de Tombouctou est de nouveau animé.",
    "Les commerçants vendent du sel, du riz et des tissus.",
    "Beaucoup d'habitants craignent pour la sécurité de la ville.",
    "Les routes vers Gao et Mopti restent dangereuses.",
    "Les écoles ont rouvert leurs portes en octobre.",
)
#: Around every article: none of it may reach a feed.
BOILERPLATE = (
    "Accueil du Journal",
    "Rubrique Sahel",
    "Commentaires des lecteurs",
    "Tout ceci est scandaleux, je résilie mon abonnement",
    "Tous droits réservés au Journal du Sahel",
    "Abonnez-vous à notre lettre",
)


def article_page(title: str, body: str) -> str:
    """A news page: navigation, the article, reader comments, a footer."""
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{title} - Journal du Sahel</title>
<script>window.tracker = "{BOILERPLATE[0]}";</script></head><body>
<header><nav><ul><li><a href="/">{BOILERPLATE[0]}</a></li><li><a href="/sahel">{BOILERPLATE[1]}</a>
</li><li><a href="/monde">Monde</a></li></ul></nav></header>
<main><article><h1>{title}</h1>{body}</article>
<section id="comments" class="comments"><h3>{BOILERPLATE[2]}</h3>
<div class="comment"><p>Amadou : {BOILERPLATE[3]}, vraiment pas sérieux.</p></div>
<div class="comment"><p>Fatou : Merci pour cet article, je le partage avec ma famille.</p></div>
</section></main>
<footer><p>© 2024 {BOILERPLATE[4]}. Mentions légales.</p>
<a href="/abonnement">{BOILERPLATE[5]}</a></footer></body></html>"""


CAMP_PAGE = article_page(
    CAMP_TITLE,
    f"<p>{CAMP_PARAGRAPHS[0]}</p>"
    f'<figure><img src="/img/drapeau.jpg" alt="{CAMP_ALT}"><figcaption>{CAMP_CAPTION}'
    f"</figcaption></figure><p>{CAMP_PARAGRAPHS[1]}</p><h2>{CAMP_HEADING}</h2>"
    f"<ul><li>{CAMP_LIST[0]}</li><li>{CAMP_LIST[1]}</li></ul>"
    f'<p>{CAMP_PARAGRAPHS[2]} <a href="/communique">Lire le communiqué de la mission.</a></p>',
)
MARKET_PAGE = article_page(MARKET_TITLE, "".join(f"<p>{p}</p>" for p in MARKET_PARAGRAPHS))

SUMMARIES = {
    "camp": "Les derniers Casques bleus ont quitté le pays.",
    "market": "Les commerçants de Tombouctou espèrent le retour des visiteurs.",
    "broken": "Le dernier convoi a quitté Gao en décembre.",
    "huge": "Le retrait s'est fait en plusieurs étapes.",
    "pdf": "Le gouvernement malien a demandé le départ de la mission.",
}
TITLES = {
    "camp": CAMP_TITLE,
    "market": MARKET_TITLE,
    "broken": "Le convoi est arrivé à Gao deux jours plus tard.",
    "huge": "La base de Ber a été fermée en août.",
    "pdf": "Le Conseil de sécurité a voté la fin du mandat de la MINUSMA en juin 2023.",
}
PAGES = {
    "camp": "/articles/camp.html",
    "market": "/articles/market.html",
    "broken": "/articles/broken.html",
    "huge": "/articles/huge.html",
    "pdf": "/articles/report.pdf",
}


def feed(server: FeedServer, summaries: dict[str, str]) -> bytes:
    items = "".join(
        f"<item><guid>{server.url(PAGES[key])}</guid><link>{server.url(PAGES[key])}</link>"
        f"<title>{TITLES[key]}</title><description>{summaries[key]}</description>"
        f"<pubDate>Mon, {15 + n:02d} Jan 2024 08:00:00 GMT</pubDate></item>"
        for n, key in enumerate(PAGES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Journal du Sahel</title><link>https://sahel.example.org/</link>"
        f"<description>Résumés</description><language>fr</language>{items}</channel></rss>"
    ).encode()


def serve_pages(server: FeedServer) -> None:
    html = "text/html; charset=utf-8"
    server.add(PAGES["camp"], CAMP_PAGE, content_type=html, etag='"camp-1"')
    server.add(PAGES["market"], MARKET_PAGE, content_type=html, etag='"market-1"')
    server.handle(PAGES["broken"], lambda _r: Reply(500, b"oops", {"Content-Type": "text/plain"}))
    server.add(PAGES["huge"], "<p>x</p>" * (DEFAULT_MAX_BYTES // 8 + 1), content_type=html)
    server.add(PAGES["pdf"], b"%PDF-1.4 not a page", content_type="application/pdf")


def make_folder(folder: Path, feed_url: str, *, allow_private: bool) -> Path:
    config = folder / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/").replace(
            "[service]\n", f"[service]\nallow_private_addresses = {str(allow_private).lower()}\n"
        )
        + f"""
[languages.en]
[languages.fr]

[[sources]]
id = "sahel"
url = "{feed_url}"
language = "fr"
full_text = true
""",
        encoding="utf-8",
    )
    for package in sorted(committed_packages().values()):
        done = lingofeed("--config", str(config), "models", "install", str(package), cwd=folder)
        assert done.returncode == 0, done.stderr
    return config


@dataclass(frozen=True)
class Runs:
    server: FeedServer
    config: Path
    public: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    status: subprocess.CompletedProcess[str]
    #: Requests the server saw during the first run, by path.
    first_requests: dict[str, int]


def _counts(server: FeedServer) -> dict[str, int]:
    return {path: len(server.requests_for(path)) for path in PAGES.values()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Two ``lingofeed once``: the second after upstream edited the camp item's summary."""
    server = FeedServer()
    try:
        serve_pages(server)
        folder = tmp_path_factory.mktemp("fulltext")
        feed_url = server.add("/feed.xml", feed(server, SUMMARIES))
        config = make_folder(folder, feed_url, allow_private=True)
        first = lingofeed("--config", str(config), "once", cwd=folder)
        assert first.returncode == 0, first.stderr
        first_requests = _counts(server)
        edited = SUMMARIES | {"camp": "Le représentant spécial s'est rendu à Gao."}
        server.add("/feed.xml", feed(server, edited))
        second = lingofeed("--config", str(config), "once", cwd=folder)
        assert second.returncode == 0, second.stderr
        status = lingofeed("--config", str(config), "status", cwd=folder)
        yield Runs(server, config, folder / "public", first, second, status, first_requests)
    finally:
        server.close()


def _entries(public: Path, language: str) -> dict[str, Any]:
    parsed = feedparser.parse((public / language / "feed.xml").read_bytes())
    return {entry.link: entry for entry in parsed.entries}


def _content(entry: Any) -> str:
    return " ".join(part.value for part in entry.get("content", []))


def test_the_published_feed_carries_the_translated_article_not_the_summary_alone(runs):
    entry = _entries(runs.public, "en")[runs.server.url(PAGES["camp"])]
    content = _content(entry)
    for french in (*CAMP_PARAGRAPHS, CAMP_HEADING, *CAMP_LIST):
        assert EN[french] in content, (EN[french], content)
    assert re.search(r"<h2[^>]*>", content) and "<li" in content
    assert f"<figcaption>{EN[CAMP_CAPTION]}</figcaption>" in content
    assert EN["Lire le communiqué de la mission."] in content
    assert runs.server.url("/communique") in content
    assert entry.summary == EN["Le représentant spécial s'est rendu à Gao."]  # the edited summary
    market = _content(_entries(runs.public, "en")[runs.server.url(PAGES["market"])])
    assert all(EN[french] in market for french in MARKET_PARAGRAPHS)


def test_navigation_footer_and_comments_stay_out_of_every_feed(runs):
    for language in ("en", "fr"):
        entries = _entries(runs.public, language)
        original = _content(entries[runs.server.url(PAGES["camp"])])
        if language == "fr":
            assert CAMP_PARAGRAPHS[0] in original
        for entry in entries.values():
            for text in BOILERPLATE:
                assert text not in _content(entry) + entry.get("summary", ""), (language, text)


def test_the_title_is_not_repeated_as_the_first_heading_of_the_content(runs):
    content = _content(_entries(runs.public, "fr")[runs.server.url(PAGES["camp"])])
    assert "<h1" not in content and CAMP_TITLE not in content


def test_every_feed_stays_valid(runs):
    for language in ("en", "fr"):
        assert_valid_rss((runs.public / language / "feed.xml").read_bytes())
        assert_valid_atom((runs.public / language / "atom.xml").read_bytes())
        assert_valid_json_feed((runs.public / language / "feed.json").read_bytes())


def test_an_edited_item_refetches_its_page_conditionally_and_does_not_extract_it_again(runs):
    camp = runs.server.requests_for(PAGES["camp"])
    assert [r.headers.get("if-none-match") for r in camp] == [None, '"camp-1"']
    url = runs.server.url(PAGES["camp"])
    assert f"event=page-extracted url={url}" in runs.first.stderr
    assert f"event=page-not-modified url={url}" in runs.second.stderr
    assert "event=page-extracted" not in runs.second.stderr


def test_an_unchanged_item_does_not_fetch_its_page_again(runs):
    assert len(runs.server.requests_for(PAGES["market"])) == 1


def test_failing_pages_keep_the_summary_and_wait_for_their_backoff(runs):
    entries = _entries(runs.public, "en")
    for key in ("broken", "huge", "pdf"):
        entry = entries[runs.server.url(PAGES[key])]
        assert entry.summary == EN[SUMMARIES[key]], key
        body = _content(entry).split('<p class="lingofeed-notice">')[0].strip()
        assert body == entry.summary, key  # the feed's own text, nothing from the page
        assert runs.first_requests[PAGES[key]] == 1, key
        # the second run came well within the first retry's wait (1 min): no new request
        assert len(runs.server.requests_for(PAGES[key])) == 1, key
    assert "HTTP 500" in runs.first.stderr
    assert "response too large" in runs.first.stderr
    assert "not an HTML page (Content-Type application/pdf)" in runs.first.stderr


def test_check_says_the_source_fetches_full_text(runs):
    done = lingofeed("--config", str(runs.config), "check", cwd=runs.config.parent)
    assert done.returncode == 0, done.stderr
    assert f"sahel: {runs.server.url('/feed.xml')} (fr), every 15m, full text" in done.stdout


def test_status_counts_the_failed_pages_of_the_source(runs):
    assert runs.status.returncode == 0, runs.status.stderr
    head, row = (
        line for line in runs.status.stdout.splitlines() if line.startswith(("source", "sahel"))
    )
    assert "pages failed" in head
    assert re.search(r"\s3\s+0\s+page: ", row), row  # pages failed, filtered, error


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, FeedServer, str]]:
    """One ``lingofeed once`` with ``allow_private_addresses = false``; its stderr."""
    server = FeedServer()
    try:
        serve_pages(server)
        folder = tmp_path_factory.mktemp("refused")
        config = make_folder(
            folder, server.add("/feed.xml", feed(server, SUMMARIES)), allow_private=False
        )
        done = lingofeed("--config", str(config), "once", cwd=folder)
        assert done.returncode == 0, done.stderr
        status = lingofeed("--config", str(config), "status", cwd=folder)
        yield folder / "public", server, done.stderr + status.stdout
    finally:
        server.close()


def test_without_the_flag_a_private_page_is_refused_and_the_item_keeps_its_summary(refused):
    public, server, output = refused
    assert server.requests_for("/feed.xml"), "the operator's own feed URL is not guarded"
    assert all(not server.requests_for(path) for path in PAGES.values())
    assert "refused: 127.0.0.1 is a loopback address" in output
    assert "allow_private_addresses = true" in output
    entry = _entries(public, "en")[server.url(PAGES["camp"])]
    assert entry.summary == EN[SUMMARIES["camp"]]
    assert EN[CAMP_PARAGRAPHS[0]] not in _content(entry)


class _Flaky:
    """A page that answers 503 until ``fixed`` is set, then serves ``page`` with an ETag."""

    def __init__(self, page: str) -> None:
        self.page = page.encode()
        self.fixed = False

    def __call__(self, request: RecordedRequest) -> Reply:
        if not self.fixed:
            return Reply(503, b"busy", {"Content-Type": "text/plain"})
        return Reply(200, self.page, {"Content-Type": "text/html; charset=utf-8", "ETag": '"m"'})


def test_a_failed_page_is_retried_after_its_backoff_even_when_the_feed_answers_304(tmp_path):
    server = FeedServer()
    try:
        serve_pages(server)
        flaky = _Flaky(MARKET_PAGE)
        server.handle(PAGES["market"], flaky)
        config = make_folder(
            tmp_path,
            server.add("/feed.xml", feed(server, SUMMARIES), etag='"f"'),
            allow_private=True,
        )
        settings = load_settings(config)
        t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        url = server.url(PAGES["market"])
        with open_runtime(settings) as runtime:
            for offset, fixed in ((0, False), (30, True), (130, True)):
                flaky.fixed = fixed
                at = t0 + timedelta(seconds=offset)
                run_cycle(replace(runtime.context(settings), clock=lambda at=at: at))
                if offset == 30:  # within the first wait (1 min): not asked again
                    assert len(server.requests_for(PAGES["market"])) == 1
            page = runtime.storage.get_pages([url])[url]
        feed_requests = server.requests_for("/feed.xml")
        assert [r.headers.get("if-none-match") for r in feed_requests] == [None, '"f"', '"f"']
        assert len(server.requests_for(PAGES["market"])) == 2
        assert page.error is None and page.consecutive_failures == 0
        content = _content(_entries(tmp_path / "public", "en")[url])
        assert all(EN[french] in content for french in MARKET_PARAGRAPHS)
    finally:
        server.close()
