"""The built-in server (real uvicorn on 127.0.0.1) under bounded concurrent load while republishing.

Asserts what must always hold: no 5xx or transport error, every 200 body is a complete published
version whose hash matches its ETag. Latency is printed (p50/p99), never asserted: CI machines
are noisy. ``benchmarks/load.py`` runs the same load with a no-republish baseline.
"""

from __future__ import annotations

import pytest

from benchmarks.load import (
    Republisher,
    describe,
    known_digests,
    percentile,
    run_load,
    site_versions,
)
from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.serve.app import ServerThread, create_app

pytestmark = pytest.mark.timeout(300)


def test_server_under_load_while_republishing_serves_only_whole_files(tmp_path):
    first, second = site_versions(articles=80)
    known = known_digests(first, second)
    publish(tmp_path, first)
    server = ServerThread(create_app(tmp_path))
    base = server.start()
    try:
        with Republisher(tmp_path, (second, first)) as republisher:
            tally, seconds = run_load(base, clients=8, requests=120, known=known, seed=7)
    finally:
        server.stop()
    print(describe("while republishing", tally, seconds))
    print(f"republished {republisher.count} times; statuses {tally.statuses}")
    print(f"p99 full GET {percentile(tally.latencies['full'], 0.99) * 1000:.1f} ms")
    assert tally.problems == []
    assert tally.requests == 8 * 120
    assert set(tally.statuses) <= {200, 304}
    assert tally.statuses.get(304, 0) > 0, "conditional GETs must be exercised"
    assert republisher.count >= 2, "the load must overlap republishing"
