"""Argos package management: install, list, remove and route between translation models.

Packages live in a directory the operator configures, never in the home directory.
``argostranslate.package`` is deliberately not used for any of this: it binds every path to
settings read once at its import, an unreachable index makes ``get_available_packages()``
recurse until RecursionError, and its download cache (``translate-fr_en.argosmodel``, no
version in the name) can install a stale file over a newer release. Here, an index that
cannot be read is one ``PackageIndexError``, and every download goes to a fresh, versioned
temporary file whose metadata is checked before it is installed.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from tqdm import tqdm

from lingofeed.translations.errors import (
    InvalidPackageError,
    ModelNotInstalledError,
    PackageIndexError,
    PackageNotAvailableError,
)

__all__ = [
    "PIVOT",
    "AvailableModel",
    "InstalledModel",
    # Raised here; defined in translations.errors, still importable from this module.
    "InvalidPackageError",
    "ModelStore",
    "PackageNotAvailableError",
    "index_json_url",
    "read_package_file",
    "version_key",
]

#: Pivot language when no direct package exists (Argos publishes most pairs to/from English).
PIVOT = "en"
#: Seconds to wait for the index or a package server before giving up (no retries).
INDEX_TIMEOUT = 10.0
_REQUIRED_METADATA = ("from_code", "to_code", "package_version")


@dataclass(frozen=True)
class InstalledModel:
    """One package installed in a ModelStore's directory."""

    from_code: str
    to_code: str
    #: ``package_name`` (or ``code``) from metadata.json, else ``translate-<from>_<to>``.
    package_name: str
    #: ``package_version`` from metadata.json, e.g. ``1.9``.
    version: str
    #: The package folder, ``<from>_<to>`` (holds metadata.json, model/, sentencepiece.model).
    path: Path

    @property
    def model_id(self) -> str:
        """Name and version: what a translation memory row is keyed on."""
        return f"{self.package_name}@{self.version}"


@dataclass(frozen=True)
class AvailableModel:
    """One translate package listed by an Argos package index."""

    from_code: str
    to_code: str
    package_name: str
    version: str
    #: Download URLs, tried in order.
    links: tuple[str, ...]


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key for package versions: numeric parts numerically (``1.10`` > ``1.9``)."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in version.split("."))


def index_json_url(index_url: str) -> str:
    """The index document's URL: Argos index URLs name a folder that holds ``index.json``."""
    if index_url.endswith(".json"):
        return index_url
    return (index_url if index_url.endswith("/") else index_url + "/") + "index.json"


