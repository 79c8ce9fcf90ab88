"""Loading article directories: Markdown front matter and JSON, with per-file errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lingofeed.feeds.errors import ParseError
from lingofeed.feeds.ingest.files import load_article, load_directory, read_directory
from lingofeed.feeds.types import Media, Source

SAMPLE = Path(__file__).resolve().parent.parent / "config" / "sample" / "articles"

MARKDOWN = """---
id: minusma-timbuktu-camp-closes
title: "La MINUSMA   ferme le camp"
link: https://news.example.org/2023/12/minusma-timbuktu
published: 2023-12-12T09:00:00Z
updated: 2023-12-13
language: fr
author: Desk
categories: [Mali, United Nations]
summary: Texte brut & simple
media:
  - url: /img/timbuktu-camp.jpg
    type: image/jpeg
    caption: "Le camp, vide"
    credit: MINUSMA
    alt: Un camp
---
Le camp **ferme**. Voir [la carte](../carte).

<script>alert(1)</script>
<p class="notranslate">MINUSMA</p>
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def source(directory: Path, **kw) -> Source:
    return Source("local", directory=directory, **kw)


def test_markdown_article_with_front_matter(tmp_path: Path):
    path = write(tmp_path, "a.md", MARKDOWN)
    entry = load_article(source(tmp_path), path)
    assert entry.upstream_id == "minusma-timbuktu-camp-closes"
    assert entry.title == "La MINUSMA ferme le camp"
    assert entry.link == "https://news.example.org/2023/12/minusma-timbuktu"
    assert entry.published == datetime(2023, 12, 12, 9, 0, tzinfo=UTC)
    assert entry.updated == datetime(2023, 12, 13, tzinfo=UTC)
    assert entry.language == "fr" and entry.author == "Desk"
    assert entry.categories == ("Mali", "United Nations")
    assert entry.summary == "<p>Texte brut &amp; simple</p>"
    assert entry.media == (
        Media(
            "https://news.example.org/img/timbuktu-camp.jpg",
            "image/jpeg",
            None,
            "Le camp, vide",
            "MINUSMA",
            "Un camp",
        ),
    )
    assert entry.content is not None
    assert "<strong>ferme</strong>" in entry.content
    assert 'href="https://news.example.org/2023/carte"' in entry.content
    assert "<script" not in entry.content
    assert '<p class="notranslate">MINUSMA</p>' in entry.content


def test_json_article_with_markdown_or_html_body(tmp_path: Path):
    write(
        tmp_path,
        "b.json",
        '{"title": "B", "content_markdown": "*hi*", "published": "2024-01-02T03:04:05+01:00"}',
    )
    write(tmp_path, "c.json", '{"id": "c-1", "title": "C", "content_html": "<p onclick=x>hey</p>"}')
    result = load_directory(source(tmp_path, language="en"))
    assert result.errors == ()
    by_id = {e.upstream_id: e for e in result.entries}
    assert by_id["b.json"].content == "<p><em>hi</em></p>"
    assert by_id["b.json"].published == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert by_id["b.json"].language == "en"  # the source's declared language
    assert by_id["c-1"].content == "<p>hey</p>"


def test_id_defaults_to_relative_path(tmp_path: Path):
    write(tmp_path, "2024/01/no-id.md", "---\ntitle: No id\n---\nBody\n")
    (entry,) = load_directory(source(tmp_path)).entries
    assert entry.upstream_id == "2024/01/no-id.md"


def test_bad_yaml_names_file_and_line_and_others_still_load(tmp_path: Path):
    write(tmp_path, "good.md", "---\ntitle: Good\n---\nBody\n")
    write(tmp_path, "bad.md", "---\ntitle: Bad\ncategories: [a, b\nlink: x\n---\nBody\n")
    result = load_directory(source(tmp_path))
    assert [e.title for e in result.entries] == ["Good"]
    (error,) = result.errors
    assert isinstance(error, ParseError) and error.source_id == "local"
    assert "bad.md:" in error.url and "invalid YAML" in str(error)
    line = int(error.url.rsplit(":", 1)[1])
    assert 3 <= line <= 5  # the unclosed list starts on line 3


def test_bad_json_names_file_and_line(tmp_path: Path):
    write(tmp_path, "bad.json", '{\n  "title": "x",\n  oops\n}')
    (error,) = load_directory(source(tmp_path)).errors
    assert error.url.endswith("bad.json:3")
    assert "invalid JSON" in str(error)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("No front matter\n", "no YAML front matter"),
        ("---\nlink: https://x.example/\n---\nBody\n", "missing 'title'"),
        ("---\ntitle: T\nmedia:\n  - caption: no url\n---\n", r"media\[0\] needs a 'url'"),
        ("---\ntitle: T\npublished: someday\n---\n", "not an ISO 8601 date"),
        ("---\ntitle: T\nmedia:\n  - url: /x\n    colour: red\n---\n", "unknown keys: colour"),
    ],
)
def test_invalid_article_is_parse_error_naming_the_file(tmp_path: Path, text: str, reason: str):
    path = write(tmp_path, "x.md", text)
    with pytest.raises(ParseError, match=reason) as info:
        load_article(source(tmp_path), path)
    assert str(path) in info.value.url


def test_duplicate_ids_keep_the_first_file(tmp_path: Path):
    write(tmp_path, "a.md", "---\nid: same\ntitle: A\n---\n")
    write(tmp_path, "b.md", "---\nid: same\ntitle: B\n---\n")
    result = load_directory(source(tmp_path))
    assert [e.title for e in result.entries] == ["A"]
    assert "duplicate id 'same'" in str(result.errors[0])


def test_hidden_and_other_files_are_skipped(tmp_path: Path):
    write(tmp_path, ".draft.md", "---\ntitle: Hidden\n---\n")
    write(tmp_path, ".git/x.md", "---\ntitle: Hidden too\n---\n")
    write(tmp_path, "notes.txt", "not an article")
    write(tmp_path, "real.markdown", "---\ntitle: Real\n---\n")
    assert [e.title for e in load_directory(source(tmp_path)).entries] == ["Real"]


def test_item_limit_keeps_newest_articles(tmp_path: Path):
    for day in (1, 2, 3):
        write(
            tmp_path, f"{day}.md", f"---\ntitle: D{day}\npublished: 2024-01-0{day}T00:00:00Z\n---\n"
        )
    result = load_directory(source(tmp_path, item_limit=2))
    assert [e.title for e in result.entries] == ["D2", "D3"]


def test_missing_directory_is_parse_error(tmp_path: Path):
    with pytest.raises(ParseError, match="not a directory"):
        load_directory(source(tmp_path / "nope"))


def test_bundled_sample_articles_load_cleanly():
    result = load_directory(Source("sample", directory=SAMPLE))
    assert result.errors == ()
    assert len(result.entries) >= 3
    for entry in result.entries:
        assert entry.title and entry.content and entry.published is not None
        assert all(media.url.startswith("https://") for media in entry.media)


def test_read_directory_logs_bad_files_and_returns_the_rest(tmp_path: Path, caplog):
    write(tmp_path, "good.md", "---\ntitle: Good\n---\n")
    write(tmp_path, "bad.md", "---\nlink: x\n---\n")
    with caplog.at_level("WARNING", logger="lingofeed.feeds.ingest.files"):
        entries = read_directory(source(tmp_path))
    assert [e.title for e in entries] == ["Good"]
    assert "bad.md" in caplog.text and "missing 'title'" in caplog.text
