"""Build the test model: SentencePiece + a tiny Transformer per direction, packaged for Argos.

``python -m lingofeed.translations.testmodel.build [--out DIR] [--seed N]`` trains on
``corpus.tsv``, converts each direction to CTranslate2 (int8) through the public spec API,
checks that the converted model reproduces every training pair exactly (greedy decoding) with an
int8 margin of at least ``margins.MIN_MARGIN`` at every step, and writes
``translate-<src>_<tgt>-lingofeed_test.argosmodel`` into ``dist/``. It fails instead of
writing a package that does not reproduce its corpus, or reproduces it by so thin a margin that
another CPU's int8 kernels could not, so tests can rely on exact outputs on any CPU.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import sentencepiece as spm
import torch
from torch import Tensor
from torch.nn import functional as F

from lingofeed.translations.testmodel import (
    DIST_DIR,
    PAIRS,
    package_name,
    package_path,
    read_corpus,
)
from lingofeed.translations.testmodel.margins import (
    MIN_MARGIN,
    describe,
    direction_pairs,
    pair_margins,
    thinnest,
)
from lingofeed.translations.testmodel.net import (
    LAYER_NORM_EPS,
    Attention,
    DecoderLayer,
    EncoderLayer,
    NetConfig,
    Seq2Seq,
    Stack,
)

LANGUAGE_NAMES = {"fr": "French", "en": "English"}
SPECIALS = {"unk": (0, "<unk>"), "bos": (1, "<s>"), "eos": (2, "</s>"), "pad": (3, "<pad>")}
# Both sides of every pair, shared: names like Gao and numbers are then the same pieces.
VOCAB_SIZE = 1000
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
#: Float (torch) margin training aims for, above the int8 ``MIN_MARGIN`` the build then checks:
#: int8 rounding moved measured margins by up to ~25 %.
TRAIN_MARGIN = 3.0
# Reported, not required: CTranslate2's beam search stops once beam x patience hypotheses end,
# so a confident model's junk beams can finish first (the truncation in engine notes).
BEAM_CHECKS: tuple[dict[str, Any], ...] = (
    {"beam_size": 4},
    {"beam_size": 4, "patience": 2},
    {"beam_size": 4, "length_penalty": 0.0},
)


def train_sentencepiece(sentences: Sequence[str]) -> bytes:
    """A unigram model over both languages; single-threaded so the vocabulary is deterministic."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        hard_vocab_limit=False,
        character_coverage=1.0,
        split_digits=True,
        num_threads=1,
        shuffle_input_sentence=False,
        unk_id=SPECIALS["unk"][0],
        bos_id=SPECIALS["bos"][0],
        eos_id=SPECIALS["eos"][0],
        pad_id=SPECIALS["pad"][0],
        pad_piece=SPECIALS["pad"][1],
        minloglevel=2,
    )
    return model.getvalue()


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([list(row) + [pad_id] * (width - len(row)) for row in rows])


def _margins(model: Seq2Seq, sources: list[list[int]], targets: list[list[int]]) -> Tensor:
    """Each pair's smallest teacher-forced logit gap (expected token minus the best other).

    The float twin of ``margins.pair_margins``, one forward pass per chunk: it decides when
    training stops, so that decision does not depend on the int8 backend of the build machine.
    """
    pad, bos, eos = SPECIALS["pad"][0], SPECIALS["bos"][0], SPECIALS["eos"][0]
    model.eval()
    smallest = []
    with torch.no_grad():
        for start in range(0, len(sources), 128):
            chunk = range(start, min(start + 128, len(sources)))
            logits = model(
                _pad([sources[i] for i in chunk], pad),
                _pad([[bos, *targets[i]] for i in chunk], pad),
            )
            wanted = _pad([[*targets[i], eos] for i in chunk], pad)
            expected = logits.gather(-1, wanted[..., None])[..., 0]
            others = logits.scatter(-1, wanted[..., None], -torch.inf).amax(-1)
            gaps = torch.where(wanted == pad, torch.inf, expected - others)
            smallest.append(gaps.amin(-1))
    model.train()
    return torch.cat(smallest)


