"""Argos package management: install, list, remove and route between translation models.

Packages live in a directory the operator configures, never in the home directory.
``argostranslate.package`` is deliberately not used for any of this: it binds every path to
settings read once at its import, an unreachable index makes ``get_available_packages()``
recurse until RecursionError, and its download cache (``translate-fr_en.argosmodel``, no
version in the name) can install a stale file over a newer release. Here, an index that
cannot be read is one ``PackageIndexError``, and every download goes to a fresh, versioned
temporary file whose metadata is checked before it is installed.

The directory is read on every ``route`` (a few ``stat`` calls and one small JSON file per
package), so a running service notices an install, an upgrade or a removal on its next job.
A folder that is not a usable package (no or invalid ``metadata.json``, a missing model file,
unreadable) is a ``BrokenPackage``: its pair is unavailable, with the reason, in ``models
list``, ``check``, ``status`` and ``/status``, and every other pair keeps working.

The directory may be Argos Translate's own (``~/.local/share/argos-translate/packages``, shared
with Argos or LibreTranslate): its packages are used as they are, and lingofeed writes nothing
there (``ReadOnlyModelsError``) unless the operator asks (``models install --write``, or
``[models] read_only = false``).
"""

from __future__ import annotations

import builtins
import json
import os
import re
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
    ReadOnlyModelsError,
)
from lingofeed.translations.modelfile import package_stamp

__all__ = [
    "PIVOT",
    "AvailableModel",
    "BrokenPackage",
    "InstalledModel",
    # Raised here; defined in translations.errors, still importable from this module.
    "InvalidPackageError",
    "ModelStore",
    "PackageNotAvailableError",
    "PackageScan",
    "ReadOnlyModelsError",
    "index_json_url",
    "read_package_file",
    "version_key",
]

#: Pivot language when no direct package exists (Argos publishes most pairs to/from English).
PIVOT = "en"
#: Seconds to wait for the index or a package server before giving up (no retries).
INDEX_TIMEOUT = 10.0
_REQUIRED_METADATA = ("from_code", "to_code", "package_version")
#: The pair in a package folder's name: ``fr_en`` (lingofeed's layout, one folder per pair) or
#: ``translate-fr_en-1_9`` (Argos's: the archive's top folder), to name a package whose metadata
#: cannot be read.
#: The files a package folder needs besides metadata.json (the engine loads these).
_PACKAGE_FILES = ("model/model.bin", "sentencepiece.model")
_FOLDER_PAIR = re.compile(r"(?:^|-)([a-z]{2,3})_([a-z]{2,3})(?:-|$)")


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
    #: ``package_stamp`` of the folder when it was read: the engine reloads when it changes.
    stamp: tuple[int, ...]

    @property
    def model_id(self) -> str:
        """Name and version: what a translation memory row is keyed on."""
        return f"{self.package_name}@{self.version}"


@dataclass(frozen=True)
class BrokenPackage:
    """A folder of the models directory that cannot be used, and why: its pair is unavailable,
    every other pair keeps working."""

    path: Path
    reason: str
    #: The pair it would translate (from its metadata, else its folder name); None if unknown.
    pair: tuple[str, str] | None

    def describe(self) -> str:
        """One line for ``models list``, ``check``, ``status`` and error messages."""
        pair = f"{self.pair[0]} -> {self.pair[1]}" if self.pair else "a package"
        return f"{pair} unavailable: {self.path}: {self.reason}"


@dataclass(frozen=True)
class PackageScan:
    """What one read of the models directory found."""

    models: tuple[InstalledModel, ...] = ()
    broken: tuple[BrokenPackage, ...] = ()
    #: Package folders lingofeed did not install (not named ``<from>_<to>`` for their pair, or
    #: not translation packages): the directory is Argos's own, so lingofeed only reads it.
    foreign: tuple[Path, ...] = ()

    def get(self, from_code: str, to_code: str) -> InstalledModel | None:
        """The usable package for exactly this pair (newest, if several), or None."""
        matches = [m for m in self.models if (m.from_code, m.to_code) == (from_code, to_code)]
        return max(matches, key=lambda m: version_key(m.version)) if matches else None

    def broken_for(self, pairs: builtins.set[tuple[str, str]]) -> builtins.list[BrokenPackage]:
        """The broken packages that could have served one of ``pairs`` (or any, if unknown)."""
        return [b for b in self.broken if b.pair is None or b.pair in pairs]


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


