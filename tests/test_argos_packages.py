"""Packages an operator already has: Argos Translate's (or LibreTranslate's) own directory.

The packages are installed by ``argostranslate.package.install_from_path`` itself (offline, in a
throw-away home), so the directory is laid out exactly as Argos's package manager lays it out:
``~/.local/share/argos-translate/packages/<archive's top folder>/`` holding ``metadata.json``,
``model/`` and ``sentencepiece.model``. ``[models] directory`` pointed there is used as it is,
and lingofeed writes nothing there: the directory is made read-only, and because the tests may
run as root (for whom permissions are no obstacle), every entry's inode, size, mode and
modification time is compared before and after (a file created and deleted again still changes
its folder's modification time).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lingofeed.translations.testmodel import read_corpus
from tests.feedrules import assert_valid_atom, assert_valid_json_feed
from tests.fixtures.feeds import FeedServer
from tests.fixtures.service import lingofeed, make_service_folder

EN = dict(read_corpus())
FLAG = "Le drapeau des Nations unies est descendu au camp de Tombouctou."
WIRE = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fil</title><link>https://wire.example.org/</link>
<description>Fil</description>
<item><guid>https://wire.example.org/1</guid><link>https://wire.example.org/1</link>
<title>{FLAG}</title><pubDate>Mon, 15 Jan 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""
ARGOS_INSTALL = """
import sys
from pathlib import Path
import argostranslate.package as package
for path in sys.argv[1:]:
    package.install_from_path(Path(path))
print(sorted(str(p.package_path) for p in package.get_installed_packages()))
"""


def argos_install(home: Path, packages: list[Path]) -> Path:
    """Install ``packages`` with Argos's own package manager into ``home``'s default packages
    directory (its settings are read at import, from the environment: a fresh process)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    command = [sys.executable, "-c", ARGOS_INSTALL, *map(str, packages)]
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    directory = home / ".local" / "share" / "argos-translate" / "packages"
    assert done.stdout.strip() == str(
        sorted(
            str(directory / f"translate-{a}_{b}-lingofeed_test")
            for a, b in (("fr", "en"), ("en", "fr"))
        )
    )
    return directory


