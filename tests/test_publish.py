"""Publishing: atomic, only-when-changed writes that never leave the output directory."""

from __future__ import annotations

import fcntl
import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lingofeed.feeds.publish.atomic import TEMP_PREFIX, PublishError, publish


def test_publish_writes_new_files_and_reports_them_changed(tmp_path):
    result = publish(tmp_path, {"en/feed.xml": b"<rss/>", "index.html": b"<html/>"})
    assert result.changed == ("en/feed.xml", "index.html")
    assert result.unchanged == ()
    assert (tmp_path / "en" / "feed.xml").read_bytes() == b"<rss/>"
    assert oct((tmp_path / "index.html").stat().st_mode & 0o777) == "0o644"


def test_publish_leaves_identical_files_untouched(tmp_path):
    publish(tmp_path, {"en/atom.xml": b"one", "en/feed.json": b"{}"})
    target = tmp_path / "en" / "atom.xml"
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    result = publish(tmp_path, {"en/atom.xml": b"one", "en/feed.json": b"{ }"})
    assert result.changed == ("en/feed.json",)
    assert result.unchanged == ("en/atom.xml",)
    assert target.stat().st_mtime_ns == 1_000_000_000


@pytest.mark.parametrize(
    "path", ["../escape.xml", "/etc/passwd", "en/../../x.xml", "en/.hidden", "", "a\\..\\b"]
)
def test_publish_refuses_paths_escaping_the_directory(tmp_path, path):
    root = tmp_path / "out"
    with pytest.raises(PublishError, match="refusing"):
        publish(root, {"ok.xml": b"fine", path: b"bad"})
    assert not (root / "ok.xml").exists(), "one bad path must publish nothing"


def test_publish_refuses_a_symlinked_directory_leading_outside(tmp_path):
    root = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "en").symlink_to(outside)
    with pytest.raises(PublishError, match="leaves"):
        publish(root, {"en/feed.xml": b"x"})
    assert list(outside.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    publish(tmp_path, {"en/feed.xml": b"old"})

    def broken_fsync(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lingofeed.feeds.publish.atomic.os.fsync", broken_fsync)
    with pytest.raises(PublishError, match=r"en/feed.xml.*No space"):
        publish(tmp_path, {"en/feed.xml": b"new"})
    assert (tmp_path / "en" / "feed.xml").read_bytes() == b"old"
    assert [p.name for p in (tmp_path / "en").iterdir()] == ["feed.xml"]


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lingofeed.feeds.publish.atomic import publish
    root = Path(sys.argv[1])
    versions = [bytes([65 + n]) * 3_000_000 for n in range(2)]
    print("ready", flush=True)
    n = 0
    while True:
        publish(root, {f"f{i}.xml": versions[n % 2] for i in range(4)})
        n += 1
    """
)


def test_killing_the_publisher_at_any_moment_leaves_every_file_complete(tmp_path):
    """SIGKILL a process that keeps republishing big files; each file is whole, old or new."""
    whole = {bytes([65]) * 3_000_000, bytes([66]) * 3_000_000}
    for attempt in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(0.05 + 0.07 * attempt)  # varies where the kill lands; asserts nothing on time
        child.send_signal(signal.SIGKILL)
        child.wait()
        for path in tmp_path.glob("f*.xml"):
            assert path.read_bytes() in whole, f"{path.name} is torn after kill #{attempt}"
    for leftover in tmp_path.glob(f"{TEMP_PREFIX}*"):
        os.utime(leftover, (0, 0))  # past the age a writer may take to lock a new temp file
    publish(tmp_path, {"f0.xml": bytes([65]) * 3_000_000})
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == [], "the killed writers' temp files stay"


def _temp_file(directory: Path, name: str, *, age: float) -> Path:
    """A temporary file as a publisher leaves it, last written ``age`` seconds ago."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{TEMP_PREFIX}{name}"
    path.write_bytes(b"<rss><channel><title>half a fe")
    written = time.time() - age
    os.utime(path, (written, written))
    return path


def test_publish_removes_temp_files_an_interrupted_publisher_left(tmp_path, caplog):
    left = [_temp_file(tmp_path, "a1", age=3600), _temp_file(tmp_path / "en", "b2", age=3600)]
    publish(tmp_path, {"en/feed.xml": b"<rss/>"})
    assert [path for path in left if path.exists()] == []
    assert "interrupted publisher" in caplog.text
    assert (tmp_path / "en" / "feed.xml").read_bytes() == b"<rss/>"


def test_publish_keeps_a_young_temp_file_its_writer_may_not_have_locked_yet(tmp_path):
    young = _temp_file(tmp_path, "c3", age=1)
    publish(tmp_path, {"feed.xml": b"<rss/>"})
    assert young.exists()


def test_publish_keeps_an_old_temp_file_a_live_writer_holds(tmp_path):
    held = _temp_file(tmp_path, "d4", age=3600)
    with held.open("rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        publish(tmp_path, {"feed.xml": b"<rss/>"})
        assert held.exists(), "a concurrent publisher's temp file was removed under it"
    publish(tmp_path, {"feed.xml": b"<rss/>"})
    assert not held.exists(), "once its writer is gone the temp file is stale"


def _gz(path):
    return path.with_name(path.name + ".gz")


def test_large_files_get_a_gzip_sibling_with_their_mtime_and_small_ones_none(tmp_path):
    big = b"<rss>" + b"<item>entry</item>" * 100 + b"</rss>"
    publish(tmp_path, {"en/feed.xml": big, "en/feeds.opml": b"<opml/>"})
    feed = tmp_path / "en" / "feed.xml"
    assert gzip.decompress(_gz(feed).read_bytes()) == big
    assert _gz(feed).stat().st_mtime_ns == feed.stat().st_mtime_ns
    assert not _gz(tmp_path / "en" / "feeds.opml").exists()
    assert not [p for p in (tmp_path / "en").iterdir() if p.name.startswith(".")]


def test_gzip_siblings_follow_their_file_and_are_left_alone_when_it_is(tmp_path):
    first = b"<rss>" + b"<item>one</item>" * 100 + b"</rss>"
    second = b"<rss>" + b"<item>two</item>" * 100 + b"</rss>"
    publish(tmp_path, {"feed.xml": first})
    sibling = _gz(tmp_path / "feed.xml")
    inode = sibling.stat().st_ino
    publish(tmp_path, {"feed.xml": first})
    assert sibling.stat().st_ino == inode, "an unchanged file's sibling is not rewritten"
    publish(tmp_path, {"feed.xml": second})
    assert gzip.decompress(sibling.read_bytes()) == second
    publish(tmp_path, {"feed.xml": b"<rss/>"})
    assert not sibling.exists(), "a file under the threshold loses its sibling"


def test_a_stale_sibling_left_by_a_killed_publisher_is_rewritten(tmp_path):
    data = b"<rss>" + b"<item>entry</item>" * 100 + b"</rss>"
    publish(tmp_path, {"feed.xml": data})
    sibling = _gz(tmp_path / "feed.xml")
    sibling.write_bytes(gzip.compress(b"an older version"))  # new mtime: no longer the file's
    publish(tmp_path, {"feed.xml": data})
    assert gzip.decompress(sibling.read_bytes()) == data


def test_names_ending_in_gz_are_refused_they_are_reserved_for_siblings(tmp_path):
    with pytest.raises(PublishError, match=r"feed\.xml\.gz"):
        publish(tmp_path, {"feed.xml.gz": b"x"})
