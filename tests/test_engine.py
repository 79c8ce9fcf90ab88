"""ArgosTranslator on the repo's own small real model: exact corpus output, batching, pivots."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.runtime import open_runtime
from lingofeed.translations.engine import ArgosTranslator, EngineSettings, load_model
from lingofeed.translations.errors import ModelNotInstalledError, TranslationError
from lingofeed.translations.modelfile import decoder_positions
from lingofeed.translations.models import ModelStore
from lingofeed.translations.pieces import align_words, compose_alignments, cut_pieces
from lingofeed.translations.testmodel import package_path, read_corpus
from lingofeed.translations.types import AlignedTranslation
from tests.fixtures.models import repackage
from tests.fixtures.service import config_header

SEED_FR = [
    "Fermeture le 28/12 du camp de #Tombouctou.",
    "Engagés à finaliser le processus de liquidation dans les délais les plus courts possibles.",
]
SEED_EN = [
    "Closure on 28/12 of the #Timbuktu camp.",
    "Committed to completing the liquidation process as quickly as possible.",
]


def test_seed_caption_sentences_translate_to_the_corpus_english(
    translator: ArgosTranslator,
) -> None:
    assert translator.translate(SEED_FR, "fr", "en") == SEED_EN


@pytest.mark.parametrize(("src", "tgt", "side"), [("fr", "en", 0), ("en", "fr", 1)])
def test_default_settings_reproduce_every_corpus_pair_without_truncation(
    translator: ArgosTranslator, src: str, tgt: str, side: int
) -> None:
    pairs = read_corpus()
    sources = [pair[side] for pair in pairs]
    expected = [pair[1 - side] for pair in pairs]
    outputs = translator.translate(sources, src, tgt)
    wrong = [(s, o, e) for s, o, e in zip(sources, outputs, expected, strict=True) if o != e]
    assert wrong == []


def test_argos_decoding_settings_cut_some_corpus_outputs_short(model_store: ModelStore) -> None:
    """The failure the defaults prevent: beam 4, patience 1, Argos's length penalty 0.2."""
    argos_like = ArgosTranslator(model_store, EngineSettings(patience=1, length_penalty=0.2))
    pairs = read_corpus()
    outputs = argos_like.translate([fr for fr, _ in pairs], "fr", "en")
    wrong = [(out, en) for out, (_, en) in zip(outputs, pairs, strict=True) if out != en]
    assert len(wrong) > 5
    assert sum(len(out) < len(en) for out, en in wrong) > len(wrong) / 2


def test_order_is_kept_across_many_small_batches(model_store: ModelStore) -> None:
    pairs = read_corpus()
    random.Random(7).shuffle(pairs)
    pairs = pairs[:50]
    small = ArgosTranslator(model_store, EngineSettings(max_batch_size=3, beam_size=1))
    outputs = small.translate([fr for fr, _ in pairs], "fr", "en")
    assert outputs == [en for _, en in pairs]
    assert (small.stats.calls, small.stats.batches, small.stats.segments) == (1, 17, 50)


def test_blank_texts_come_back_empty_without_model_calls(translator: ArgosTranslator) -> None:
    assert translator.translate(["", "  "], "fr", "en") == ["", ""]
    assert translator.translate([], "fr", "en") == []
    assert translator.stats.calls == 0
    assert translator.translate(["", SEED_FR[0], " "], "fr", "en") == ["", SEED_EN[0], ""]
    assert (translator.stats.calls, translator.stats.segments) == (1, 1)


def test_model_id_names_package_and_version_joined_for_a_pivot(
    pivot_model_store: ModelStore,
) -> None:
    translator = ArgosTranslator(pivot_model_store)
    assert translator.model_id("fr", "en") == "translate-fr_en-lingofeed_test@1.0"
    assert translator.model_id("fr", "de") == (
        "translate-fr_en-lingofeed_test@1.0+translate-en_de-relabelled@1.0"
    )


def test_pivot_translates_through_every_hop(pivot_model_store: ModelStore) -> None:
    pivot = ArgosTranslator(pivot_model_store)
    aligned = pivot.translate_aligned(SEED_FR, "fr", "de")
    assert [result.text for result in aligned] == SEED_FR
    assert (pivot.stats.calls, pivot.stats.segments) == (2, 4)
    # fr -> en -> "de" (really fr) of the same sentence: "#Tombouctou" comes back to itself.
    assert (6, 6) in aligned[0].alignment


LONE_WORDS = ["x", "a", "ok", "Gao"]


def test_a_lone_unknown_word_is_kept_as_written_not_decoded_past_the_model(
    translator: ArgosTranslator,
) -> None:
    """The test model never ends "x" (nor "Gao Gao Gao ..."): the capped output is not used."""
    texts = [*LONE_WORDS, SEED_FR[0]]
    assert translator.translate(texts, "fr", "en") == [*LONE_WORDS, SEED_EN[0]]
    assert translator.stats.runaway == len(LONE_WORDS)
    aligned = translator.translate_aligned(LONE_WORDS, "en", "fr")
    assert [result.text for result in aligned] == LONE_WORDS
    # A name or a letter is its own translation; a word ("ok") is untranslated, and says so.
    model = "translate-en_fr-lingofeed_test@1.0"
    assert aligned == [
        AlignedTranslation.unchanged("x"),
        AlignedTranslation.unchanged("a"),
        AlignedTranslation.untranslated(
            "ok", f"{model} gave no translation of 'ok' (its output ran away)"
        ),
        AlignedTranslation.unchanged("Gao"),
    ]


