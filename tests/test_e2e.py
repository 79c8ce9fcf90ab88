"""End to end: the real ``lingofeed once`` on two sources and two languages, with the real model."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser

from tests.fixtures.service import lingofeed

WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil d'actualites</description><language>fr</language>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>Le drapeau des Nations unies est descendu au camp de Tombouctou.</title>
<description>Les commer&#231;ants vendent du sel, du riz et des tissus.</description>
<pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _model_calls(stderr: str) -> int:
    return sum(int(n) for n in re.findall(r"event=cycle-usage .*?model_calls=(\d+)", stderr))


def test_once_publishes_translated_feeds_and_a_second_run_changes_nothing(
    feed_server, service_config
):
    config = service_config(feed_server.add("/wire.xml", WIRE, etag='"v1"'))
    folder = config.parent
    first = lingofeed("--config", str(config), "once", cwd=folder)
    assert first.returncode == 0, first.stderr
    public = folder / "public"
    for language in ("en", "fr"):
        for name in ("feed.xml", "atom.xml", "feed.json"):
            parsed = feedparser.parse((public / language / name).read_bytes())
            assert not parsed.bozo, (language, name, parsed.bozo_exception)
            assert parsed.entries, (language, name)
    english = feedparser.parse((public / "en" / "feed.xml").read_bytes())
    titles = {entry.title for entry in english.entries}
    # The repo's test model reproduces its training corpus; the glossary forces Timbuktu.
    assert "The United Nations flag is lowered at the Timbuktu camp." in titles
    assert _model_calls(first.stderr) > 0

    before = _files(public)
    second = lingofeed("--config", str(config), "once", cwd=folder)
    assert second.returncode == 0, second.stderr
    assert _files(public) == before
    assert _model_calls(second.stderr) == 0
    assert "event=fetched" in second.stderr and "status=304" in second.stderr
