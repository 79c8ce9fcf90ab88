"""Exceptions raised by the translation layer.

::

    TranslationError(src, tgt, model)     a pair could not be translated
      ModelNotInstalledError              (also LookupError) no route for the pair
    PackageIndexError(url)                the package index could not be read
      PackageNotAvailableError            (also LookupError) the index has no such pair
    InvalidPackageError(path, reason)     (a ValueError) not a usable Argos package
    ReadOnlyModelsError(path, reason)     the models directory is not lingofeed's to change
"""

from __future__ import annotations

from pathlib import Path


class TranslationError(Exception):
    """Translating from ``src`` to ``tgt`` failed (``model`` names the package, if one was used)."""

    def __init__(self, src: str, tgt: str, message: str, *, model: str | None = None) -> None:
        self.src = src
        self.tgt = tgt
        self.model = model
        self.message = message
        super().__init__(src, tgt, message)

    def __str__(self) -> str:
        via = f" with {self.model}" if self.model else ""
        cause = self.__cause__
        tail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        return f"{self.message} ({self.src}->{self.tgt}{via}){tail}"


class ModelNotInstalledError(TranslationError, LookupError):
    """No installed package (direct or through English) translates ``src`` to ``tgt``."""


class PackageIndexError(Exception):
    """The Argos package index could not be read (unreachable, or not an index)."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(url, message)

    def __str__(self) -> str:
        cause = self.__cause__
        tail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        return f"{self.message}: {self.url}{tail}"


class PackageNotAvailableError(PackageIndexError, LookupError):
    """The index was read but offers no package for the requested pair."""


class InvalidPackageError(ValueError):
    """A ``.argosmodel`` file (or installed package folder) is not a usable Argos package."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(self.path, reason)

    def __str__(self) -> str:
        return f"not a usable Argos package: {self.path}: {self.reason}"


class ReadOnlyModelsError(Exception):
    """``models install``/``remove`` refused: the directory is read-only to lingofeed (Argos
    Translate's own packages directory, or ``[models] read_only = true``)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(self.path, reason)

    def __str__(self) -> str:
        return f"{self.path} is read-only to lingofeed: {self.reason}"
