"""Crash harness: SIGKILL ``lingofeed once`` at many points of a real cycle, then check everything.

The workload is real: three feeds served on 127.0.0.1 (two French, one English, built from the
test model's corpus) plus the sample article directory, published in English and French with
the repo's test models installed through the CLI. Upstream changes after every run (a new item
per feed, one edited title), so kills land on fetch, store, translation and publish work.

Each kill point is chosen with a fixed seed: either right after the n-th log line of the run
(plus a few random milliseconds) or after a random delay. After every kill:

- every published file is a complete, valid document (XML parses strictly, JSON loads);
- the database passes ``PRAGMA integrity_check`` and has no duplicate articles, translations
  or translation-memory keys;
- the next run starts (no lock left behind blocks it).

At the end the workload runs to completion and is compared with a reference run that was never
killed: same articles, same translations, same feed entries (nothing lost or duplicated). Every
translation-memory row is re-translated with the real model and must match.

CI mode: ``tests/test_crash.py``. Long local mode:
``.venv/bin/python -m tests.crashharness --kills 200 --seed 1``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.service import open_runtime
from tests.fixtures.feeds import FeedServer, RecordedRequest, Reply
from tests.fixtures.service import config_header

REPO = Path(__file__).resolve().parent.parent
PACKAGES = REPO / "translations" / "testmodel" / "dist"
CORPUS = REPO / "translations" / "testmodel" / "corpus.tsv"
_STRICT_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

CONFIG = (
    config_header("https://feeds.example/")
    + """

[languages.en]
title = "News"

[languages.fr]
title = "Actualités"

