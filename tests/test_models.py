"""ModelStore: installing from files and from a real local index, removing, routing."""

from __future__ import annotations

import socket
import zipfile
from pathlib import Path

import pytest

from lingofeed.translations import errors, models
from lingofeed.translations.errors import (
    InvalidPackageError,
    ModelNotInstalledError,
    PackageIndexError,
    PackageNotAvailableError,
)
from lingofeed.translations.models import ModelStore, version_key
from tests.fixtures.models import repackage


def test_install_file_lists_both_directions(model_store):
    models = model_store.list()
    assert [(m.from_code, m.to_code) for m in models] == [("en", "fr"), ("fr", "en")]
    assert all(m.version == "1.0" and (m.path / "model" / "model.bin").is_file() for m in models)
    assert models[1].model_id == "translate-fr_en-lingofeed_test@1.0"
    assert models[1].path.name == "fr_en"


def test_install_from_local_index_installs_the_pair(tmp_path, package_index):
    store = ModelStore(tmp_path / "store")
    installed = store.install_from_index("fr", "en", package_index, progress=False)
    assert (installed.from_code, installed.to_code, installed.version) == ("fr", "en", "1.0")
    assert store.list() == [installed]
    assert not [p for p in store.packages_dir.iterdir() if p.name.startswith(".")]