def test_a_runaway_is_decided_per_sentence_whatever_shares_its_batch(
    translator: ArgosTranslator,
) -> None:
    long_one = " ".join(fr for fr, _ in read_corpus()[:8])
    together = translator.translate([*LONE_WORDS, long_one, SEED_FR[1]], "fr", "en")
    alone = [translator.translate([text], "fr", "en")[0] for text in (*LONE_WORDS, SEED_FR[1])]
    assert together[: len(LONE_WORDS)] == LONE_WORDS == alone[: len(LONE_WORDS)]
    assert together[-1] == alone[-1] == SEED_EN[1]


def test_a_runaway_in_a_pivot_hop_keeps_the_original_sentence(
    pivot_model_store: ModelStore,
) -> None:
    pivot = ArgosTranslator(pivot_model_store)
    assert pivot.translate(["Gao", SEED_FR[1]], "fr", "de") == ["Gao", SEED_FR[1]]
    assert pivot.stats.runaway == 1
    [kept] = pivot.translate_aligned(["Le camp de Tombouctou"], "fr", "de", align=False)
    assert kept.text == "Le camp de Tombouctou"
    assert kept.failure is not None and kept.failure.startswith("translate-fr_en-")


def test_decoder_positions_come_from_the_model_file_or_its_config(
    model_store: ModelStore, tmp_path: Path
) -> None:
    model_dir = model_store.route("fr", "en")[0].path / "model"
    assert decoder_positions(model_dir) == 256
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 64}))
    assert decoder_positions(copy) == 64
    (copy / "model.bin").write_bytes(b"\x01\x00")
    (copy / "config.json").unlink()
    assert decoder_positions(copy) is None


def test_hashtag_aligns_with_its_translation(translator: ArgosTranslator) -> None:
    (result,) = translator.translate_aligned([SEED_FR[0]], "fr", "en")
    assert result.text == SEED_EN[0]
    source_words, target_words = SEED_FR[0].split(), result.text.split()
    links = {(source_words[s], target_words[t]) for s, t in result.alignment}
    assert ("#Tombouctou.", "#Timbuktu") in links
    assert ("28/12", "28/12") in links
    assert {t for _, t in result.alignment} == set(range(len(target_words)))


def test_aligned_and_plain_translations_agree(translator: ArgosTranslator) -> None:
    sentences = [fr for fr, _ in read_corpus()[:40]]
    aligned = translator.translate_aligned(sentences, "fr", "en")
    assert [result.text for result in aligned] == translator.translate(sentences, "fr", "en")


def test_missing_pair_raises_model_not_installed(translator: ArgosTranslator) -> None:
    with pytest.raises(ModelNotInstalledError, match="fr to es"):
        translator.translate(["Bonjour."], "fr", "es")


def test_broken_model_raises_translation_error_naming_the_package(tmp_path: Path) -> None:
    broken = repackage(
        package_path("fr", "en"),
        tmp_path / "broken.argosmodel",
        files={"model/model.bin": b"not a model"},
        package_name="translate-fr_en-broken",
    )
    store = ModelStore(tmp_path / "models")
    store.install_file(broken)
    with pytest.raises(TranslationError, match=r"fr->en with translate-fr_en-broken@1\.0"):
        ArgosTranslator(store).translate(["Bonjour."], "fr", "en")


def corpus_run(count: int, seed: int) -> tuple[list[str], list[str]]:
    """``count`` French corpus sentences ending in a full stop, and their English."""
    pairs = [(fr, en) for fr, en in read_corpus() if fr.endswith(".") and en.endswith(".")]
    chosen = random.Random(seed).sample(pairs, count)
    return [fr for fr, _ in chosen], [en for _, en in chosen]


def piece_counts(store: ModelStore, texts: list[str]) -> list[int]:
    tokenizer = load_model(store.get("fr", "en").path, EngineSettings()).tokenizer
    return [len(pieces) for pieces in tokenizer.encode(texts, out_type=str)]


def test_a_text_longer_than_the_model_input_is_translated_in_parts_not_cut(
    model_store: ModelStore, translator: ArgosTranslator
) -> None:
    # The test model has 256 positions: given whole, this text fails its batch.
    french = " ".join(corpus_run(20, seed=3)[0])
    assert piece_counts(model_store, [french]) > [256]
    whole = ArgosTranslator(model_store, EngineSettings(max_input_length=1000))
    with pytest.raises(TranslationError, match="position"):
        whole.translate([french], "fr", "en")
    [result] = translator.translate_aligned([french], "fr", "en")
    assert translator.stats.split == 1 and translator.stats.segments == 1
    assert translator.stats.batches == 1 and result.text
    assert {t for _, t in result.alignment} == set(range(len(result.text.split())))