[[sources]]
id = "articles"
directory = "articles"
language = "auto"
every = "1h"
{sources}
"""
)


class HarnessError(AssertionError):
    """An invariant did not hold; the message says which, after which kill."""


@dataclass
class Report:
    kills: int = 0
    completed_runs: int = 0
    files_checked: int = 0
    articles_checked: int = 0
    translations_checked: int = 0
    tm_rows_checked: int = 0
    leftover_temp_files: int = 0
    kill_points: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"kills survived: {self.kills}, runs completed: {self.completed_runs}, "
            f"published files checked: {self.files_checked}, articles checked: "
            f"{self.articles_checked}, translations checked: {self.translations_checked}, "
            f"TM rows re-translated: {self.tm_rows_checked}, "
            f"temp files left by kills: {self.leftover_temp_files}"
        )


#: Feed name -> (language, offset into the corpus).
FEEDS = {"wire-fr-1": ("fr", 0), "wire-fr-2": ("fr", 1), "wire-en": ("en", 2)}


class Upstream:
    """Feeds that grow by one item per round, with one title edited per round."""

    def __init__(self, server: FeedServer, first_items: int = 4) -> None:
        pairs = [line.split("\t") for line in CORPUS.read_text("utf-8").splitlines() if line]
        self.sentences = {"fr": [p[0] for p in pairs], "en": [p[1].strip() for p in pairs]}
        self.round = 0
        self.first_items = first_items
        self.server = server
        for name in FEEDS:
            server.handle(f"/{name}.xml", self._handler(name))

    def url(self, name: str) -> str:
        return self.server.url(f"/{name}.xml")

    def body(self, name: str) -> bytes:
        language, offset = FEEDS[name]
        sentences = self.sentences[language]
        items = []
        for n in range(self.first_items + self.round):
            title = sentences[(offset * 37 + n * 3) % len(sentences)]
            if n == self.round % (self.first_items + self.round):
                title = sentences[(offset * 37 + n * 3 + self.round) % len(sentences)]
            text = sentences[(offset * 37 + n * 3 + 1) % len(sentences)]
            items.append(
                f"<item><title>{_xml(title)}</title><guid>urn:{name}:{n}</guid>"
                f"<link>https://upstream.example/{name}/{n}</link>"
                f"<pubDate>Mon, {1 + n % 28:02d} Jan 2024 10:00:00 GMT</pubDate>"
                f"<description><![CDATA[<p><b>{_xml(text)}</b></p>]]></description></item>"
            )
        channel = f"<title>{name}</title><language>{language}</language>{''.join(items)}"
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}</channel></rss>'.encode()
        )

    def _handler(self, name: str):  # type: ignore[no-untyped-def]
        def handle(_request: RecordedRequest) -> Reply:
            return Reply(200, self.body(name), {"Content-Type": "application/rss+xml"})

        return handle


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Workload:
    """One lingofeed installation in ``root``, fed by ``upstream``."""

    def __init__(self, root: Path, upstream: Upstream) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "config" / "sample" / "articles", root / "articles")
        blocks = "".join(
            f'\n[[sources]]\nid = "{name}"\nurl = "{upstream.url(name)}"\n'
            f'language = "{language}"\nevery = "1h"\n'
            for name, (language, _) in FEEDS.items()
        )
        self.config = root / "lingofeed.toml"
        self.config.write_text(CONFIG.format(sources=blocks), encoding="utf-8")
        self.env = {
            **os.environ,
            **{var: str(root / "home" / var.lower()) for var in _XDG},
            "ARGOS_PACKAGE_INDEX": "http://127.0.0.1:9/",
        }
        for package in sorted(PACKAGES.glob("*.argosmodel")):
            done = self.cli("models", "install", str(package))
            if done.returncode != 0:
                raise HarnessError(f"model install failed: {done.stderr}")
        self.settings = load_settings(self.config)
        self.database = Path(str(self.settings.database_url).removeprefix("sqlite:///"))

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lingofeed", "--config", str(self.config), *args]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip

    def run_once(self) -> tuple[int, list[str], float]:
        started = time.monotonic()
        done = self.cli("once")
        lines = done.stderr.splitlines()
        if done.returncode != 0:
            raise HarnessError(f"lingofeed once failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.returncode, lines, time.monotonic() - started

    def run_and_kill(self, after_line: int | None, delay: float) -> bool:
        """Start ``once``; SIGKILL it after line ``after_line`` (+delay) or after ``delay`` s.

        True if it was killed, False if it finished first.
        """
        process = subprocess.Popen(
            self.command("once"), cwd=self.root, env=self.env, stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert process.stderr is not None
        timer = None
        if after_line is None:
            timer = threading.Timer(delay, _kill, args=(process,))
            timer.start()
        for number, _line in enumerate(process.stderr):
            if after_line is not None and number == after_line:
                time.sleep(delay)
                _kill(process)
        process.wait(timeout=600)
        if timer is not None:
            timer.cancel()
        return process.returncode == -signal.SIGKILL


_XDG = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "ARGOS_PACKAGES_DIR")


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)


# -- invariants ----------------------------------------------------------------------------------


def check_published(output: Path) -> tuple[int, int]:
    """(valid files, leftover temp files); HarnessError for any partial or invalid file."""
    checked = temps = 0
    for path in sorted(output.rglob("*")) if output.exists() else []:
        if not path.is_file():
            continue
        if path.name.startswith("."):
            temps += 1
            continue
        data = path.read_bytes()
        if not data:
            raise HarnessError(f"{path}: empty published file")
        try:
            suffix = path.suffix
            if suffix == ".gz":  # a pre-compressed sibling: its document must be complete too
                data, suffix = gzip.decompress(data), Path(path.stem).suffix
            if suffix in (".xml", ".opml"):
                etree.fromstring(data, _STRICT_XML)
            elif suffix == ".json":
                if not isinstance(json.loads(data).get("items"), list):
                    raise ValueError("no items list")
            elif not data.rstrip().endswith(b"</html>"):
                raise ValueError("index.html does not end with </html>")
        except (etree.XMLSyntaxError, ValueError, EOFError, gzip.BadGzipFile) as error:
            raise HarnessError(f"{path}: not a complete document: {error}") from error
        checked += 1
    return checked, temps


_DUPLICATES = {
    "articles": "SELECT source_id, upstream_id FROM articles GROUP BY 1, 2 HAVING COUNT(*) > 1",
    "translations": "SELECT source_id, upstream_id, language FROM translations "
    "GROUP BY 1, 2, 3 HAVING COUNT(*) > 1",
    "translation_memory": "SELECT source_hash, src, tgt, model_id FROM translation_memory "
    "GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1",
}


def check_database(database: Path) -> None:
    if not database.exists():
        return
    with closing(sqlite3.connect(database)) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise HarnessError(f"{database}: integrity_check says {result}")
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            raise HarnessError(f"{database}: foreign key violations")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        for table, query in _DUPLICATES.items():
            if table in tables and (rows := conn.execute(query).fetchall()):
                raise HarnessError(f"{database}: duplicate {table} rows {rows[:3]}")


def snapshot(workload: Workload) -> dict[str, object]:
    """What a run leaves that must not depend on crashes: articles, translations, feed items."""
    with closing(sqlite3.connect(workload.database)) as conn:
        articles = sorted(conn.execute("SELECT source_id, upstream_id, title FROM articles"))
        translations = sorted(
            conn.execute(
                "SELECT source_id, upstream_id, language, status, fields FROM translations"
            )
        )
    feeds = {}
    for language in workload.settings.language_codes:
        feed = json.loads((workload.settings.output.directory / language / "feed.json").read_text())
        feeds[language] = sorted(
            (item["id"], item.get("title"), item.get("content_html")) for item in feed["items"]
        )
    return {"articles": articles, "translations": translations, "feeds": feeds}


def check_translation_memory(workload: Workload) -> int:
    """Every TM row's output must equal what the model gives for its source now."""
    with closing(sqlite3.connect(workload.database)) as conn:
        rows = conn.execute("SELECT source, src, tgt, model_id, target FROM translation_memory")
        groups: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        for source, src, tgt, model_id, target in rows:
            groups.setdefault((src, tgt, model_id), []).append((source, target))
    checked = 0
    with open_runtime(workload.settings) as runtime:
        translator = runtime.translator
        assert translator is not None
        for (src, tgt, model_id), pairs in groups.items():
            if translator.model_id(src, tgt) != model_id:
                raise HarnessError(f"TM rows for model {model_id!r}, which is not installed")
            outputs = translator.translate_aligned([source for source, _ in pairs], src, tgt)
            for (source, stored), now in zip(pairs, outputs, strict=True):
                if stored != now.text:
                    raise HarnessError(f"TM holds {stored!r} for {source!r}; model: {now.text!r}")
                checked += 1
    return checked