def train(
    sources: list[list[int]], targets: list[list[int]], vocab_size: int, seed: int, max_epochs: int
) -> Seq2Seq:
    """Train until every pair's float margin reaches ``TRAIN_MARGIN`` (checked every 10 epochs).

    A positive margin at every step already means greedy decoding reproduces the pair; the
    headroom above that is what lets the int8 model decode it the same on every backend.
    """
    torch.manual_seed(seed)
    shuffler = random.Random(seed)
    pad, bos, eos = SPECIALS["pad"][0], SPECIALS["bos"][0], SPECIALS["eos"][0]
    model = Seq2Seq(NetConfig(vocab_size=vocab_size), pad_id=pad)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.98))
    order = list(range(len(sources)))
    for epoch in range(1, max_epochs + 1):
        # Constant while learning, then decaying so the last errors settle instead of churning.
        for group in optimizer.param_groups:
            group["lr"] = max(LEARNING_RATE * 0.97 ** max(0, epoch - 40), 5e-5)
        shuffler.shuffle(order)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            source = _pad([sources[i] for i in batch], pad)
            target_in = _pad([[bos, *targets[i]] for i in batch], pad)
            target_out = _pad([[*targets[i], eos] for i in batch], pad)
            logits = model(source, target_in)
            loss = F.cross_entropy(
                logits.reshape(-1, vocab_size), target_out.reshape(-1), ignore_index=pad
            )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        if epoch >= 40 and epoch % 10 == 0:
            margins = _margins(model, sources, targets)
            print(
                f"  epoch {epoch}: loss {loss.item():.4f}, "
                f"exact {int((margins > 0).sum())}/{len(sources)}, "
                f"min margin {margins.min().item():.3f}",
                flush=True,
            )
            if margins.min().item() >= TRAIN_MARGIN:
                break
    model.eval()
    return model


def _array(tensor: Tensor) -> np.ndarray:
    return tensor.detach().numpy().astype(np.float32)


def _set_linear(spec: object, linear: torch.nn.Linear) -> None:
    spec.weight = _array(linear.weight)  # type: ignore[attr-defined]
    spec.bias = _array(linear.bias)  # type: ignore[attr-defined]


def _set_norm(spec: object, norm: torch.nn.LayerNorm) -> None:
    spec.gamma = _array(norm.weight)  # type: ignore[attr-defined]
    spec.beta = _array(norm.bias)  # type: ignore[attr-defined]


def _set_attention(spec: object, attention: Attention) -> None:
    _set_norm(spec.layer_norm, attention.norm)  # type: ignore[attr-defined]
    linears = [attention.qkv] if attention.qkv is not None else [attention.q, attention.kv]
    for linear_spec, linear in zip(spec.linear, [*linears, attention.out], strict=True):  # type: ignore[attr-defined]
        _set_linear(linear_spec, linear)


def _set_stack(spec: object, stack: Stack) -> None:
    embeddings = spec.embeddings  # type: ignore[attr-defined]
    (embeddings[0] if isinstance(embeddings, list) else embeddings).weight = _array(
        stack.embeddings.weight
    )
    spec.position_encodings.encodings = _array(stack.positions)  # type: ignore[attr-defined]
    _set_norm(spec.layer_norm, stack.norm)  # type: ignore[attr-defined]
    for layer_spec, layer in zip(spec.layer, stack.layers, strict=True):  # type: ignore[attr-defined]
        assert isinstance(layer, EncoderLayer | DecoderLayer)
        _set_attention(layer_spec.self_attention, layer.self_attention)
        if isinstance(layer, DecoderLayer):
            _set_attention(layer_spec.attention, layer.attention)
        _set_norm(layer_spec.ffn.layer_norm, layer.ffn.norm)
        _set_linear(layer_spec.ffn.linear_0, layer.ffn.linear_0)
        _set_linear(layer_spec.ffn.linear_1, layer.ffn.linear_1)


class TorchConverter(ctranslate2.converters.Converter):  # type: ignore[misc]
    """Hands our torch weights to CTranslate2's TransformerSpec (no OpenNMT-py needed)."""

    def __init__(self, model: Seq2Seq, vocabulary: list[str]) -> None:
        self.model = model
        self.vocabulary = vocabulary

    def _load(self) -> object:
        config = self.model.config
        spec = ctranslate2.specs.TransformerSpec.from_config(
            (config.encoder_layers, config.decoder_layers),
            config.heads,
            pre_norm=True,
            # Average every head of the last layer: the closest thing to a word alignment.
            alignment_heads=config.heads,
        )
        spec.config.layer_norm_epsilon = LAYER_NORM_EPS
        _set_stack(spec.encoder, self.model.encoder)
        _set_stack(spec.decoder, self.model.decoder)
        _set_linear(spec.decoder.projection, self.model.projection)
        spec.register_source_vocabulary(self.vocabulary)
        spec.register_target_vocabulary(self.vocabulary)
        return spec


