"""The status page in a real headless browser (Debian's chromium): content and a screenshot.

``--dump-dom`` gives the DOM after the page loaded, so the assertions see what a browser shows;
the screenshot goes to ``test-artifacts/`` (gitignored) for a human to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIRE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>Les commer&#231;ants vendent du sel, du riz et des tissus.</title></item>
</channel></rss>"""


def chromium(url: str, profile: Path, *extra: str) -> str:
    """Run headless chromium on ``url``; its stdout."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (scripts/install.sh --browser installs it)")
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1200,900",
        *extra,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_status_page_shows_sources_and_languages_in_a_browser(
    feed_server, service_config, running_service, tmp_path
):
    service = running_service(service_config(feed_server.add("/wire.xml", WIRE)))
    service.wait_for(r"source=wire .*event=published")
    service.wait_for(r"source=articles .*event=published")
    page = html.fromstring(chromium(service.url + "/status", tmp_path / "profile", "--dump-dom"))
    rows = {
        table.findtext("caption"): [
            [cell.text_content() for cell in row.findall("td")] for row in table.findall(".//tr")
        ][1:]
        for table in page.iter("table")
    }
    sources = {row[0]: row for row in rows["Sources"]}
    assert set(sources) == {"articles", "wire"}
    assert sources["wire"][1] == feed_server.url("/wire.xml")
    assert all(row[4] == "ok" for row in sources.values())
    languages = {row[0]: row for row in rows["Languages"]}
    assert set(languages) == {"en", "fr"}
    assert languages["en"][1] == "4"  # three sample articles and the wire item

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status.png"
    shot.unlink(missing_ok=True)
    chromium(service.url + "/status", tmp_path / "profile", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
