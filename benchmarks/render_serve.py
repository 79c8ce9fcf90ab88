"""Benchmark: render + publish 5,000 articles x 3 languages, then conditional GETs on loopback.

Run: ``.venv/bin/python benchmarks/render_serve.py [--articles 5000] [--requests 3000]``.

Prints wall-clock figures for a full render, the publish that writes everything, a re-render
with a publish that writes nothing (the steady state of a cycle with no news), and requests/s
for conditional GETs (304) against full GETs (200, the named baseline) from a few concurrent
httpx clients against the real uvicorn server. Synthetic data, no translation involved.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx

from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.render import FeedSettings, render_site
from lingofeed.feeds.serve.app import ServerThread, create_app
from lingofeed.feeds.types import LocalizedEntry, Media

LANGUAGES = ("en", "fr", "de")
T = TypeVar("T")
T0 = datetime(2023, 1, 1, tzinfo=UTC)


def synthetic(articles: int) -> dict[str, list[LocalizedEntry]]:
    paragraph = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + "</p>"
    return {
        language: [
            LocalizedEntry(
                source_id=f"src{n % 5}",
                upstream_id=f"https://upstream.example/{n}",
                language=language,
                original_language="en",
                title=f"Article {n} in {language}",
                link=f"https://upstream.example/{n}",
                summary=paragraph,
                content=paragraph * 4,
                author="Writer",
                categories=("news", f"topic{n % 7}"),
                media=(Media(f"https://upstream.example/{n}.jpg", "image/jpeg", 1000, "Caption"),),
                published=T0 + timedelta(minutes=n),
                updated=T0 + timedelta(minutes=n, seconds=30),
                machine_translated=language != "en",
            )
            for n in range(articles)
        ]
        for language in LANGUAGES
    }


def timed(label: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    print(f"{label:<44} {time.perf_counter() - start:8.2f} s")
    return result


def hammer(base: str, path: str, total: int, clients: int, conditional: bool) -> float:
    """Requests/s of ``total`` GETs of ``path`` split over ``clients`` threads."""
    with httpx.Client() as probe:
        etag = probe.get(base + path).headers["etag"]
    headers = {"If-None-Match": etag} if conditional else {}
    expected = 304 if conditional else 200
    failures: list[int] = []

    def worker(count: int) -> None:
        with httpx.Client(headers=headers) as http:
            for _ in range(count):
                status = http.get(base + path).status_code
                if status != expected:
                    failures.append(status)

    threads = [threading.Thread(target=worker, args=(total // clients,)) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"unexpected statuses: {sorted(set(failures))}")
    return (total // clients) * clients / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    settings = FeedSettings(
        "https://feeds.example/", LANGUAGES, item_limit=50, archive_page_size=200
    )
    entries = synthetic(args.articles)
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "public"
        files = timed(
            f"render {args.articles} x {len(LANGUAGES)} languages",
            lambda: render_site(settings, entries),
        )
        size = sum(len(data) for data in files.values())
        print(f"  {len(files)} files, {size / 1e6:.1f} MB")
        result = timed("publish (all files new)", lambda: publish(output, files))
        print(f"  changed={len(result.changed)}")
        again = timed("re-render unchanged content", lambda: render_site(settings, entries))
        result = timed("publish again (nothing changed)", lambda: publish(output, again))
        print(f"  changed={len(result.changed)} unchanged={len(result.unchanged)}")

        server = ServerThread(create_app(output))
        base = server.start()
        try:
            for path in ("fr/feed.xml", "fr/atom.xml"):
                full = hammer(base, path, args.requests, args.clients, conditional=False)
                cond = hammer(base, path, args.requests, args.clients, conditional=True)
                print(
                    f"GET {path:<14} full 200 (baseline): {full:7.0f} req/s   "
                    f"conditional 304: {cond:7.0f} req/s   ratio {cond / full:4.2f}"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