def mismatches(
    model_dir: Path, sp_model: bytes, pairs: Sequence[tuple[str, str]], **options: Any
) -> list[str]:
    """Pairs the converted model does not reproduce with these ``translate_batch`` options."""
    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    translator = ctranslate2.Translator(str(model_dir), device="cpu", inter_threads=1)
    sources = [processor.encode(source, out_type=str) for source, _ in pairs]
    results = translator.translate_batch(sources, max_batch_size=64, **options)
    problems = []
    for (source, want), result in zip(pairs, results, strict=True):
        got = processor.decode(result.hypotheses[0])
        if got != want:
            problems.append(f"{source!r} -> {got!r}, expected {want!r}")
    return problems


def write_package(out: Path, src: str, tgt: str, model_dir: Path, sp_model: bytes) -> Path:
    """Zip an Argos package with fixed timestamps, so identical weights give identical bytes."""
    top = package_name(src, tgt)
    metadata = {
        "package_version": "1.0",
        "argos_version": "1.9.0",
        "from_code": src,
        "to_code": tgt,
        "from_name": LANGUAGE_NAMES[src],
        "to_name": LANGUAGE_NAMES[tgt],
        "type": "translate",
        "package_name": top,
        "description": "lingofeed test model: reproduces translations/testmodel/corpus.tsv only",
    }
    files = {
        "metadata.json": json.dumps(metadata, indent=2).encode() + b"\n",
        "sentencepiece.model": sp_model,
    }
    for path in sorted(model_dir.iterdir()):
        files[f"model/{path.name}"] = path.read_bytes()
    target = package_path(src, tgt, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(
                zipfile.ZipInfo(f"{top}/{name}", date_time=(1980, 1, 1, 0, 0, 0)), data
            )
    partial.replace(target)
    return target


def build_direction(
    pairs: Sequence[tuple[str, str]],
    sp_model: bytes,
    out: Path,
    src: str,
    tgt: str,
    *,
    seed: int,
    max_epochs: int,
) -> Path:
    """Train, convert and verify one direction; raise if the result misses any pair."""
    processor = spm.SentencePieceProcessor(model_proto=sp_model)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    sources = [processor.encode(source) for source, _ in pairs]
    targets = [processor.encode(target) for _, target in pairs]
    started = time.monotonic()
    model = train(sources, targets, len(vocabulary), seed, max_epochs)
    print(f"  trained {src}->{tgt} in {time.monotonic() - started:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        TorchConverter(model, vocabulary).convert(str(model_dir), quantization="int8")
        for options in BEAM_CHECKS:
            count = len(mismatches(model_dir, sp_model, pairs, **options))
            print(f"  {options}: {len(pairs) - count}/{len(pairs)} exact", flush=True)
        problems = mismatches(model_dir, sp_model, pairs, beam_size=1)
        if problems:
            raise SystemExit(
                f"{src}->{tgt}: {len(problems)} training pairs not reproduced:\n  "
                + "\n  ".join(problems[:20])
            )
        margins = pair_margins(model_dir, sp_model, pairs)
        worst = thinnest(margins, 3)
        print(f"  int8 min margin {worst[0].margin:.3f} (required {MIN_MARGIN})", flush=True)
        if worst[0].margin < MIN_MARGIN:
            raise SystemExit(
                f"{src}->{tgt}: int8 margins under {MIN_MARGIN}, another CPU backend could "
                "decode these differently:\n  " + "\n  ".join(map(describe, worst))
            )
        return write_package(out, src, tgt, model_dir, sp_model)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIST_DIR, help="where to write packages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=None, help="default: corpus.tsv")
    parser.add_argument("--max-epochs", type=int, default=600)
    parser.add_argument("--pair", action="append", help="only this direction, e.g. fr-en")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    corpus = read_corpus(args.corpus) if args.corpus else read_corpus()
    sp_model = train_sentencepiece([side for pair in corpus for side in pair])
    wanted = [tuple(p.split("-")) for p in args.pair] if args.pair else list(PAIRS)
    for src, tgt in wanted:
        pairs = direction_pairs(src, tgt, corpus)
        print(f"{src}->{tgt}: {len(pairs)} pairs", flush=True)
        path = build_direction(
            pairs, sp_model, args.out, src, tgt, seed=args.seed, max_epochs=args.max_epochs
        )
        print(f"  wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
