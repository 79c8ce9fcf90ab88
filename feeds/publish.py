"""Write rendered files into the served directory atomically, and only when their bytes change.

Each file goes to a temporary file in its own directory (same filesystem, so ``os.replace`` is
atomic), is fsynced, replaces the old file, and then the directory is fsynced so the rename
survives a power cut. A reader or a crash therefore only ever sees a complete old or a complete
new file. Unchanged files are not touched: their mtime, and so the server's Last-Modified and
readers' conditional GETs, stay put.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from feeds.errors import LingofeedError

#: Prefix of temporary files; the server never serves dot-files, so half-written ones stay hidden.
TEMP_PREFIX = ".lingofeed-"


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


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that no reader ever sees a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; the web server must read it.
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        if target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except FileNotFoundError:
        return False


def publish(output_dir: Path, files: Mapping[str, bytes]) -> PublishResult:
    """Write each file whose bytes differ from what is published; leave the rest alone.

    Paths are checked before anything is written, so one bad path publishes nothing.
    """
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    targets = {relative: resolve_inside(root, relative) for relative in sorted(files)}
    changed: list[str] = []
    unchanged: list[str] = []
    for relative, target in targets.items():
        data = files[relative]
        if _same_bytes(target, data):
            unchanged.append(relative)
            continue
        try:
            write_atomic(target, data)
        except OSError as error:
            raise PublishError(f"could not publish {relative!r} to {target}: {error}") from error
        changed.append(relative)
    return PublishResult(tuple(changed), tuple(unchanged))
