"""Write rendered files into the served directory atomically, and only when their bytes change.

Each file goes to a temporary file in its own directory (same filesystem, so ``os.replace`` is
atomic), is fsynced, replaces the old file, and then the directory is fsynced so the rename
survives a power cut. A reader or a crash therefore only ever sees a complete old or a complete
new file. Unchanged files are not touched: their mtime, and so the server's Last-Modified and
readers' conditional GETs, stay put.

A publisher killed mid-write leaves its temporary file behind; the next ``publish`` removes such
leftovers. A writer holds an exclusive ``flock`` on its temporary file from creation until the
rename, so a leftover is told apart from a concurrent publisher's file by the lock being free
(the kernel drops it when the process dies) and, to cover the instant between ``mkstemp`` and
``flock``, by its age.

Every file of at least ``GZIP_MIN_BYTES`` gets a ``<name>.gz`` sibling (``gzip_bytes`` of it),
written atomically the same way right after the file and given the file's mtime: nginx's
``gzip_static`` and the built-in server send it as is instead of compressing per request. A
sibling whose mtime differs from its file's is stale (a publisher died between the two renames)
and is rewritten by the next publish; a file that shrinks below the threshold loses its sibling.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import logging
import os
import stat
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.store import PublishedFile

#: Prefix of temporary files; the server never serves dot-files, so half-written ones stay hidden.
TEMP_PREFIX = ".lingofeed-"

#: Smaller files get no ``.gz`` sibling: compressing them saves too little to be worth it.
GZIP_MIN_BYTES = 512
#: Suffix of the pre-compressed sibling of a published file; published names may not end in it.
GZIP_SUFFIX = ".gz"

#: A temporary file younger than this may belong to a writer that has not locked it yet.
STALE_TEMP_SECONDS = 60.0

logger = logging.getLogger(__name__)


class PublishError(LingofeedError):
    """A file could not be published; the message names it (other files may be done)."""


@dataclass(frozen=True)
class PublishResult:
    """Relative paths written (bytes changed or new) and left alone (bytes identical)."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


def resolve_inside(root: Path, relative: str) -> Path:
    """The path of ``relative`` under ``root``; PublishError if it would escape ``root``.

    Refuses absolute paths, ``..`` parts, empty names and dot-files (reserved for temp files).
    """
    parts = PurePosixPath(relative).parts
    if (
        not parts
        or PurePosixPath(relative).is_absolute()
        or "\\" in relative
        or any(part in ("..", ".") or part.startswith(".") for part in parts)
    ):
        raise PublishError(f"refusing to publish {relative!r}: not a plain path inside {root}")
    if relative.endswith(GZIP_SUFFIX):
        raise PublishError(f"refusing to publish {relative!r}: {GZIP_SUFFIX} names are siblings")
    target = root.joinpath(*parts)
    if not target.parent.resolve().is_relative_to(root.resolve()):
        raise PublishError(f"refusing to publish {relative!r}: its directory leaves {root}")
    return target


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def gzip_bytes(data: bytes) -> bytes:
    """The gzip body of ``data``, deterministic (no timestamp), so a republish is byte-identical.

    Level 6, gzip's own default: level 9 costs publish time for a few bytes less.
    """
    return gzip.compress(data, compresslevel=6, mtime=0)


def gzip_sibling(target: Path) -> Path:
    return target.with_name(target.name + GZIP_SUFFIX)


def write_atomic(
    target: Path, data: bytes, *, mtime_ns: int | None = None, mode: int = 0o644
) -> None:
    """Replace ``target`` with ``data`` so that no reader ever sees a partial file.

    ``mtime_ns`` sets the file's modification time before it appears (for ``.gz`` siblings);
    ``mode`` its permissions (a config file keeps its own: it may hold partner tokens).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # Held until the rename: tells remove_stale_temp_files this file is in use.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)  # mkstemp makes 0600; the web server must read it.
            if mtime_ns is not None:
                os.utime(handle.fileno(), ns=(mtime_ns, mtime_ns))
            os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def remove_stale_temp_files(root: Path, directories: Collection[Path] | None = None) -> list[Path]:
    """Delete temporary files under ``root`` (or only in ``directories``, not below them)
    that no live writer holds; return them.

    ``publish`` sweeps only ``root`` and the directories it writes to: a leftover sits beside
    the file it was for, and walking a site of a thousand sources on every job would cost more
    than the job. Best effort: a file that cannot be removed is logged and left for the next run.
    """
    cutoff = time.time() - STALE_TEMP_SECONDS
    removed = []
    if directories is None:
        listing = [(Path(d), names) for d, _dirs, names in os.walk(root)]
    else:
        listing = [(d, _names(d)) for d in sorted(directories)]
    for directory, names in listing:
        for name in names:
            path = Path(directory, name)
            try:
                if name.startswith(TEMP_PREFIX) and _remove_if_abandoned(path, cutoff):
                    removed.append(path)
            except OSError as error:
                logger.warning("could not remove stale temporary file %s: %s", path, error)
    for path in removed:
        logger.warning("removed %s, left by an interrupted publisher", path)
    return removed


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def _remove_if_abandoned(path: Path, cutoff: float) -> bool:
    """Unlink ``path`` if it is a regular file older than ``cutoff`` whose lock is free."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
            return False
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:  # renamed into place or removed meanwhile
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live writer holds it
            return False
        # A writer that finished meanwhile renamed the name onto its target (releasing the
        # lock after): unlink only while the name still is the file we locked.
        if path.lstat().st_ino != os.fstat(descriptor).st_ino:
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(descriptor)


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        if target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except FileNotFoundError:
        return False


