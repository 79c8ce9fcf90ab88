"""Progress of a first large translation cycle: a tqdm bar on a terminal, log lines otherwise.

A wire feed of 120 French items (corpus sentences, so the real model is quick) is more than
``PROGRESS_THRESHOLD`` documents and two chunks of ``CHUNK_SIZE``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.scheduler.translating import CHUNK_SIZE, PROGRESS_THRESHOLD
from lingofeed.translations.testmodel import read_corpus
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import make_service_folder

ITEMS = 120


def _large_wire() -> bytes:
    french = [source for source, _ in read_corpus()][:12]
    items = "".join(
        f"<item><guid>https://wire.example.org/{n}</guid><title>{french[n % len(french)]}"
        f"</title><pubDate>Mon, 15 Jan 2024 08:{n % 60:02d}:00 GMT</pubDate></item>"
        for n in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fil</title>'
        f"<link>https://wire.example.org/</link><description>Fil</description>{items}"
        "</channel></rss>"
    ).encode()


def test_a_large_first_cycle_logs_progress_per_chunk_when_not_on_a_terminal(
    feed_server: FeedServer, tmp_path: Path, caplog
):
    assert PROGRESS_THRESHOLD < ITEMS and CHUNK_SIZE < ITEMS
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _large_wire()))
    settings = load_settings(config)
    with open_runtime(settings) as runtime, caplog.at_level(logging.INFO, "lingofeed.cycle"):
        reports = run_cycle(runtime.context(settings))
    wire = next(report for report in reports if report.source_id == "wire")
    assert (wire.translated, wire.failed) == (2 * ITEMS, 0)  # en, and fr as written
    lines = [r.getMessage() for r in caplog.records if "event=translate-progress" in r.getMessage()]
    assert lines == [
        f"source=wire lang={lang} event=translate-progress done={done} total={ITEMS}"
        for lang in ("en", "fr")
        for done in (CHUNK_SIZE, ITEMS)
    ]  # and none for the three sample articles


def test_a_large_first_cycle_shows_a_bar_on_a_terminal(feed_server: FeedServer, tmp_path: Path):
    config = make_service_folder(tmp_path, feed_server.add("/wire.xml", _large_wire()))
    controller, terminal = pty.openpty()
    # a new pty is 0x0; a real terminal has a size (tqdm draws an empty bar in 0 columns)
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # the terminal closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    command = [sys.executable, "-m", "lingofeed", "-q", "--config", str(config), "once"]
    done = subprocess.run(command, cwd=tmp_path, stderr=terminal, stdout=subprocess.PIPE,
                          timeout=300, check=False)  # fmt: skip
    os.close(terminal)
    reader.join(timeout=30)
    os.close(controller)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0, shown
    assert "wire -> en: 100%" in shown and f"{ITEMS}/{ITEMS}" in shown, shown
    assert "event=translate-progress" not in shown
