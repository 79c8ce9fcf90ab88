"""What an installed package's files say: how many positions its model can decode, and a stamp
that changes when the package on disk is replaced (``package_stamp``).

A model with a learned position table (the test model's has 256 rows) raises on the whole batch
as soon as one output reaches the end of the table ("No position encodings are defined for
positions >= 256"), so the engine caps decoding below it. CTranslate2 does not expose the table
size, and its ``config.json`` names it only when a converter wrote it there; so this reads the
table's shape from the header of ``model.bin`` (the layout of CTranslate2's ``Model::load``:
version, spec name and revision, then per variable its name, rank, dimensions, type and byte
count, then the bytes), skipping the weights without loading them.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import BinaryIO

__all__ = ["decoder_positions", "package_stamp"]

#: Keys a converter may write into ``config.json`` for the position table size.
_CONFIG_KEYS = ("max_position_embeddings", "max_positions")
_TABLE = "decoder/position_encodings/encodings"


def decoder_positions(model_dir: Path) -> int | None:
    """The decoder's number of positions, or None when unbounded (sinusoidal) or unknown."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    for key in _CONFIG_KEYS:
        if isinstance(config.get(key), int) and config[key] > 0:
            return int(config[key])
    try:
        with (model_dir / "model.bin").open("rb") as file:
            return _table_rows(file)
    except (OSError, struct.error, UnicodeDecodeError):
        return None


def package_stamp(folder: Path) -> tuple[int, ...]:
    """Inode, size and modification time of a package folder and every file a model is loaded
    from: a few ``stat`` calls that change whenever the package is replaced (``models install``
    renames a new folder into place) or a file in it is rewritten, so a running service can
    check on every job that the weights it holds are still the ones installed.

    Raises ``OSError`` when the folder or one of those files cannot be read.
    """
    # os functions on strings, not pathlib: this runs for every package on every job.
    base = os.fspath(folder)
    model = os.path.join(base, "model")
    with os.scandir(model) as entries:
        files = sorted(entry.path for entry in entries)
    paths = [base, os.path.join(base, "metadata.json"), os.path.join(base, "sentencepiece.model")]
    stamp: list[int] = []
    for path in [*paths, model, *files]:
        info = os.stat(path)
        stamp += (info.st_ino, info.st_size, info.st_mtime_ns)
    return tuple(stamp)


def _read(file: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    value: int = struct.unpack(fmt, file.read(size))[0]
    return value


def _name(file: BinaryIO) -> str:
    length = _read(file, "<H")
    return file.read(length).rstrip(b"\0").decode("utf-8")


def _table_rows(file: BinaryIO) -> int | None:
    """Rows of the decoder's position table, found by walking the variable headers."""
    if _read(file, "<I") < 2:  # version 1 files predate spec names; none are in use
        return None
    _name(file)  # spec name
    _read(file, "<I")  # spec revision
    for _ in range(_read(file, "<I")):
        name = _name(file)
        dimensions = [_read(file, "<I") for _ in range(_read(file, "<B"))]
        _read(file, "<B")  # type (item size before version 4): one byte either way
        file.seek(_read(file, "<I"), 1)
        if name == _TABLE:
            return dimensions[0] if dimensions else None
    return None
