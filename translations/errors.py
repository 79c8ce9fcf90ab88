"""Exceptions raised by the translation layer."""

from __future__ import annotations


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