def tree(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every entry under ``root`` (itself included): inode, size, mode, modification time."""
    entries = {}
    for folder, names, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / name for name in [*names, *files])]:
            info = path.lstat()
            key = str(path.relative_to(root))
            entries[key] = (info.st_ino, info.st_size, info.st_mode, info.st_mtime_ns)
    return entries


def _set_writable(root: Path, writable: bool) -> None:
    for folder, names, files in os.walk(root):
        for path in [Path(folder), *(Path(folder) / name for name in [*names, *files])]:
            mode = path.lstat().st_mode
            write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~write)


@pytest.fixture
def argos_directory(tmp_path: Path, test_packages) -> Iterator[Path]:
    """Argos's packages directory holding both test packages, read-only during the test."""
    directory = argos_install(tmp_path / "home", sorted(test_packages.values()))
    _set_writable(directory, False)
    yield directory
    _set_writable(directory, True)


def _service_on(directory: Path, folder: Path, feed_url: str) -> Path:
    """A service folder whose ``[models] directory`` is ``directory`` (its own is removed)."""
    config = make_service_folder(folder, feed_url)
    for path in sorted((folder / "models").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (folder / "models").rmdir()
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('directory = "models"', f'directory = "{directory}"'), "utf-8")
    return config


def test_lingofeed_once_translates_with_argos_packages_and_writes_nothing_there(
    argos_directory: Path, feed_server: FeedServer, tmp_path: Path
):
    config = _service_on(argos_directory, tmp_path / "service", feed_server.add("/w.xml", WIRE))
    before = tree(argos_directory)

    checked = lingofeed("--config", str(config), "check", cwd=config.parent)
    run = lingofeed("--config", str(config), "once", cwd=config.parent)
    listed = lingofeed("--config", str(config), "models", "list", cwd=config.parent)

    assert checked.returncode == 0, checked.stderr
    assert "fr -> en: installed fr -> en (translate-fr_en-lingofeed_test@1.0)" in checked.stdout
    assert run.returncode == 0, run.stderr
    public = config.parent / "public"
    atom = assert_valid_atom((public / "en" / "atom.xml").read_bytes())
    titles = {entry.link: entry.title for entry in atom.entries}
    assert titles["https://wire.example.org/1"] == EN[FLAG]
    assert_valid_json_feed((public / "fr" / "feed.json").read_bytes())
    assert listed.returncode == 0, listed.stderr
    assert f"fr -> en  translate-fr_en-lingofeed_test@1.0  {argos_directory}/translate-fr_en-" in (
        listed.stdout
    )
    assert "(read-only: it holds packages lingofeed did not install" in listed.stdout
    assert tree(argos_directory) == before


def test_models_install_and_remove_refuse_argos_directory_unless_asked(
    argos_directory: Path, feed_server: FeedServer, tmp_path: Path, test_packages
):
    config = _service_on(argos_directory, tmp_path / "service", feed_server.add("/w.xml", WIRE))
    before = tree(argos_directory)
    package = str(test_packages["fr", "en"])
    for command in (("install", package), ("remove", "fr", "en")):
        refused = lingofeed("--config", str(config), "models", *command, cwd=config.parent)
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.startswith(f"lingofeed: error: {argos_directory} is read-only")
        assert "pass --write to change it anyway, or set [models] read_only = false" in (
            refused.stderr
        )
    assert tree(argos_directory) == before


def _models(config: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return lingofeed("--config", str(config), "models", *command, cwd=config.parent)


def _set_read_only(config: Path, value: str) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[models]\n", f"[models]\nread_only = {value}\n"), "utf-8")


def test_write_flag_and_read_only_key_decide_who_may_change_the_directory(
    feed_server: FeedServer, tmp_path: Path, test_packages
):
    directory = argos_install(tmp_path / "home", sorted(test_packages.values()))
    config = _service_on(directory, tmp_path / "service", feed_server.add("/w.xml", WIRE))
    package = str(test_packages["en", "fr"])

    written = _models(config, "install", "--write", package)
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in directory.iterdir()) == [
        "en_fr",  # lingofeed's layout; Argos's en->fr folder was replaced, as asked
        "translate-fr_en-lingofeed_test",
    ]
    _set_read_only(config, "false")
    assert _models(config, "remove", "en", "fr").returncode == 0

    own = make_service_folder(tmp_path / "own", feed_server.add("/w2.xml", WIRE))
    _set_read_only(own, "true")
    refused = _models(own, "remove", "fr", "en")
    assert refused.returncode == 1
    assert "read-only to lingofeed: [models] read_only = true; pass --write" in refused.stderr
    assert "(read-only: [models] read_only = true)" in _models(own, "list").stdout
    assert _models(own, "remove", "--write", "fr", "en").returncode == 0


def test_config_accepts_a_read_only_models_directory_and_wants_a_boolean(
    argos_directory: Path, tmp_path: Path
):
    config = tmp_path / "lingofeed.toml"
    header = f'[models]\ndirectory = "{argos_directory}"\n'
    body = (
        '\n[output]\nbase_url = "http://127.0.0.1:8080/"\n\n[languages.en]\n\n'
        '[[sources]]\nid = "desk"\ndirectory = "articles"\nlanguage = "fr"\n'
    )
    (tmp_path / "articles").mkdir()
    config.write_text(header + body, encoding="utf-8")
    checked = lingofeed("--config", str(config), "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    config.write_text(header + 'read_only = "yes"\n' + body, encoding="utf-8")
    wrong = lingofeed("--config", str(config), "check", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "models.read_only: must be bool, not a string" in wrong.stderr
