"""A random-weight fr->en Argos package of real Argos size, for measuring the pipeline at scale.

Why: the repo's test model (2+2 layers, d=128) needs ~150 µs per sentence, so on it the
pipeline's fixed Python work looks as large as the model's. Argos's released models are
6+6-layer Transformers (d=512, 8 heads, FFN 2048, ~32k vocabulary, int8): this builds one with
the same shape and random weights, converted by the test model's own converter
(``translations.testmodel.build.TorchConverter``) and zipped by its ``write_package``, with the
test package's SentencePiece model, so the engine and pipeline load it exactly as a real one.

Random weights never learn when to stop: outputs would run to the decoding cap, the engine's
``_Decoder`` would count them as runaways (kept as written, never aligned), and the cost would
depend on the cap. So every output is made to end after ``RealSize.output_length`` pieces
(``_end_at``), and the padding entries of the vocabulary are never output; a benchmark should
still give every configuration the same ``max_decoding_length``. The package reuses the test
model's metadata (name ``translate-fr_en-lingofeed_test``): install it into its own store.

Building needs torch, which the service never imports; a measuring process that imported it
would carry ~145,000 more objects for the cyclic garbage collector to walk, which slows
everything the pipeline allocates (issue 11). So ``build_in_subprocess`` builds and installs
the package in a process of its own: ``python -m benchmarks.realsize_model STORE_DIR``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lingofeed.translations.models import InstalledModel, ModelStore
from lingofeed.translations.testmodel import package_path

if TYPE_CHECKING:
    from lingofeed.translations.testmodel.net import Seq2Seq

__all__ = ["RealSize", "build_in_subprocess", "install_realsize"]

#: Size of the end-of-output flag; dominates the first dimension after every layer norm.
_FLAG = 50.0


@dataclass(frozen=True)
class RealSize:
    """Shape of an Argos release model (OpenNMT-py ``transformer`` base, int8)."""

    layers: int = 6
    d_model: int = 512
    heads: int = 8
    ffn: int = 2048
    #: Model vocabulary: the SentencePiece pieces, padded with never-seen entries up to this,
    #: so the output projection costs what a 32k-vocabulary model's does.
    vocab_size: int = 32000
    max_positions: int = 512
    seed: int = 7
    #: Pieces every output has before its end: about a corpus sentence's (median 16 pieces).
    output_length: int = 18

    def describe(self) -> str:
        return (
            f"random weights, {self.layers}+{self.layers} layers, d={self.d_model}, "
            f"{self.heads} heads, FFN {self.ffn}, vocab {self.vocab_size}, int8"
        )


def _end_at(model: Seq2Seq, length: int) -> None:
    """Make every output end after ``length`` pieces: a position flag in the decoder's first
    dimension (negative before ``length``, positive from it) that only the EOS logit reads.

    Why: random weights would otherwise decode to the cap, every output would be a runaway
    (kept as written, never aligned), and the pipeline's per-sentence work would be skipped.
    The arithmetic per step is the same whatever the weights' values.
    """
    import torch

    from lingofeed.translations.testmodel.build import SPECIALS

    flag = torch.full((model.config.max_positions,), -_FLAG)
    flag[length:] = _FLAG
    model.decoder.positions[:, 0] = flag
    eos = SPECIALS["eos"][0]
    model.projection.weight[eos] = 0.0
    model.projection.weight[eos, 0] = _FLAG
    model.projection.bias[eos] = 0.0


def _test_sentencepiece(src: str, tgt: str) -> bytes:
    """The test package's SentencePiece model, read from its ``.argosmodel``."""
    with zipfile.ZipFile(package_path(src, tgt)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("/sentencepiece.model")]
        return archive.read(name)


def _vocabulary(sp_model: bytes, size: int) -> tuple[list[str], int]:
    """The model's vocabulary and how many of its entries are SentencePiece pieces."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    if size < len(pieces):
        raise ValueError(f"RealSize.vocab_size {size} < the {len(pieces)} SentencePiece pieces")
    return pieces + [f"<extra_{i}>" for i in range(size - len(pieces))], len(pieces)


def install_realsize(
    store: ModelStore, src: str = "fr", tgt: str = "en", shape: RealSize = RealSize()
) -> InstalledModel:
    """Build, convert (int8), package and install into ``store`` a random ``shape`` model.

    Takes ~5-10 s on two cores (initialising and quantising ~90 M weights); ~97 MB on disk.
    """
    import torch

    from lingofeed.translations.testmodel.build import SPECIALS, TorchConverter, write_package
    from lingofeed.translations.testmodel.net import NetConfig, Seq2Seq

    sp_model = _test_sentencepiece(src, tgt)
    vocabulary, pieces = _vocabulary(sp_model, shape.vocab_size)
    config = NetConfig(
        vocab_size=len(vocabulary),
        d_model=shape.d_model,
        heads=shape.heads,
        ffn=shape.ffn,
        encoder_layers=shape.layers,
        decoder_layers=shape.layers,
        max_positions=shape.max_positions,
        dropout=0.0,
    )
    torch.manual_seed(shape.seed)
    with torch.no_grad():
        model = Seq2Seq(config, pad_id=SPECIALS["pad"][0]).eval()
        _end_at(model, shape.output_length)
        model.projection.bias[pieces:] = -1e4  # padding entries are never output
    with tempfile.TemporaryDirectory(prefix="lingofeed-realsize-") as tmp:
        model_dir = Path(tmp) / "model"
        TorchConverter(model, vocabulary).convert(str(model_dir), quantization="int8")
        archive = write_package(Path(tmp) / "dist", src, tgt, model_dir, sp_model)
        return store.install_file(archive, progress=False)


def build_in_subprocess(store: ModelStore, src: str = "fr", tgt: str = "en") -> InstalledModel:
    """``install_realsize`` run in a child process (which imports torch, so this one never
    does); the package it installed into ``store``."""
    command = [sys.executable, "-m", "benchmarks.realsize_model", str(store.packages_dir), src, tgt]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
    installed = store.get(src, tgt)
    if installed is None:
        raise RuntimeError(f"{' '.join(command)} installed no {src}->{tgt} package")
    return installed


if __name__ == "__main__":
    install_realsize(ModelStore(Path(sys.argv[1])), *sys.argv[2:4])