class Manifest(Protocol):
    """What is published, by content hash (the store's ``published_files``)."""

    def get_published_files(self, paths: Collection[str]) -> Mapping[str, PublishedFile]: ...
    def record_published_files(self, files: Sequence[PublishedFile]) -> None: ...


def _matches(target: Path, record: PublishedFile | None, digest: str) -> bool | None:
    """Whether ``target`` holds the bytes hashed ``digest``, by the manifest; None when the
    manifest cannot say (no row: compare the bytes). A row whose size or mtime no longer
    matches the file (changed behind the publisher's back, or gone) is not believed."""
    if record is None:
        return None
    try:
        info = target.stat()
    except FileNotFoundError:
        return False
    on_disk = info.st_size == record.size and info.st_mtime_ns == record.mtime_ns
    return on_disk and record.sha256 == digest


def publish(
    output_dir: Path, files: Mapping[str, bytes], manifest: Manifest | None = None
) -> PublishResult:
    """Write each file whose bytes differ from what is published; leave the rest alone.

    With a ``manifest``, what is published is known from it (one query for all ``files``)
    instead of reading each file back; written files are recorded in it, also when a later
    file fails. Paths are checked before anything is written, so one bad path publishes nothing.
    """
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    targets = {relative: resolve_inside(root, relative) for relative in sorted(files)}
    remove_stale_temp_files(root, {root, *(target.parent for target in targets.values())})
    known = manifest.get_published_files(list(targets)) if manifest is not None else {}
    changed: list[str] = []
    unchanged: list[str] = []
    records: list[PublishedFile] = []
    try:
        for relative, target in targets.items():
            data = files[relative]
            digest = hashlib.sha256(data).hexdigest()
            record = known.get(relative)
            same = _matches(target, record, digest)
            if same is None:
                same = _same_bytes(target, data)
            try:
                if not same:
                    write_atomic(target, data)
                _publish_sibling(target, data)
                if not same or record is None:
                    info = target.stat()
                    records.append(PublishedFile(relative, digest, info.st_size, info.st_mtime_ns))
            except OSError as error:
                message = f"could not publish {relative!r} to {target}: {error}"
                raise PublishError(message) from error
            (unchanged if same else changed).append(relative)
    finally:
        if manifest is not None:
            manifest.record_published_files(records)
    return PublishResult(tuple(changed), tuple(unchanged))


def unpublish(output_dir: Path, paths: Collection[str]) -> None:
    """Remove published files (and their ``.gz`` siblings) of a feed that no longer exists,
    and the directories that leaves empty: a removed channel's or source's folder would
    otherwise stay in the served tree (and its listing) for good."""
    root = Path(output_dir)
    for relative in sorted(paths):
        target = resolve_inside(root, relative)
        for path in (target, gzip_sibling(target)):
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise PublishError(f"could not remove {relative!r} ({path}): {error}") from error
        _remove_empty_parents(root, target)


def _remove_empty_parents(root: Path, target: Path) -> None:
    """Remove ``target``'s parent directories below ``root`` while they are empty.

    ``rmdir`` removes only an empty directory, so a folder another feed still writes into (or
    one holding a leftover temporary file) stays; ``publish`` recreates any it needs."""
    for directory in target.parents:  # ``resolve_inside`` built ``target`` on ``root``
        if directory == root:
            return
        try:
            directory.rmdir()
        except OSError:  # not empty, or already gone
            return


def _publish_sibling(target: Path, data: bytes) -> None:
    """Make ``target``'s ``.gz`` sibling match it: written (with its mtime) or removed.

    Costs one stat when the sibling is current, so unchanged files are not recompressed.
    """
    sibling = gzip_sibling(target)
    if len(data) < GZIP_MIN_BYTES:
        sibling.unlink(missing_ok=True)
        return
    mtime_ns = target.stat().st_mtime_ns
    try:
        if sibling.stat().st_mtime_ns == mtime_ns:
            return
    except FileNotFoundError:
        pass
    write_atomic(sibling, gzip_bytes(data), mtime_ns=mtime_ns)
