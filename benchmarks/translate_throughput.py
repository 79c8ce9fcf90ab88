"""Sentences per second: Argos's ``translate()`` (the baseline) against lingofeed's batched path.

``python benchmarks/translate_throughput.py [--texts 2000]``

Corpus: ``--texts`` French texts of 1-3 sentences composed deterministically (seeded) from the
single-sentence lines of ``translations/testmodel/corpus.tsv``, translated fr -> en with the
repo's test model. Every figure counts the same sentences (those ``translations.segment``
finds), and every configuration loads its model before the clock starts.

(a) ``argostranslate.translate.translate()`` per text, as a user calls it: with its defaults,
    and tuned (beam 1, inter 2, intra 1) through ``ARGOS_*`` variables. Argos reads settings once
    at import, so each configuration runs in its own subprocess. To run offline, its MiniSBD
    splitter (which downloads ``fr.onnx`` on first use) is replaced by ``translations.segment``:
    ``ARGOS_CHUNK_TYPE`` offers no working offline choice (SPACY downloads a model at import,
    NONE is unimplemented, STANZA downloads its resources), and the test package ships no
    ``minisbd/`` folder. Everything else (tokenising, decoding, per-text calls) is Argos's own.
(b) the project's path: ``translations.segment`` + ``ArgosTranslator.translate`` on every
    sentence (empty memory, no de-duplication); and the full ``TranslationPipeline`` with an
    empty in-memory translation memory, which de-duplicates (its rate counts all sentences).
(c) raw ``ctranslate2.Translator.translate_batch`` on pre-tokenised sentences with the same
    settings as (b): the limit the engine can approach.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from translations.engine import ArgosTranslator, EngineSettings, ModelRouter
from translations.models import ModelStore
from translations.segment import split_sentences
from translations.testmodel import package_path, read_corpus
from translations.types import DocField, Document

SRC, TGT = "fr", "en"
ARGOS_TUNED = {"ARGOS_BEAM_SIZE": "1", "ARGOS_INTER_THREADS": "2", "ARGOS_INTRA_THREADS": "1"}


def build_texts(count: int, seed: int = 2023) -> list[str]:
    """``count`` texts of 1-3 corpus sentences, the same for a given seed."""
    sentences = [
        fr
        for fr, _ in read_corpus()
        if fr[-1] in ".!?" and len(split_sentences(fr, SRC)) == 1  # titles have no full stop
    ]
    rng = random.Random(seed)
    return [" ".join(rng.sample(sentences, rng.randint(1, 3))) for _ in range(count)]


def install_package(packages_dir: Path) -> Path:
    """Install the fr->en test package with Argos's own installer; return its folder."""
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir)
    import argostranslate.package

    argostranslate.package.install_from_path(package_path(SRC, TGT))
    (installed,) = [
        p for p in argostranslate.package.get_installed_packages() if p.from_code == SRC
    ]
    return Path(installed.package_path)