def test_available_lists_translate_packages_only(tmp_path, package_index_server, test_packages):
    package_index_server.publish(test_packages["fr", "en"])
    package_index_server.entries.append({"type": "sbd", "package_version": "1", "links": ["x"]})
    package_index_server.publish(test_packages["en", "fr"])
    offered = ModelStore(tmp_path).available(package_index_server.url)
    assert [(m.from_code, m.to_code, m.version) for m in offered] == [
        ("fr", "en", "1.0"),
        ("en", "fr", "1.0"),
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_index_raises_one_package_index_error(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(PackageIndexError) as caught:
        ModelStore(tmp_path).install_from_index("fr", "en", url)
    assert f"{url}index.json" in str(caught.value)
    assert "ConnectError" in str(caught.value)


def test_index_that_is_not_json_raises_package_index_error(tmp_path, package_index_server):
    (package_index_server.root / "index.json").write_text("<html>maintenance</html>")
    with pytest.raises(PackageIndexError, match="could not read the Argos package index"):
        ModelStore(tmp_path).available(package_index_server.url)


def test_pair_missing_from_index_names_the_pair(tmp_path, package_index):
    with pytest.raises(PackageNotAvailableError, match="no fr->de package"):
        ModelStore(tmp_path).install_from_index("fr", "de", package_index)


def test_newer_index_version_replaces_installed_despite_stale_cached_download(
    tmp_path, model_store, package_index_server, test_packages
):
    old = test_packages["fr", "en"]
    # Where argostranslate would have cached an earlier download, with no version in the name.
    for cache in (model_store.packages_dir, Path(tmp_path / "argos-downloads")):
        cache.mkdir(exist_ok=True)
        (cache / "translate-fr_en.argosmodel").write_bytes(old.read_bytes())
    newer = repackage(old, tmp_path / "newer.argosmodel", package_version="1.1")
    package_index_server.publish(old)
    package_index_server.publish(newer)

    installed = model_store.install_from_index("fr", "en", package_index_server.url)

    assert installed.version == "1.1"
    assert [m.version for m in model_store.list() if m.from_code == "fr"] == ["1.1"]


def test_index_entry_lying_about_version_is_refused(
    model_store, package_index_server, test_packages
):
    package_index_server.publish(test_packages["fr", "en"], package_version="2.0")
    with pytest.raises(InvalidPackageError, match=r"promised fr->en version 2\.0.*version 1\.0"):
        model_store.install_from_index("fr", "en", package_index_server.url)
    assert model_store.get("fr", "en").version == "1.0"


def test_dead_download_link_raises_package_index_error(
    tmp_path, package_index_server, test_packages
):
    package_index_server.publish(
        test_packages["fr", "en"], links=[package_index_server.url + "gone.argosmodel"]
    )
    with pytest.raises(PackageIndexError, match=r"could not download the package.*404"):
        ModelStore(tmp_path).install_from_index("fr", "en", package_index_server.url)


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


_META = b'{"from_code": "fr", "to_code": "en", "package_version": "1.0"}'
_COMPLETE = {"p/model/model.bin": b"", "p/sentencepiece.model": b"", "p/metadata.json": _META}


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (None, "not a zip archive"),
        ({**_COMPLETE, "q/extra": b""}, "expected one top folder"),
        ({k: v for k, v in _COMPLETE.items() if "model.bin" not in k}, "missing p/model/model.bin"),
        ({**_COMPLETE, "p/metadata.json": b"{"}, "metadata.json is not JSON"),
        ({**_COMPLETE, "p/metadata.json": b'{"from_code": "fr"}'}, "lacks to_code, package_ver"),
        ({**_COMPLETE, "p/../../evil": b""}, "unsafe member name"),
    ],
)
def test_invalid_package_file_error_names_file_and_reason(tmp_path, files, reason):
    path = tmp_path / "bad.argosmodel"
    if files is None:
        path.write_text("not a zip")
    else:
        _zip(path, files)
    with pytest.raises(InvalidPackageError) as caught:
        ModelStore(tmp_path / "store").install_file(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert ModelStore(tmp_path / "store").list() == []


def test_failed_install_keeps_the_previous_package(tmp_path, model_store):
    before = model_store.list()
    with pytest.raises(InvalidPackageError):
        model_store.install_file(_zip(tmp_path / "x.argosmodel", {"p/metadata.json": _META}))
    assert model_store.list() == before


def test_remove_deletes_only_that_pair(model_store):
    removed = model_store.remove("fr", "en")
    assert not removed.path.exists()
    assert [(m.from_code, m.to_code) for m in model_store.list()] == [("en", "fr")]


def test_remove_missing_pair_raises_model_not_installed(model_store):
    with pytest.raises(ModelNotInstalledError, match="nothing to remove"):
        model_store.remove("fr", "de")


def test_route_prefers_the_direct_package(model_store):
    assert [m.to_code for m in model_store.route("fr", "en")] == ["en"]


def test_packages_sharing_a_folder_name_stay_installed_side_by_side(pivot_model_store):
    pairs = [(m.from_code, m.to_code) for m in pivot_model_store.list()]
    assert pairs == [("en", "de"), ("en", "fr"), ("fr", "en")]


def test_route_pivots_through_english(pivot_model_store):
    route = pivot_model_store.route("fr", "de")
    assert [(m.from_code, m.to_code) for m in route] == [("fr", "en"), ("en", "de")]
    assert pivot_model_store.describe_route("fr", "de") == (
        "fr -> en -> de (translate-fr_en-lingofeed_test@1.0 + translate-en_de-relabelled@1.0)"
    )


def test_list_rows_show_installed_packages_and_pivots(pivot_model_store):
    rows = pivot_model_store.list_rows()
    assert rows[0].startswith("en -> de  translate-en_de-relabelled@1.0  ")
    assert rows[-1].startswith("fr -> en -> de (") and rows[-1].endswith("(pivot)")
    assert len(rows) == 4


def test_missing_pair_message_says_which_command_installs_it(model_store):
    with pytest.raises(ModelNotInstalledError) as caught:
        model_store.route("fr", "de")
    assert "lingofeed models install fr de" in str(caught.value)
    assert (caught.value.src, caught.value.tgt) == ("fr", "de")


def test_empty_store_lists_nothing(tmp_path):
    assert ModelStore(tmp_path / "none").list() == []
    assert ModelStore(tmp_path / "none").list_rows() == ["no translation models installed"]


def test_version_key_orders_numerically():
    assert sorted(["1.10", "1.9", "1.0", "2"], key=version_key) == ["1.0", "1.9", "1.10", "2"]


def test_reinstalling_the_same_file_keeps_one_copy(model_store, test_packages):
    model_store.install_file(test_packages["fr", "en"])
    assert len(model_store.list()) == 2


def test_installed_package_loads_in_argostranslate(model_store):
    from argostranslate.package import Package

    package = Package(model_store.get("fr", "en").path)
    assert (package.from_code, package.to_code, package.type) == ("fr", "en", "translate")
    assert package.packaged_sbd_path is None


def test_package_errors_are_still_importable_from_models():
    """``scheduler/cli.py`` imports InvalidPackageError from ``translations.models``."""
    assert models.InvalidPackageError is errors.InvalidPackageError
    assert models.PackageNotAvailableError is errors.PackageNotAvailableError
