"""``lingofeed sources import FILE.opml`` as an operator runs it: a commented config on disk, an
OPML export of a feed reader, the real command as a subprocess, then ``lingofeed check``."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from tests.fixtures.service import config_header, lingofeed

#: An operator's config: comments and a layout of its own that the import must keep.
CONFIG = (
    "# My lingofeed   (hand-written; keep this layout)\n"
    + config_header("http://127.0.0.1:8080/")
    + """
[languages.en]      # English first
title = "News"

# The wire service we translate.
[[sources]]
id = "wire"
url = "https://wire.example.org/feed.xml"
every = "1h"   # hourly

# Glossary: names the model must not touch.
[glossary.fr-en]
protected = ["MINUSMA"]
"""
)

OPML = """\
<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Press" title="Press">
      <outline type="rss" text="Le Monde — À la une" xmlUrl="https://www.lemonde.fr/rss/une.xml"/>
      <outline type="rss" text="Wire" xmlUrl="https://wire.example.org/feed.xml"/>
      <outline text="Deeper">
        <outline type="rss" title="wire" text="x" xmlUrl="https://other.example/wire.rss"/>
      </outline>
    </outline>
    <outline type="rss" text="" xmlUrl="https://blog.example.com/atom"/>
  </body>
</opml>
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "lingofeed.toml"
    config.write_text(CONFIG, encoding="utf-8")
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(OPML, encoding="utf-8")
    return config, opml


def _import(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return lingofeed("--config", str(config), "sources", "import", *args, cwd=config.parent)


def test_import_appends_a_source_per_feed_and_keeps_the_rest_byte_for_byte(tmp_path):
    config, opml = _files(tmp_path)
    done = _import(config, str(opml), "--language", "fr", "--every", "30m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "added le-monde-a-la-une: https://www.lemonde.fr/rss/une.xml",
        "added wire-2: https://other.example/wire.rss",
        "added blog-example-com: https://blog.example.com/atom",
        "skipped 'Wire' (https://wire.example.org/feed.xml): already configured as 'wire'",
        "3 added, 1 skipped",
    ]
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG)
    sources = tomllib.loads(text)["sources"]
    assert sources[1:] == [
        {"id": source_id, "url": url, "language": "fr", "every": "30m"}
        for source_id, url in [
            ("le-monde-a-la-une", "https://www.lemonde.fr/rss/une.xml"),
            ("wire-2", "https://other.example/wire.rss"),
            ("blog-example-com", "https://blog.example.com/atom"),
        ]
    ]
    checked = lingofeed("--config", str(config), "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "  le-monde-a-la-une: https://www.lemonde.fr/rss/une.xml (fr), every 30m" in (
        checked.stdout
    )


def test_a_second_import_of_the_same_file_adds_nothing(tmp_path):
    config, opml = _files(tmp_path)
    assert _import(config, str(opml)).returncode == 0
    after_first = config.read_bytes()
    again = _import(config, str(opml))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "0 added, 4 skipped"
    assert config.read_bytes() == after_first


def test_an_import_that_would_make_the_config_invalid_is_refused_and_changes_nothing(tmp_path):
    config, opml = _files(tmp_path)
    before = config.stat()
    refused = _import(config, str(opml), "--every", "7x")
    assert refused.returncode == 1
    assert f"{config} not changed: the import would make it invalid" in refused.stderr
    assert "sources.1.every: bad interval '7x'" in refused.stderr
    assert config.read_text(encoding="utf-8") == CONFIG
    assert config.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(path.name for path in tmp_path.iterdir()) == [config.name, opml.name]


def test_malformed_opml_is_one_error_naming_the_file_and_line(tmp_path):
    config, opml = _files(tmp_path)
    opml.write_text('<opml version="2.0"><body>\n<outline xmlUrl="https://a.example/"\n</body>')
    failed = _import(config, str(opml))
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"lingofeed: error: {opml}:3: not well-formed XML:")
    assert "Traceback" not in failed.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_sources_import_has_help(tmp_path):
    shown = lingofeed("sources", "import", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    assert "--language" in shown.stdout and "--every" in shown.stdout
    assert "importing the same file again adds nothing" in " ".join(shown.stdout.split())
