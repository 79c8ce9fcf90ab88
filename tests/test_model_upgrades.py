"""A newer package version installed under a running translator, and broken package folders.

Every version of a pair installs into the same folder, so a model cache keyed by that folder
kept serving the old weights under the new version's id, and the translation memory stored
their output under the new key for good (issue 11). Here version 2.0 of fr->en carries the
real en->fr weights, so each output shows which weights produced it. A folder that is not a
usable package used to raise for every pair and for ``/status``; now it is that pair
unavailable, with the reason, and every other pair keeps working.
"""

from __future__ import annotations

import html
import json
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from lingofeed.feeds.store import SqlTranslationMemory
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_cycle
from lingofeed.scheduler.service import open_runtime
from lingofeed.translations.engine import ArgosTranslator
from lingofeed.translations.errors import ModelNotInstalledError, TranslationError
from lingofeed.translations.models import ModelStore
from lingofeed.translations.pipeline import TranslationPipeline
from lingofeed.translations.testmodel import read_corpus
from lingofeed.translations.types import DocField, Document
from tests.feedrules import assert_valid_json_feed
from tests.fixtures.feeds import FeedServer
from tests.fixtures.models import newer_fr_en
from tests.fixtures.service import RunningService, lingofeed, make_service_folder

EN = dict(read_corpus())
TRADERS = "Les commerçants vendent du sel, du riz et des tissus."
MARKET = "Le grand marché de Tombouctou est de nouveau animé."
OLD_ID = "translate-fr_en-lingofeed_test@1.0"
NEW_ID = "translate-fr_en-lingofeed_test@2.0"


def version_two_outputs(package: Path, folder: Path, texts: list[str]) -> list[str]:
    """What version 2.0 alone gives for ``texts``: a translator that never saw 1.0."""
    store = ModelStore(folder)
    store.install_file(package, progress=False)
    return ArgosTranslator(store).translate(texts, "fr", "en")


@pytest.fixture
def upgrade(test_packages, tmp_path) -> Path:
    return newer_fr_en(test_packages, tmp_path / "upgrade" / "translate-fr_en-2_0.argosmodel")


def test_a_newer_version_installed_under_a_running_translator_is_what_it_translates_with(
    model_store, upgrade, tmp_path
):
    translator = ArgosTranslator(model_store)
    assert translator.model_id("fr", "en") == OLD_ID
    assert translator.translate([TRADERS, MARKET], "fr", "en") == [EN[TRADERS], EN[MARKET]]

    model_store.install_file(upgrade, progress=False)

    assert translator.model_id("fr", "en") == NEW_ID
    wanted = version_two_outputs(upgrade, tmp_path / "alone", [TRADERS, MARKET])
    assert wanted != [EN[TRADERS], EN[MARKET]]
    assert translator.translate([TRADERS, MARKET], "fr", "en") == wanted
    assert translator.translate(["Bonjour."], "en", "fr") == ArgosTranslator(model_store).translate(
        ["Bonjour."], "en", "fr"
    )  # the other pair is untouched


def _memory_rows(database: Path) -> dict[tuple[str, str], str]:
    """(source sentence, model id) -> stored translation, for fr->en."""
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT source, model_id, target FROM translation_memory WHERE src = 'fr'"
        )
        return {(source, model): target for source, model, target in rows}


def test_translation_memory_rows_hold_the_output_of_the_weights_their_key_names(
    model_store, upgrade, memory: SqlTranslationMemory, tm_url, tmp_path
):
    pipeline = TranslationPipeline(ArgosTranslator(model_store), memory, languages=["fr", "en"])
    documents = [Document("a", {"title": DocField(TRADERS)}, language="fr")]
    assert pipeline.translate(documents, ["en"])[0].fields["title"] == EN[TRADERS]

    model_store.install_file(upgrade, progress=False)
    [after] = pipeline.translate(documents, ["en"])

    [wanted] = version_two_outputs(upgrade, tmp_path / "alone", [TRADERS])
    assert after.fields["title"] == wanted
    assert _memory_rows(Path(tm_url.removeprefix("sqlite:///"))) == {
        (TRADERS, OLD_ID): EN[TRADERS],
        (TRADERS, NEW_ID): wanted,
    }


