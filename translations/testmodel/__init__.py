"""The repo's own small real Argos test model: corpus, build script and built packages.

Tests and examples need a real model that loads in milliseconds and never downloads anything,
so the repo trains one from ``corpus.tsv``
(``python -m lingofeed.translations.testmodel.build``) and ships the two packages it produces
in ``dist/``.
"""

from __future__ import annotations

from pathlib import Path

#: The source folder, through the strict editable install's links: a rebuild must replace the
#: committed packages, not the links to them under ``build/``.
_HERE = Path(__file__).resolve().parent
#: French<TAB>English sentence pairs; both directions are trained on the same lines.
CORPUS_PATH = _HERE / "corpus.tsv"
#: Where the built ``.argosmodel`` packages are committed.
DIST_DIR = _HERE / "dist"
#: The language pairs the test model translates.
PAIRS: tuple[tuple[str, str], ...] = (("fr", "en"), ("en", "fr"))
#: Suffix of every test package name, so nobody mistakes it for an Argos release.
PACKAGE_SUFFIX = "lingofeed_test"


def package_name(src: str, tgt: str) -> str:
    """The package (and top folder) name of the test model for one direction."""
    return f"translate-{src}_{tgt}-{PACKAGE_SUFFIX}"


def package_path(src: str, tgt: str, dist_dir: Path = DIST_DIR) -> Path:
    """Where the built package for ``src`` -> ``tgt`` lives."""
    return dist_dir / f"{package_name(src, tgt)}.argosmodel"


def read_corpus(path: Path = CORPUS_PATH) -> list[tuple[str, str]]:
    """The (French, English) pairs, refusing malformed lines and ambiguous pairs.

    A sentence that appears twice on one side would have two "correct" translations in the
    other direction, so the build could never reproduce both: that is an error here.
    """
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        cells = line.split("\t")
        if len(cells) != 2 or not all(cell.strip() == cell and cell for cell in cells):
            raise ValueError(f"{path}:{number}: expected 'French<TAB>English', got {line!r}")
        pairs.append((cells[0], cells[1]))
    for side, name in ((0, "French"), (1, "English")):
        seen: dict[str, int] = {}
        for number, pair in enumerate(pairs, start=1):
            if pair[side] in seen:
                raise ValueError(
                    f"{path}:{number}: {name} sentence {pair[side]!r} already on line "
                    f"{seen[pair[side]]}"
                )
            seen[pair[side]] = number
    return pairs