def _json_object(path: Path | str, raw: bytes) -> dict[str, Any]:
    try:
        metadata = json.loads(raw)
    except ValueError as exc:
        raise InvalidPackageError(path, f"metadata.json is not JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise InvalidPackageError(path, "metadata.json is not a JSON object")
    return metadata


def _check_translate(path: Path | str, metadata: dict[str, Any]) -> None:
    missing = [key for key in _REQUIRED_METADATA if not isinstance(metadata.get(key), str)]
    if missing:
        raise InvalidPackageError(path, f"metadata.json lacks {', '.join(missing)}")
    if metadata.get("type", "translate") != "translate":
        raise InvalidPackageError(path, f"type is {metadata['type']!r}, not 'translate'")


def _metadata(path: Path | str, raw: bytes) -> dict[str, Any]:
    metadata = _json_object(path, raw)
    _check_translate(path, metadata)
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


def _folder_pair(name: str) -> tuple[str, str] | None:
    found = _FOLDER_PAIR.search(name)
    return (found.group(1), found.group(2)) if found else None


def _inspect(folder: Path) -> InstalledModel | BrokenPackage | None:
    """One folder of the models directory: a usable package, a broken one (with the reason),
    or None when it is no translation package (Argos also installs ``sbd`` packages; a folder
    with none of a package's files is someone else's)."""
    guess = _folder_pair(folder.name)
    try:
        metadata = _json_object(folder, (folder / "metadata.json").read_bytes())
        if metadata.get("type", "translate") != "translate":
            return None
        _check_translate(folder, metadata)
    except FileNotFoundError:
        if not any((folder / name).exists() for name in _PACKAGE_FILES):
            return None
        return BrokenPackage(folder, "no metadata.json", guess)
    except OSError as exc:
        return BrokenPackage(folder, f"cannot read metadata.json ({exc.strerror or exc})", guess)
    except InvalidPackageError as exc:
        return BrokenPackage(folder, exc.reason, guess)
    pair = (metadata["from_code"], metadata["to_code"])
    missing = [name for name in _PACKAGE_FILES if not _file(folder, name)]
    if missing:
        bpe = " (a bpe.model package: lingofeed runs SentencePiece packages only)"
        tail = bpe if "sentencepiece.model" in missing and _file(folder, "bpe.model") else ""
        return BrokenPackage(folder, f"missing {' and '.join(missing)}{tail}", pair)
    try:
        stamp = package_stamp(folder)
    except OSError as exc:
        return BrokenPackage(folder, f"cannot read its files ({exc})", pair)
    return InstalledModel(
        from_code=pair[0],
        to_code=pair[1],
        package_name=str(
            metadata.get("package_name") or metadata.get("code") or f"translate-{pair[0]}_{pair[1]}"
        ),
        version=metadata["package_version"],
        path=folder,
        stamp=stamp,
    )


def _file(folder: Path, name: str) -> bool:
    return (folder / name).is_file()


def _scan(packages_dir: Path) -> PackageScan:
    """Every package folder of ``packages_dir``; hidden work folders and stray files skipped."""
    if not packages_dir.is_dir():
        return PackageScan()
    try:
        entries = sorted(packages_dir.iterdir())
    except OSError as exc:
        reason = f"the models directory cannot be read ({exc.strerror or exc})"
        return PackageScan(broken=(BrokenPackage(packages_dir, reason, None),))
    models, broken, foreign = [], [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() and not entry.exists():
            dangling = BrokenPackage(entry, "a symbolic link to nothing", _folder_pair(entry.name))
            broken.append(dangling)
            continue
        if not entry.is_dir():
            continue
        found = _inspect(entry)
        if isinstance(found, InstalledModel):
            models.append(found)
            pair: tuple[str, str] | None = (found.from_code, found.to_code)
        elif isinstance(found, BrokenPackage):
            broken.append(found)
            pair = found.pair
        elif (entry / "metadata.json").exists():  # an Argos package of another type
            pair = None
        else:
            continue
        if pair is None or entry.name != f"{pair[0]}_{pair[1]}":
            foreign.append(entry)
    models.sort(key=lambda m: (m.from_code, m.to_code, version_key(m.version)))
    return PackageScan(tuple(models), tuple(broken), tuple(foreign))


def _show_progress(progress: bool | None) -> bool:
    """``None`` means: draw a bar only when someone is watching a terminal."""
    return sys.stderr.isatty() if progress is None else progress


class ModelStore:
    """The installed Argos packages in one directory, and the ways to change them.

    Not safe for two processes installing at once; reads are safe while one installs,
    because a package folder appears (``rename``) only once it is complete.
    """

    def __init__(self, packages_dir: Path, *, read_only: bool | None = None) -> None:
        """``read_only``: True refuses every change, False allows them, None (the default)
        refuses them in a directory holding packages lingofeed did not install (Argos's own)."""
        self.packages_dir = packages_dir
        self.read_only = read_only

    def scan(self) -> PackageScan:
        """Read the directory now: usable packages, broken ones, and foreign folders."""
        return _scan(self.packages_dir)

    def list(self) -> builtins.list[InstalledModel]:
        """Usable packages sorted by pair; broken ones are in ``scan().broken``."""
        return builtins.list(self.scan().models)

    def get(self, from_code: str, to_code: str) -> InstalledModel | None:
        """The installed package for exactly this pair (newest, if several), or None."""
        return self.scan().get(from_code, to_code)

    def read_only_reason(self) -> str | None:
        """Why lingofeed must not change this directory, or None when it may."""
        if self.read_only is False:
            return None
        if self.read_only:
            return "[models] read_only = true"
        foreign = self.scan().foreign
        if not foreign:
            return None
        names = ", ".join(path.name for path in foreign[:3]) + (", ..." if foreign[3:] else "")
        return (
            f"it holds packages lingofeed did not install ({names}), as Argos Translate lays "
            "them out, so lingofeed only reads it"
        )

    def _check_writable(self) -> None:
        reason = self.read_only_reason()
        if reason is not None:
            raise ReadOnlyModelsError(
                self.packages_dir,
                f"{reason}; pass --write to change it anyway, or set [models] read_only = false",
            )

    def install_file(self, path: Path, progress: bool | None = None) -> InstalledModel:
        """Install (or replace) the package for the file's language pair.

        The archive is checked first, then extracted into a hidden folder and renamed into
        place, so a failed install leaves the previous package untouched.
        """
        top, metadata = read_package_file(path)
        self._check_writable()
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
        installed = _inspect(target)
        if not isinstance(installed, InstalledModel):
            raise InvalidPackageError(path, f"installed as {target}, which is not usable")
        return installed

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
        self._check_writable()
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
        self._check_writable()
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
        scan = self.scan()
        direct = scan.get(src, tgt)
        if direct is not None:
            return (direct,)
        if PIVOT not in (src, tgt):
            first, second = scan.get(src, PIVOT), scan.get(PIVOT, tgt)
            if first is not None and second is not None:
                return (first, second)
        broken = scan.broken_for({(src, tgt), (src, PIVOT), (PIVOT, tgt)})
        why = "".join(f"; {package.describe()}" for package in broken)
        raise ModelNotInstalledError(
            src,
            tgt,
            f"no installed model translates {src} to {tgt} (directly or through {PIVOT}){why}; "
            f"install one with: lingofeed models install {src} {tgt}",
        )

    def describe_route(self, src: str, tgt: str) -> str:
        """One line for humans, e.g. ``fr -> en -> de (translate-fr_en@1.9 + ...)``."""
        steps = self.route(src, tgt)
        codes = " -> ".join([steps[0].from_code, *(step.to_code for step in steps)])
        return f"{codes} ({' + '.join(step.model_id for step in steps)})"

    def list_rows(self) -> builtins.list[str]:
        """What ``lingofeed models list`` prints: installed packages, pivot-only pairs, then
        broken packages (the pairs they leave unavailable, and why)."""
        scan = self.scan()
        models = scan.models
        rows = [f"{m.from_code} -> {m.to_code}  {m.model_id}  {m.path}" for m in models]
        direct = {(m.from_code, m.to_code) for m in models}
        sources = sorted({m.from_code for m in models if m.to_code == PIVOT})
        targets = sorted({m.to_code for m in models if m.from_code == PIVOT})
        for src in sources:
            for tgt in targets:
                if src != tgt and (src, tgt) not in direct:
                    rows.append(f"{self.describe_route(src, tgt)}  (pivot)")
        rows += [package.describe() for package in scan.broken]
        return rows or ["no translation models installed"]