def test_a_package_replaced_between_model_id_and_translate_is_never_used_under_the_old_id(
    model_store, upgrade
):
    """The key is taken before the model runs: the weights must be the ones it names."""
    loaded = ArgosTranslator(model_store)
    loaded.translate([TRADERS], "fr", "en")  # 1.0's weights are in memory
    not_loaded = ArgosTranslator(model_store)
    assert loaded.model_id("fr", "en") == not_loaded.model_id("fr", "en") == OLD_ID

    model_store.install_file(upgrade, progress=False)

    assert loaded.translate([TRADERS], "fr", "en") == [EN[TRADERS]]
    with pytest.raises(TranslationError, match="was replaced after it was listed for this job"):
        not_loaded.translate([TRADERS], "fr", "en")
    assert not_loaded.model_id("fr", "en") == NEW_ID  # the next job uses 2.0 under its id
    assert not_loaded.translate([TRADERS], "fr", "en") != [EN[TRADERS]]


def _no_model_bin(folder: Path) -> str:
    (folder / "model" / "model.bin").unlink()
    return "missing model/model.bin"


def _invalid_metadata(folder: Path) -> str:
    (folder / "metadata.json").write_text("{not json", encoding="utf-8")
    return (
        "metadata.json is not JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    )


def _unreadable_metadata(folder: Path) -> str:
    """A directory where the file should be: unreadable for every user, root included (a
    folder without read permission gives the same OSError path to an unprivileged service)."""
    (folder / "metadata.json").unlink()
    (folder / "metadata.json").mkdir()
    return "cannot read metadata.json (Is a directory)"


def _metadata_without_a_version(folder: Path) -> str:
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    del metadata["package_version"]
    (folder / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    return "metadata.json lacks package_version"


BREAKAGES: dict[str, Callable[[Path], str]] = {
    "no model.bin": _no_model_bin,
    "invalid metadata.json": _invalid_metadata,
    "unreadable metadata.json": _unreadable_metadata,
    "metadata.json without a version": _metadata_without_a_version,
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_package_folder_is_its_pair_unavailable_with_the_reason(
    model_store, breakage: Callable[[Path], str]
):
    reason = breakage(model_store.packages_dir / "fr_en")
    problem = f"fr -> en unavailable: {model_store.packages_dir / 'fr_en'}: {reason}"
    assert [(m.from_code, m.to_code) for m in model_store.list()] == [("en", "fr")]
    assert [b.describe() for b in model_store.scan().broken] == [problem]
    assert problem in model_store.list_rows()
    with pytest.raises(ModelNotInstalledError) as caught:
        model_store.route("fr", "en")
    assert problem in str(caught.value)
    assert ArgosTranslator(model_store).translate(["Bonjour."], "en", "fr")  # the other pair


def test_stray_files_and_folders_without_package_files_are_not_packages(model_store):
    (model_store.packages_dir / "notes.txt").write_text("ours", encoding="utf-8")
    (model_store.packages_dir / "backup").mkdir()
    (model_store.packages_dir / "fr_de").symlink_to(model_store.packages_dir / "gone")
    scan = model_store.scan()
    assert len(scan.models) == 2 and scan.foreign == ()
    assert [b.describe() for b in scan.broken] == [
        f"fr -> de unavailable: {model_store.packages_dir / 'fr_de'}: a symbolic link to nothing"
    ]


# -- the same through ``lingofeed once``, ``models list``, ``check``, ``status`` and /status -------


def _wire(*titles: str) -> str:
    items = "".join(
        f"<item><guid>https://wire.example.org/{n}</guid><link>https://wire.example.org/{n}</link>"
        f"<title>{title}</title><pubDate>Mon, 15 Jan 2024 0{n}:00:00 GMT</pubDate></item>"
        for n, title in enumerate(titles, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fil</title>'
        f"<link>https://wire.example.org/</link><description>Fil</description>{items}"
        "</channel></rss>"
    )


def _wire_titles(public: Path, language: str) -> dict[str, str]:
    data = (public / language / "feed.json").read_bytes()
    assert_valid_json_feed(data)
    items = json.loads(data)["items"]
    return {i["url"]: i["title"] for i in items if i["url"].startswith("https://wire.")}


def _install(config: Path, package: Path) -> None:
    installed = lingofeed(
        "--config", str(config), "models", "install", str(package), cwd=config.parent
    )
    assert installed.returncode == 0, installed.stderr
    assert "installed fr -> en (translate-fr_en-lingofeed_test@" in installed.stdout


def _once(config: Path) -> None:
    run = lingofeed("--config", str(config), "once", cwd=config.parent)
    assert run.returncode == 0, run.stderr


def _published(folder: Path) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The English feed's wire titles and the fr->en translation memory of a service folder."""
    return _wire_titles(folder / "public", "en"), _memory_rows(folder / "data" / "lingofeed.sqlite")


def _fresh_install_of(upgrade: Path, feed_url: str, folder: Path) -> tuple[dict, dict]:
    """What a service that only ever had version 2.0 publishes and stores."""
    config = make_service_folder(folder, feed_url)
    _install(config, upgrade)
    _once(config)
    return _published(folder)


def test_lingofeed_once_after_models_install_of_a_newer_version_publishes_its_output(
    feed_server: FeedServer, upgrade, tmp_path
):
    url = feed_server.add("/wire.xml", _wire(TRADERS, MARKET))
    folder = tmp_path / "service"
    config = make_service_folder(folder, url)
    _once(config)
    before, old_rows = _published(folder)
    assert set(before.values()) == {EN[TRADERS], EN[MARKET]}

    _install(config, upgrade)
    _once(config)

    after, rows = _published(folder)
    fresh, fresh_rows = _fresh_install_of(upgrade, url, tmp_path / "fresh")
    assert after == fresh and not set(after.values()) & set(before.values())
    assert {key: row for key, row in rows.items() if key[1] == NEW_ID} == fresh_rows
    assert {key: row for key, row in rows.items() if key[1] == OLD_ID} == old_rows
    assert {model for _, model in rows} == {OLD_ID, NEW_ID}


def test_a_running_runtime_translates_the_next_cycle_with_the_upgrade(
    feed_server: FeedServer, upgrade, tmp_path
):
    """The service's own path: one Runtime (one translator, models loaded) for both cycles."""
    url = feed_server.add("/wire.xml", _wire(TRADERS))
    folder = tmp_path / "service"
    settings = load_settings(make_service_folder(folder, url))
    with open_runtime(settings) as runtime:
        run_cycle(runtime.context(settings))
        assert _wire_titles(folder / "public", "en") == {"https://wire.example.org/1": EN[TRADERS]}
        runtime.models.install_file(upgrade, progress=False)
        run_cycle(runtime.context(settings))
    after, rows = _published(folder)
    fresh, fresh_rows = _fresh_install_of(upgrade, url, tmp_path / "fresh")
    assert after == fresh != {"https://wire.example.org/1": EN[TRADERS]}
    assert {key: row for key, row in rows.items() if key[1] == NEW_ID} == fresh_rows


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_lingofeed_once_with_a_broken_package_fails_that_pair_and_publishes_the_others(
    feed_server: FeedServer, tmp_path, breakage: Callable[[Path], str]
):
    folder = tmp_path / "service"
    config = make_service_folder(folder, feed_server.add("/wire.xml", _wire(TRADERS)))
    reason = breakage(folder / "models" / "fr_en")
    problem = f"fr -> en unavailable: {folder / 'models' / 'fr_en'}: {reason}"

    run = lingofeed("--config", str(config), "once", cwd=folder)

    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "lingofeed: source 'wire': en: 1 item not translated:" in run.stderr
    assert problem in run.stderr
    assert _wire_titles(folder / "public", "en") == {}
    assert _wire_titles(folder / "public", "fr") == {"https://wire.example.org/1": TRADERS}
    for command in (("models", "list"), ("check",), ("status",)):
        shown = lingofeed("--config", str(config), *command, cwd=folder)
        assert shown.returncode == 0, shown.stderr
        assert problem in shown.stdout, command
    assert "en -> fr  translate-en_fr-lingofeed_test@1.0" in (
        lingofeed("--config", str(config), "models", "list", cwd=folder).stdout
    )


def test_status_pages_of_a_running_service_show_a_broken_package(
    feed_server: FeedServer, tmp_path, running_service: Callable[[Path], RunningService]
):
    folder = tmp_path / "service"
    config = make_service_folder(folder, feed_server.add("/wire.xml", _wire(TRADERS)))
    shutil.rmtree(folder / "models" / "fr_en" / "model")
    service = running_service(config)
    service.wait_for(r"source=wire .*event=published")
    page, data = service.get("/status"), service.get("/status.json")
    assert page.status_code == data.status_code == 200
    problem = f"fr -> en unavailable: {folder / 'models' / 'fr_en'}: missing model/model.bin"
    assert html.escape(problem) in page.text
    assert data.json()["models"] == [problem]