def _metadata(path: Path | str, raw: bytes) -> dict[str, Any]:
    try:
        metadata = json.loads(raw)
    except ValueError as exc:
        raise InvalidPackageError(path, f"metadata.json is not JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise InvalidPackageError(path, "metadata.json is not a JSON object")
    missing = [key for key in _REQUIRED_METADATA if not isinstance(metadata.get(key), str)]
    if missing:
        raise InvalidPackageError(path, f"metadata.json lacks {', '.join(missing)}")
    if metadata.get("type", "translate") != "translate":
        raise InvalidPackageError(path, f"type is {metadata['type']!r}, not 'translate'")
    return metadata


def read_package_file(path: Path) -> tuple[str, dict[str, Any]]:
    """Check a ``.argosmodel`` file; return its top folder name and its metadata.

    Required: a zip holding exactly one top folder with ``metadata.json``, ``model/model.bin``
    and ``sentencepiece.model``, and no member that would land outside that folder.
    """
    if not path.is_file():
        raise InvalidPackageError(path, "no such file")
    if not zipfile.is_zipfile(path):
        raise InvalidPackageError(path, "not a zip archive")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {PurePosixPath(name).parts[0] for name in names if name.strip("/")}
        if len(tops) != 1:
            raise InvalidPackageError(path, f"expected one top folder, found {sorted(tops)}")
        top = tops.pop()
        for name in names:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name:
                raise InvalidPackageError(path, f"unsafe member name {name!r}")
        for required in ("metadata.json", "model/model.bin", "sentencepiece.model"):
            if f"{top}/{required}" not in names:
                raise InvalidPackageError(path, f"missing {top}/{required}")
        return top, _metadata(path, archive.read(f"{top}/metadata.json"))


def _installed(folder: Path) -> InstalledModel:
    metadata_path = folder / "metadata.json"
    if not metadata_path.is_file():
        raise InvalidPackageError(folder, "installed package has no metadata.json")
    metadata = _metadata(folder, metadata_path.read_bytes())
    return InstalledModel(
        from_code=metadata["from_code"],
        to_code=metadata["to_code"],
        package_name=str(
            metadata.get("package_name")
            or metadata.get("code")
            or f"translate-{metadata['from_code']}_{metadata['to_code']}"
        ),
        version=metadata["package_version"],
        path=folder,
    )


def _show_progress(progress: bool | None) -> bool:
    """``None`` means: draw a bar only when someone is watching a terminal."""
    return sys.stderr.isatty() if progress is None else progress


class ModelStore:
    """The installed Argos packages in one directory, and the ways to change them.

    Not safe for two processes installing at once; reads are safe while one installs,
    because a package folder appears (``rename``) only once it is complete.
    """

    def __init__(self, packages_dir: Path) -> None:
        self.packages_dir = packages_dir

    def list(self) -> list[InstalledModel]:
        """Installed packages sorted by pair; hidden work folders are skipped."""
        if not self.packages_dir.is_dir():
            return []
        folders = [
            path
            for path in self.packages_dir.iterdir()
            if path.is_dir() and not path.name.startswith(".")
        ]
        models = [_installed(folder) for folder in folders]
        return sorted(models, key=lambda m: (m.from_code, m.to_code, version_key(m.version)))

    def get(self, from_code: str, to_code: str) -> InstalledModel | None:
        """The installed package for exactly this pair (newest, if several), or None."""
        matches = [m for m in self.list() if (m.from_code, m.to_code) == (from_code, to_code)]
        return max(matches, key=lambda m: version_key(m.version)) if matches else None

    def install_file(self, path: Path, progress: bool | None = None) -> InstalledModel:
        """Install (or replace) the package for the file's language pair.

        The archive is checked first, then extracted into a hidden folder and renamed into
        place, so a failed install leaves the previous package untouched.
        """
        top, metadata = read_package_file(path)
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".installing-", dir=self.packages_dir))
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
                bar = tqdm(
                    members,
                    desc=f"install {top}",
                    unit="file",
                    disable=not _show_progress(progress),
                )
                for member in bar:
                    archive.extract(member, work)
            pair = (metadata["from_code"], metadata["to_code"])
            old = [m.path for m in self.list() if (m.from_code, m.to_code) == pair]
            # Named by pair, not by the archive's folder: two packages for different pairs may
            # share a folder name, and one folder per pair makes "replace" unambiguous.
            target = self.packages_dir / f"{pair[0]}_{pair[1]}"
            if target.exists() and target not in old:
                old.append(target)
            moved = {folder: work / f"old-{folder.name}" for folder in old}
            for folder, aside in moved.items():
                folder.rename(aside)
            try:
                (work / top).rename(target)
            except OSError:
                for folder, aside in moved.items():
                    aside.rename(folder)
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return _installed(target)

    def available(self, index_url: str) -> builtins.list[AvailableModel]:
        """The translate packages an Argos index offers.

        Raises ``PackageIndexError`` once, quickly, when the index cannot be fetched or is not
        an index (no retries: the operator runs the command again when the network is back).
        """
        url = index_json_url(index_url)
        try:
            response = httpx.get(url, timeout=INDEX_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
            entries = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PackageIndexError(url, "could not read the Argos package index") from exc
        if not isinstance(entries, list):
            raise PackageIndexError(url, "the package index is not a JSON list")
        offered = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("type", "translate") != "translate":
                continue
            if not all(isinstance(entry.get(key), str) for key in _REQUIRED_METADATA):
                continue
            links = tuple(link for link in entry.get("links", ()) if isinstance(link, str))
            if links:
                offered.append(
                    AvailableModel(
                        from_code=entry["from_code"],
                        to_code=entry["to_code"],
                        package_name=str(entry.get("package_name") or entry.get("code") or ""),
                        version=entry["package_version"],
                        links=links,
                    )
                )
        return offered

    def install_from_index(
        self, from_code: str, to_code: str, index_url: str, progress: bool | None = None
    ) -> InstalledModel:
        """Download the index's newest package for the pair, verify it, install it."""
        candidates = [
            m for m in self.available(index_url) if (m.from_code, m.to_code) == (from_code, to_code)
        ]
        if not candidates:
            raise PackageNotAvailableError(
                index_json_url(index_url), f"the index offers no {from_code}->{to_code} package"
            )
        wanted = max(candidates, key=lambda m: version_key(m.version))
        with self._download(wanted, progress) as path:
            _, metadata = read_package_file(path)
            got = (metadata["from_code"], metadata["to_code"], metadata["package_version"])
            if got != (from_code, to_code, wanted.version):
                raise InvalidPackageError(
                    path,
                    f"the index promised {from_code}->{to_code} version {wanted.version}, "
                    f"the file holds {got[0]}->{got[1]} version {got[2]}",
                )
            return self.install_file(path, progress=False)

    @contextmanager
    def _download(self, model: AvailableModel, progress: bool | None) -> Iterator[Path]:
        """Stream the package to a fresh file named with its version; delete it afterwards."""
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        prefix = f".download-{model.from_code}_{model.to_code}-{model.version}-"
        descriptor, name = tempfile.mkstemp(
            prefix=prefix, suffix=".argosmodel", dir=self.packages_dir
        )
        os.close(descriptor)
        path = Path(name)
        try:
            with path.open("wb") as handle:
                self._fetch_first(model, handle, progress)
            yield path
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _fetch_first(model: AvailableModel, handle: Any, progress: bool | None) -> None:
        errors = []
        for link in model.links:
            try:
                with httpx.stream("GET", link, timeout=INDEX_TIMEOUT, follow_redirects=True) as r:
                    r.raise_for_status()
                    total = int(r.headers.get("content-length", 0)) or None
                    handle.seek(0)
                    handle.truncate()
                    with tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        desc=f"download {model.from_code}->{model.to_code} {model.version}",
                        disable=not _show_progress(progress),
                    ) as bar:
                        for chunk in r.iter_bytes():
                            handle.write(chunk)
                            bar.update(len(chunk))
                return
            except httpx.HTTPError as exc:
                errors.append(f"{link}: {type(exc).__name__}: {exc}")
        raise PackageIndexError(
            model.links[0], "could not download the package: " + "; ".join(errors)
        )

    def remove(self, from_code: str, to_code: str) -> InstalledModel:
        """Delete the installed package for exactly this pair."""
        model = self.get(from_code, to_code)
        if model is None:
            raise ModelNotInstalledError(
                from_code, to_code, "no package is installed for this pair, nothing to remove"
            )
        shutil.rmtree(model.path)
        return model

    def route(self, src: str, tgt: str) -> tuple[InstalledModel, ...]:
        """The packages that translate ``src`` to ``tgt``: one direct, or two through English."""
        if src == tgt:
            raise ValueError(f"no translation needed from {src!r} to itself")
        direct = self.get(src, tgt)
        if direct is not None:
            return (direct,)
        if PIVOT not in (src, tgt):
            first, second = self.get(src, PIVOT), self.get(PIVOT, tgt)
            if first is not None and second is not None:
                return (first, second)
        raise ModelNotInstalledError(
            src,
            tgt,
            f"no installed model translates {src} to {tgt} (directly or through {PIVOT}); "
            f"install one with: lingofeed models install {src} {tgt}",
        )

    def describe_route(self, src: str, tgt: str) -> str:
        """One line for humans, e.g. ``fr -> en -> de (translate-fr_en@1.9 + ...)``."""
        steps = self.route(src, tgt)
        codes = " -> ".join([steps[0].from_code, *(step.to_code for step in steps)])
        return f"{codes} ({' + '.join(step.model_id for step in steps)})"

    def list_rows(self) -> builtins.list[str]:
        """What ``lingofeed models list`` prints: installed packages, then pivot-only pairs."""
        models = self.list()
        rows = [f"{m.from_code} -> {m.to_code}  {m.model_id}  {m.path}" for m in models]
        direct = {(m.from_code, m.to_code) for m in models}
        sources = sorted({m.from_code for m in models if m.to_code == PIVOT})
        targets = sorted({m.to_code for m in models if m.from_code == PIVOT})
        for src in sources:
            for tgt in targets:
                if src != tgt and (src, tgt) not in direct:
                    rows.append(f"{self.describe_route(src, tgt)}  (pivot)")
        return rows or ["no translation models installed"]
