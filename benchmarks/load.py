"""Benchmark: the built-in server under concurrent load while the feeds are republished.

Run from the repository root:
``.venv/bin/python -m benchmarks.load [--clients 8] [--requests 400] [--articles 200]``.

Many httpx clients on loopback GET the published feeds against the real uvicorn server, half
of them conditional (If-None-Match with the last ETag they saw), while a thread republishes
two alternating versions of the site as fast as ``publish`` allows. Every 200 body is checked:
its hash must match its ETag and be one of the two published versions (no partial or mixed
file). The named baseline is the same load with no republishing. Prints requests/s, p50 and
p99 per kind. ``tests/test_load.py`` runs a bounded version of this and asserts the checks.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from benchmarks.render_serve import synthetic
from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.render import FeedSettings, render_site
from lingofeed.feeds.serve.app import ServerThread, create_app
from lingofeed.feeds.types import LocalizedEntry

LANGUAGES = ("en", "fr")
PATHS = ("en/feed.xml", "en/atom.xml", "en/feed.json", "fr/feed.xml", "fr/atom.xml", "index.html")


def _benchmark_entries(articles: int) -> dict[str, list[LocalizedEntry]]:
    """The synthetic articles of ``benchmarks/render_serve.py``, in our two languages."""
    return {code: entries for code, entries in synthetic(articles).items() if code in LANGUAGES}


def site_versions(articles: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Two renderings of the same site whose feeds differ in every entry's title."""
    settings = FeedSettings("https://feeds.example/", LANGUAGES, item_limit=50)
    first = _benchmark_entries(articles)
    second = {
        code: [replace(entry, title=entry.title + " (edited)") for entry in entries]
        for code, entries in first.items()
    }
    return render_site(settings, first), render_site(settings, second)


def digest(body: bytes) -> str:
    """The server's strong ETag value for ``body`` (sha256, 32 hex digits)."""
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass
class Tally:
    """Latencies per kind and every problem seen; shared by the client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"full": [], "cond": []})
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int, problem: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if problem is not None:
                self.problems.append(problem)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _check(path: str, response: httpx.Response, known: Mapping[str, set[str]]) -> str | None:
    """None when a response is whole and consistent; else what is wrong with it."""
    status = response.status_code
    if status == 304:
        return None
    if status != 200:
        return f"{path}: HTTP {status}"
    etag = response.headers.get("etag", "").strip('"').removesuffix("-gz")
    body_digest = digest(response.content)
    if body_digest != etag:
        return f"{path}: body hash {body_digest} does not match ETag {etag}"
    if body_digest not in known[path]:
        return f"{path}: body of {len(response.content)} bytes is no published version"
    return None


def client(base: str, count: int, seed: int, known: Mapping[str, set[str]], tally: Tally) -> None:
    """``count`` GETs of random paths; every other one conditional on the last ETag seen."""
    rng = random.Random(seed)
    etags: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=30.0) as http:
        for number in range(count):
            path = rng.choice(PATHS)
            conditional = number % 2 == 1 and path in etags
            headers = {"If-None-Match": etags[path]} if conditional else {}
            started = time.perf_counter()
            try:
                response = http.get(path, headers=headers)
            except httpx.HTTPError as error:
                tally.add("cond" if conditional else "full", 0.0, 0, f"{path}: {error!r}")
                continue
            elapsed = time.perf_counter() - started
            problem = _check(path, response, known)
            if "etag" in response.headers:
                etags[path] = response.headers["etag"]
            tally.add("cond" if conditional else "full", elapsed, response.status_code, problem)


class Republisher:
    """Publishes the versions in turn until stopped; counts completed publishes."""

    def __init__(self, output: Path, versions: Sequence[Mapping[str, bytes]]) -> None:
        self.output = output
        self.versions = versions
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="republisher", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            publish(self.output, self.versions[self.count % len(self.versions)])
            self.count += 1
            self._stop.wait(0.002)

    def __enter__(self) -> Republisher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def run_load(
    base: str, clients: int, requests: int, known: Mapping[str, set[str]], seed: int = 0
) -> tuple[Tally, float]:
    """``clients`` threads of ``requests`` GETs each; the tally and the wall-clock seconds."""
    tally = Tally()
    threads = [
        threading.Thread(target=client, args=(base, requests, seed + n, known, tally))
        for n in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return tally, time.perf_counter() - started


def known_digests(*versions: Mapping[str, bytes]) -> dict[str, set[str]]:
    return {path: {digest(version[path]) for version in versions} for path in PATHS}


def describe(label: str, tally: Tally, seconds: float) -> str:
    parts = [f"{label:<22} {tally.requests / seconds:7.0f} req/s"]
    for kind, values in tally.latencies.items():
        parts.append(
            f"{kind}: n={len(values)} p50={percentile(values, 0.5) * 1000:6.1f} ms "
            f"p99={percentile(values, 0.99) * 1000:6.1f} ms"
        )
    return "   ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="per client")
    parser.add_argument("--articles", type=int, default=200)
    args = parser.parse_args()
    first, second = site_versions(args.articles)
    known = known_digests(first, second)
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory)
        publish(output, first)
        server = ServerThread(create_app(output))
        base = server.start()
        try:
            tally, seconds = run_load(base, args.clients, args.requests, known)
            print(describe("baseline (no publish)", tally, seconds))
            with Republisher(output, (second, first)) as republisher:
                tally, seconds = run_load(base, args.clients, args.requests, known, seed=99)
            print(describe("while republishing", tally, seconds))
            print(f"  republished {republisher.count} times; statuses {tally.statuses}")
            mean = statistics.fmean(tally.latencies["full"]) * 1000
            print(f"  mean full GET {mean:.1f} ms; problems: {len(tally.problems)}")
            for problem in tally.problems[:10]:
                print(f"  PROBLEM {problem}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
