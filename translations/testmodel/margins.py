"""How clearly the converted test model prefers each corpus translation, on this CPU's backend.

Exact-output tests are only as robust as the model's preference for the expected tokens: int8
GEMM backends (Intel MKL on Intel CPUs, oneDNN elsewhere, each per instruction set) round
differently, so a step where the expected token beats the runner-up by a hair can flip on
another machine ("environ 2 millions" for "22 millions"). The margin of a pair is the smallest,
over the steps of its expected target and the end token after it, of the expected token's
log-probability minus the best other token's. The build refuses a model whose smallest margin is
under ``MIN_MARGIN``, and a test checks the committed packages against it on whatever CPU runs it.

``python -m lingofeed.translations.testmodel.margins`` prints the figures for the committed
packages (set ``CT2_USE_MKL`` or ``CT2_FORCE_CPU_ISA`` to measure another backend).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
import sentencepiece as spm

from lingofeed.translations.testmodel import PAIRS, package_name, package_path, read_corpus

#: Log-probability gap every step must clear. Backends were measured to move the gaps of the
#: same model by up to ~0.5 between one another, so 2.0 leaves a factor of four.
MIN_MARGIN = 2.0


@dataclass(frozen=True)
class PairMargin:
    """The thinnest step of one pair: its margin and the target prefix that precedes it."""

    source: str
    target: str
    margin: float
    prefix: str


def direction_pairs(
    src: str, tgt: str, corpus: Sequence[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """The (French, English) corpus, ``corpus.tsv`` by default, as (source, target) pairs."""
    pairs = read_corpus() if corpus is None else list(corpus)
    return pairs if (src, tgt) == ("fr", "en") else [(en, fr) for fr, en in pairs]


def pair_margins(
    model_dir: Path, sp_model: bytes, pairs: Sequence[tuple[str, str]]
) -> list[PairMargin]:
    """Each pair's margin, forcing its expected target so that every step is measured.

    A negative margin means greedy decoding leaves the expected target at that step.
    """
    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    translator = ctranslate2.Translator(str(model_dir), device="cpu", inter_threads=1)
    sources = [processor.encode(source, out_type=str) for source, _ in pairs]
    targets = [processor.encode(target, out_type=str) for _, target in pairs]
    results = translator.translate_batch(
        sources,
        target_prefix=targets,
        beam_size=1,
        max_batch_size=64,
        return_logits_vocab=True,
        max_decoding_length=max(len(target) for target in targets) + 1,
    )
    eos = processor.id_to_piece(processor.eos_id())
    margins = []
    for (source, target), pieces, result in zip(pairs, targets, results, strict=True):
        steps = [*pieces, eos]
        worst = (float("inf"), 0)
        for position, (piece, logits) in enumerate(zip(steps, result.logits[0], strict=False)):
            scores = np.asarray(logits, dtype=np.float32).copy()
            wanted = processor.piece_to_id(piece)
            expected = float(scores[wanted])
            scores[wanted] = -np.inf
            worst = min(worst, (expected - float(scores.max()), position))
        margins.append(PairMargin(source, target, worst[0], processor.decode(pieces[: worst[1]])))
    return margins


def package_margins(package: Path, pairs: Sequence[tuple[str, str]]) -> list[PairMargin]:
    """``pair_margins`` for a built ``.argosmodel`` file."""
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(package) as archive:
        archive.extractall(tmp)
        (top,) = Path(tmp).iterdir()
        return pair_margins(top / "model", (top / "sentencepiece.model").read_bytes(), pairs)


def thinnest(margins: Sequence[PairMargin], count: int) -> list[PairMargin]:
    """The ``count`` pairs with the smallest margins, thinnest first."""
    return sorted(margins, key=lambda m: m.margin)[:count]


def describe(margin: PairMargin) -> str:
    """One line naming the pair and the step where it is thinnest."""
    return (
        f"{margin.margin:+.3f}  {margin.source!r} -> ...{margin.prefix[-30:]!r} | {margin.target!r}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=None, help="folder of built packages")
    parser.add_argument("--show", type=int, default=5, help="how many thinnest pairs to list")
    args = parser.parse_args(argv)
    status = 0
    for src, tgt in PAIRS:
        package = package_path(src, tgt, args.dist) if args.dist else package_path(src, tgt)
        margins = package_margins(package, direction_pairs(src, tgt))
        smallest = min(m.margin for m in margins)
        verdict = "ok" if smallest >= MIN_MARGIN else f"below {MIN_MARGIN}"
        print(f"{package_name(src, tgt)}: min margin {smallest:.6f} ({verdict})")
        for margin in thinnest(margins, args.show):
            print(f"  {describe(margin)}")
        status |= smallest < MIN_MARGIN
    return status


if __name__ == "__main__":
    sys.exit(main())