# -- the harness ---------------------------------------------------------------------------------


def run_harness(root: Path, kills: int, seed: int = 1, log=print) -> Report:  # type: ignore[no-untyped-def]
    """Kill ``kills`` runs at seeded points, check after each, finish, compare with a reference."""
    if not list(PACKAGES.glob("*.argosmodel")):
        raise HarnessError(f"no test model packages in {PACKAGES}")
    rng = random.Random(seed)
    report = Report()
    server = FeedServer()
    try:
        upstream = Upstream(server)
        probe = Workload(root / "probe", upstream)
        _, lines, duration = probe.run_once()
        log(f"a complete run: {len(lines)} log lines, {duration:.1f} s")
        crashed = Workload(root / "crashed", upstream)
        output = crashed.settings.output.directory
        attempts = 0
        while report.kills < kills:
            attempts += 1
            if attempts > 4 * kills:
                raise HarnessError("runs keep finishing before their kill point")
            if rng.random() < 0.6:
                line, delay = rng.randrange(len(lines)), rng.uniform(0, 0.03)
                point = f"after log line {line} + {delay * 1000:.0f} ms"
            else:
                line, delay = None, rng.uniform(0.2, duration)
                point = f"after {delay:.2f} s"
            killed = crashed.run_and_kill(line, delay)
            files, temps = check_published(output)
            check_database(crashed.database)
            report.files_checked += files
            report.leftover_temp_files = temps
            if killed:
                report.kills += 1
                report.kill_points.append(point)
            else:
                report.completed_runs += 1
            upstream.round += rng.random() < 0.5
        for _ in range(2):
            crashed.run_once()
            report.completed_runs += 1
        report.files_checked += check_published(output)[0]
        check_database(crashed.database)
        reference = Workload(root / "reference", upstream)
        reference.run_once()
        expected, got = snapshot(reference), snapshot(crashed)
        for key in expected:
            if expected[key] != got[key]:
                raise HarnessError(f"{key} differ from a run that was never killed")
        report.articles_checked = len(got["articles"])  # type: ignore[arg-type]
        report.translations_checked = len(got["translations"])  # type: ignore[arg-type]
        report.tm_rows_checked = check_translation_memory(crashed)
    finally:
        server.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="SIGKILL lingofeed once at many points.")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lingofeed-crash-") as temp:
        root = args.workdir or Path(temp)
        started = time.monotonic()
        report = run_harness(root, args.kills, args.seed)
        print(report.summary())
        print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
