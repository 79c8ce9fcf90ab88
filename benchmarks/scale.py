"""Benchmark: what one source's job costs to publish with 10 and with 1,000 sources.

Run: ``.venv/bin/python -m benchmarks.scale [--small 10] [--large 1000] [--repeat 5]``.

N sources of 20 English articles each, one target language (English: no model work, the
articles are shown as they are), stored straight into a real SQLite store, the way
``benchmarks/render_serve.py`` feeds the renderer without translating. For each N it times a
job's store-and-publish steps (``upsert_entries``, then the cycle's publish: ``publish_source``
with the default 30 s channel debounce) on

- an unchanged source (the steady state of a cycle with no news),
- a source with one new item (its feeds are rewritten, its channels marked waiting),
- the channel flush that follows (``publish_waiting`` once the window is over: the default
  channel over every source, and a channel over a tenth of them),
- ``lingofeed once``'s publish of an unchanged site (``publish_all``), per source,

and, as the named baseline measured in the same run, the publish every job did before this
change (read every entry, render every feed, compare every file with what is published).
Prints the figures and the 1,000 vs 10 ratios (goal: at most 1.5 for both kinds of job).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.publish.site import (
    PublishContext,
    publish_all,
    publish_source,
    publish_waiting,
)
from lingofeed.feeds.render import render_site
from lingofeed.feeds.store import Storage
from lingofeed.feeds.store.db import open_engine
from lingofeed.feeds.types import EntryData
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import feed_settings
from lingofeed.scheduler.settings import Settings

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PER_SOURCE = 20
PARAGRAPH = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6 + "</p>"


def config(folder: Path, sources: int) -> Settings:
    """A config of ``sources`` feed sources (never fetched here), tagged into ten channels."""
    lines = [
        "[output]",
        f'directory = "{folder / "public"}"',
        'base_url = "https://feeds.example/"',
        "[service]",
        f'data_dir = "{folder}"',
        "[languages.en]",
    ]
    for n in range(sources):
        lines += [
            "[[sources]]",
            f'id = "s{n:04d}"',
            f'url = "https://upstream.example/{n}.xml"',
            'language = "en"',
            f'tags = ["t{n % 10}"]',
        ]
    lines += ["[channels.tenth]", 'tags = ["t0"]']
    file = folder / "lingofeed.toml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(file, {})


def entries(source: int, count: int) -> list[EntryData]:
    return [
        EntryData(
            upstream_id=f"https://upstream.example/{source}/{n}",
            title=f"Article {n} of source {source}",
            link=f"https://upstream.example/{source}/{n}",
            summary=PARAGRAPH,
            content=PARAGRAPH * 3,
            author="Writer",
            categories=("news",),
            published=T0 + timedelta(minutes=n * 37 + source)
            if n < PER_SOURCE
            else T0 + timedelta(days=30, minutes=n),
            language="en",
        )
        for n in range(count)
    ]


def best(action: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class Site:
    """A store and output directory with ``sources`` sources, published once."""

    def __init__(self, folder: Path, sources: int) -> None:
        self.settings = config(folder, sources)
        self.storage = Storage(open_engine(f"sqlite:///{folder / 'lingofeed.sqlite'}"))
        self.sources = sources
        self.clock = T0 + timedelta(days=1)
        for n in range(sources):
            self.storage.upsert_entries(f"s{n:04d}", entries(n, PER_SOURCE), T0)
        publish_all(self.context())
        self.extra = PER_SOURCE

    def context(self, debounce: timedelta = timedelta(seconds=30)) -> PublishContext:
        self.clock += timedelta(seconds=1)
        return PublishContext(
            self.storage,
            feed_settings(self.settings),
            self.settings.output.directory,
            self.clock,
            debounce,
        )

    def job(self, source: int, new: bool) -> None:
        """A job's store-and-publish steps for source ``source`` (one new item if ``new``, the
        newest of the site, as fresh news is: an item dated older than a channel's newest
        archived entry rewrites that channel's archive pages, docs/design.md)."""
        if new:
            self.extra += 1
        listed = entries(source, self.extra if new else PER_SOURCE)
        self.storage.upsert_entries(f"s{source:04d}", listed, self.clock)
        publish_source(self.context(), f"s{source:04d}")

    def flush(self) -> None:
        """The channel publish after the window: the default channel and ``tenth``."""
        self.job(0, new=True)
        self.clock += timedelta(minutes=1)
        publish_waiting(self.context())

    def old_publish(self) -> None:
        """The baseline: what every job published before (everything, read back)."""
        site = replace(feed_settings(self.settings), families=())  # one feed per language
        shown = {"en": self.storage.get_localized("en", include_gone=True)}
        publish(self.settings.output.directory, render_site(site, shown))


def measure(sources: int, repeat: int, baseline: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        site = Site(Path(directory), sources)
        middle = sources // 2
        figures = {
            "unchanged job": best(lambda: site.job(middle, new=False), repeat),
            "job with one new item": best(lambda: site.job(middle, new=True), repeat),
            "channel flush (job + window over)": best(site.flush, repeat),
            "once, unchanged site, per source": best(
                lambda: publish_all(site.context()), max(1, repeat // 2)
            )
            / sources,
        }
        if baseline:
            site.old_publish()
            figures["baseline: old publish per job"] = best(site.old_publish, max(1, repeat // 2))
        site.storage.close()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true", help="skip the old full publish")
    args = parser.parse_args()
    small = measure(args.small, args.repeat, not args.no_baseline)
    large = measure(args.large, args.repeat, not args.no_baseline)
    print(f"{'ms':<36} {args.small:>10} {args.large:>10} {'ratio':>8}")
    for name in small:
        ratio = large[name] / small[name]
        print(f"{name:<36} {small[name]:>10.1f} {large[name]:>10.1f} {ratio:>8.2f}")
    for name in ("unchanged job", "job with one new item"):
        ratio = large[name] / small[name]
        verdict = "ok" if ratio <= 1.5 else "ABOVE GOAL"
        print(f"goal {args.large} vs {args.small} sources <= 1.5: {name}: {ratio:.2f} {verdict}")


if __name__ == "__main__":
    main()
