"""What the job queue costs: sentences/s end to end with workers on PostgreSQL vs ``once``.

``python -m benchmarks.workers [--texts 240] [--sources 4]`` (from the repository root, on an
otherwise idle machine; Debian's postgresql must be installed: ``scripts/install.sh``).

The same work three ways, each on a fresh install with the random-weight fr->en model of real
Argos size (``benchmarks/realsize_model.py``): ``--texts`` French article files of 1-3
sentences in ``--sources`` directory sources, translated into English.

- baseline: ``lingofeed once`` on SQLite, one process, ``[engine] inter_threads = 2``;
- one worker x 2 threads: ``lingofeed worker`` on PostgreSQL, ``inter_threads = 2``;
- two workers x 1 thread: two ``lingofeed worker`` processes, ``inter_threads = 1`` each.

Each time is from the start of the processes (model loading included, as in ``once``) until
every article is translated (or failed: random weights lose some protected numbers, and
the article is then marked failed, as it would be with a real model); sentences/s counts
the distinct sentences the model translated (the translation memory's rows). The ratios
against the baseline show what the queue costs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.realsize_model import install_realsize
from benchmarks.translate_throughput import build_texts
from lingofeed.feeds.store.db import open_engine
from lingofeed.scheduler.config import load_settings
from lingofeed.translations.models import ModelStore
from tests.fixtures.postgres import postgres_binaries, start_cluster

_CONFIG = """[service]
data_dir = "data"
{database}
[models]
directory = "{models}"

[output]
directory = "public"
base_url = "http://127.0.0.1:8080/"
item_limit = 1000

[engine]
inter_threads = {threads}
intra_threads = 1

[workers]
batch_segments = 64

[languages.en]
title = "News"
"""


def write_install(root: Path, models: Path, texts: list[str], sources: int, *,
                  database_url: str | None, threads: int) -> Path:  # fmt: skip
    """Article files split over ``sources`` directory sources; returns the config file."""
    database = f'database_url = "{database_url}"' if database_url else ""
    blocks = []
    for number in range(sources):
        folder = root / f"articles-{number}"
        folder.mkdir(parents=True)
        for index in range(number, len(texts), sources):
            (folder / f"a{index}.md").write_text(
                f"---\nid: a{index}\ntitle: Article {index}\nlanguage: fr\n"
                f"published: 2024-01-01T00:00:00Z\n---\n\n{texts[index]}\n",
                encoding="utf-8",
            )
        blocks.append(
            f'\n[[sources]]\nid = "s{number}"\ndirectory = "{folder.name}"\n'
            'language = "fr"\nevery = "1h"\n'
        )
    config = root / "lingofeed.toml"
    text = _CONFIG.format(database=database, models=models, threads=threads) + "".join(blocks)
    config.write_text(text, encoding="utf-8")
    return config


def _command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "lingofeed", "--config", str(config), "-q", *args]


def _translated(database_url: str) -> tuple[int, int]:
    """(articles with a finished translation, translation memory rows). Random weights lose
    some protected numbers and names, so some articles end failed: finished all the same."""
    engine = open_engine(database_url)
    try:
        with engine.connect() as conn:
            done = conn.execute(
                sa.text("SELECT count(*) FROM translations WHERE status IN ('done', 'failed')")
            ).scalar()
            rows = conn.execute(sa.text("SELECT count(*) FROM translation_memory")).scalar()
    except sa.exc.DBAPIError:
        return 0, 0
    finally:
        engine.dispose()
    return int(done or 0), int(rows or 0)


def run_once(config: Path) -> tuple[float, int]:
    started = time.perf_counter()
    # Exit status 1 when an article failed (see ``_translated``): the work was done anyway.
    subprocess.run(_command(config, "once"), check=False, cwd=config.parent)
    seconds = time.perf_counter() - started
    return seconds, _translated(load_settings(config).database_url)[1]


def run_workers(config: Path, workers: int, articles: int) -> tuple[float, int]:
    """Start ``workers`` workers, wait until every article is translated, stop them."""
    url = load_settings(config).database_url
    started = time.perf_counter()
    processes = [
        subprocess.Popen(_command(config, "worker", "--name", f"w{n}"), cwd=config.parent)
        for n in range(workers)
    ]
    try:
        while _translated(url)[0] < articles:
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker exited early")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=120)
    return seconds, _translated(url)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=240, help="French articles to translate")
    parser.add_argument("--sources", type=int, default=4, help="directory sources they are in")
    args = parser.parse_args(argv)
    texts = build_texts(args.texts)
    cluster = start_cluster(postgres_binaries())
    try:
        with tempfile.TemporaryDirectory(prefix="lingofeed-workers-") as tmp:
            root = Path(tmp)
            models = root / "models"
            install_realsize(ModelStore(models))
            results: dict[str, tuple[float, int]] = {}
            config = write_install(root / "once", models, texts, args.sources,
                                   database_url=None, threads=2)  # fmt: skip
            results["baseline: once (SQLite, 1 process x 2 threads)"] = run_once(config)
            for workers, threads in ((1, 2), (2, 1)):
                with cluster.database() as url:
                    folder = root / f"w{workers}x{threads}"
                    config = write_install(folder, models, texts, args.sources,
                                           database_url=url, threads=threads)  # fmt: skip
                    label = f"{workers} worker(s) x {threads} thread(s) (PostgreSQL)"
                    results[label] = run_workers(config, workers, args.texts)
    finally:
        cluster.stop()
    base_seconds, base_sentences = next(iter(results.values()))
    base_rate = base_sentences / base_seconds
    print(f"{args.texts} articles in {args.sources} sources, real-size fr->en model")
    for label, (seconds, sentences) in results.items():
        rate = sentences / seconds
        print(f"  {label:48s} {sentences:5d} sentences {seconds:7.1f} s {rate:7.1f}/s "
              f"ratio {rate / base_rate:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