def argos_worker(texts_file: Path) -> None:
    """Subprocess body for (a): per-text ``translate()``; prints seconds as JSON."""
    import argostranslate.sbd
    import argostranslate.translate

    def offline_split(self: argostranslate.sbd.MiniSBDSentencizer, text: str) -> list[str]:
        return split_sentences(text, self.pkg.from_code)

    argostranslate.sbd.MiniSBDSentencizer.split_sentences = offline_split  # type: ignore[method-assign]
    texts = json.loads(texts_file.read_text())
    argostranslate.translate.translate(texts[0], SRC, TGT)  # load the model off the clock
    started = time.perf_counter()
    for text in texts:
        argostranslate.translate.translate(text, SRC, TGT)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def run_argos(texts_file: Path, packages_dir: Path, env: dict[str, str]) -> float:
    environ = {**os.environ, "ARGOS_PACKAGES_DIR": str(packages_dir), **env}
    command = [sys.executable, __file__, "--argos-worker", str(texts_file)]
    out = subprocess.run(command, env=environ, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def run_engine(texts: list[str], router: ModelRouter, settings: EngineSettings) -> float:
    """(b) without de-duplication: split every text, translate every sentence in one call."""
    translator = ArgosTranslator(router, settings)
    translator.translate(["Bonjour."], SRC, TGT)
    started = time.perf_counter()
    sentences = [s for text in texts for s in split_sentences(text, SRC)]
    translator.translate(sentences, SRC, TGT)
    return time.perf_counter() - started


def run_pipeline(texts: list[str], router: ModelRouter, settings: EngineSettings) -> float:
    """(b) de-duplicated: the full pipeline, documents in, empty memory."""
    from feeds.db import open_engine
    from translations.memory import TM_SCHEMA, SqlTranslationMemory
    from translations.pipeline import TranslationPipeline

    translator = ArgosTranslator(router, settings)
    translator.translate(["Bonjour."], SRC, TGT)
    engine = open_engine("sqlite://", [TM_SCHEMA])
    pipeline = TranslationPipeline(translator, SqlTranslationMemory(engine), languages=[SRC, TGT])
    documents = [Document(str(i), {"title": DocField(t)}, SRC) for i, t in enumerate(texts)]
    started = time.perf_counter()
    pipeline.translate(documents, [TGT])
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def run_raw(texts: list[str], package_dir: Path, settings: EngineSettings) -> float:
    """(c) ``translate_batch`` alone on pre-tokenised sentences, same options as the engine."""
    import ctranslate2
    import sentencepiece

    translator = ctranslate2.Translator(
        str(package_dir / "model"),
        device=settings.device,
        compute_type=settings.compute_type,
        inter_threads=settings.inter_threads,
        intra_threads=settings.intra_threads,
    )
    tokenizer = sentencepiece.SentencePieceProcessor(
        model_file=str(package_dir / "sentencepiece.model")
    )
    sentences = [s for text in texts for s in split_sentences(text, SRC)]
    pieces = tokenizer.encode(sentences, out_type=str)
    options = {
        "beam_size": settings.beam_size,
        "patience": settings.patience,
        "length_penalty": settings.length_penalty,
        "max_batch_size": settings.max_batch_size,
        "max_decoding_length": settings.max_decoding_length,
        "batch_type": "examples",
        "replace_unknowns": True,
    }
    translator.translate_batch(pieces[:8], **options)
    started = time.perf_counter()
    translator.translate_batch(pieces, **options)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for (b) and (c)")
    parser.add_argument("--argos-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.argos_worker:
        argos_worker(args.argos_worker)
        return 0
    texts = build_texts(args.texts)
    sentences = sum(len(split_sentences(t, SRC)) for t in texts)
    distinct = len({s for t in texts for s in split_sentences(t, SRC)})
    with tempfile.TemporaryDirectory(prefix="lingofeed-bench-") as tmp:
        for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            os.environ[variable] = str(Path(tmp) / variable.lower())  # keep Argos out of ~
        packages_dir = Path(tmp) / "packages"
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts))
        install_package(packages_dir)
        store = ModelStore(Path(tmp) / "lingofeed-models")
        package_dir = store.install_file(package_path(SRC, TGT)).path
        rows: list[tuple[str, float]] = [
            ("(a) argos translate() per text, defaults", run_argos(texts_file, packages_dir, {})),
            (
                "(a) argos translate() per text, beam 1 inter 2 intra 1",
                run_argos(texts_file, packages_dir, ARGOS_TUNED),
            ),
        ]
        for label, settings in (
            ("beam 4 patience 2", EngineSettings()),
            ("beam 1", EngineSettings(beam_size=1, patience=1)),
        ):
            # Interleaved and repeated, best time kept: the machine is shared and noisy.
            timings: dict[str, list[float]] = {}
            for _ in range(args.repeats):
                for name, seconds in (
                    ("(b) segment + engine", run_engine(texts, store, settings)),
                    ("(b) pipeline (de-duplicated)", run_pipeline(texts, store, settings)),
                    ("(c) raw translate_batch", run_raw(texts, package_dir, settings)),
                ):
                    timings.setdefault(f"{name}, {label}", []).append(seconds)
            rows.extend((name, min(values)) for name, values in timings.items())
    print(
        f"{len(texts)} texts, {sentences} sentences ({distinct} distinct), fr->en, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'configuration':<58} {'seconds':>8} {'sentences/s':>12}")
    rate = {label: sentences / seconds for label, seconds in rows}
    for label, seconds in rows:
        print(f"{label:<58} {seconds:>8.2f} {rate[label]:>12.0f}")
    baseline = rate[rows[0][0]]
    for label in ("beam 4 patience 2", "beam 1"):
        b = rate[f"(b) segment + engine, {label}"]
        print(
            f"{label}: b/a(defaults) = {b / baseline:.1f}x, "
            f"b/c = {b / rate[f'(c) raw translate_batch, {label}']:.2f}, "
            f"pipeline/a = {rate[f'(b) pipeline (de-duplicated), {label}'] / baseline:.1f}x"
        )
    print(f"beam 1: b/a(tuned) = {rate['(b) segment + engine, beam 1'] / rate[rows[1][0]]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