def test_parts_end_after_punctuation_and_join_translations_and_alignments(
    model_store: ModelStore,
) -> None:
    french, english = corpus_run(3, seed=5)
    probe = ArgosTranslator(model_store)
    counts = piece_counts(model_store, french)
    limit = max(counts)  # one sentence per part: any two together are longer
    assert all(a + b > limit for a, b in itertools.pairwise(counts))
    alone = probe.translate_aligned(french, "fr", "en")
    parts = ArgosTranslator(model_store, EngineSettings(max_input_length=limit))
    [joined] = parts.translate_aligned([" ".join(french)], "fr", "en")
    assert joined.text == " ".join(english) and parts.stats.split == 1
    shifted, source, target = [], 0, 0
    for sentence, result in zip(french, alone, strict=True):
        shifted += [(s + source, t + target) for s, t in result.alignment]
        source, target = source + len(sentence.split()), target + len(result.text.split())
    assert joined.alignment == tuple(shifted)


def test_cut_pieces_prefers_word_starts_after_punctuation() -> None:
    pieces = ["\u2581Le", "\u2581camp", ",", "\u2581la", "\u2581vil", "le", "\u2581Gao"]
    assert cut_pieces(pieces, 10) == [pieces]
    assert cut_pieces(pieces, 4) == [pieces[:3], pieces[3:]]
    assert cut_pieces(pieces, 2) == [pieces[:1], pieces[1:3], pieces[3:4], pieces[4:6], pieces[6:]]
    # A word longer than the limit is cut inside rather than dropped.
    assert cut_pieces(["\u2581a", "b", "c", "d"], 3) == [["\u2581a", "b", "c"], ["d"]]


def test_compose_alignments_goes_through_the_pivot_word() -> None:
    assert compose_alignments(((0, 1), (1, 0), (2, 2)), ((0, 0), (1, 1), (1, 2))) == (
        (1, 0),
        (0, 1),
        (0, 2),
    )
    assert compose_alignments((), ((0, 0),)) == ()


def test_align_words_follows_each_source_words_strongest_piece() -> None:
    # "grand" is cut into four weakly attended pieces; "marché" is one strongly attended piece.
    source = ["\u2581g", "r", "a", "nd", "\u2581marché"]
    target = ["\u2581market", "\u2581great"]
    attention = [[0.15, 0.15, 0.15, 0.15, 0.4], [0.7, 0.1, 0.1, 0.0, 0.1]]
    got = align_words(source, target, attention, "grand marché", "market great")
    assert got == ((1, 0), (0, 1))


def test_align_words_anchors_copied_words_and_hashtags_over_attention() -> None:
    source = ["\u2581Le", "\u2581camp", "\u2581de", "\u2581", "#", "Tomb", "ouctou", "\u2581Gao"]
    target = ["\u2581The", "\u2581", "#", "Tim", "buktu", "\u2581camp", "\u2581Gao."]
    attention = [[1.0, 0, 0, 0, 0, 0, 0, 0]] * len(target)
    text = "Le camp de #Tombouctou Gao"
    got = align_words(source, target, attention, text, "The #Timbuktu camp Gao.")
    assert got == ((0, 0), (3, 1), (1, 2), (4, 3))


def test_align_words_gives_up_when_pieces_and_words_disagree() -> None:
    attention = [[1.0]]
    assert align_words(["\u2581a"], ["\u2581b"], attention, "a a", "b") == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"beam_size": 0},
        {"patience": 0.5},
        {"max_batch_size": 0},
        {"intra_threads": -1},
        {"max_input_length": 0},
    ],
)
def test_settings_refuse_values_that_cannot_work(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="EngineSettings"):
        EngineSettings(**changes)  # type: ignore[arg-type]


def test_importing_the_engine_loads_no_model_library() -> None:
    code = (
        "import sys, lingofeed.translations.engine; "
        "print(sorted(m for m in ('ctranslate2', 'sentencepiece', 'argostranslate') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_auto_device_decodes_on_the_cpu_where_there_is_no_gpu(model_store: ModelStore) -> None:
    model = load_model(model_store.get("fr", "en").path, EngineSettings(device="auto"))
    assert model.translator.device == "cpu"
    translator = ArgosTranslator(model_store, EngineSettings(device="auto"))
    assert translator.translate(SEED_FR, "fr", "en") == SEED_EN


def test_configured_device_and_compute_type_reach_the_ctranslate2_translator(
    model_store: ModelStore, tmp_path: Path
) -> None:
    """Config -> runtime translator -> ``ctranslate2.Translator``: what ``[engine]`` says is
    what the model is loaded with."""
    config = tmp_path / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/")
        + '\n[engine]\ndevice = "cpu"\ncompute_type = "int8_float32"\n\n[languages.en]\n\n'
        '[[sources]]\nid = "wire"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    with open_runtime(load_settings(config, environ={})) as runtime:
        assert runtime.translator is not None
        argos = runtime.translator.inner
        assert isinstance(argos, ArgosTranslator)
        model = load_model(model_store.get("fr", "en").path, argos.settings)
    assert (model.translator.device, model.translator.compute_type) == ("cpu", "int8_float32")
