"""The ``lingofeed`` command on the real ModelStore: models list/install/remove and check."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lingofeed.scheduler.cli import main
from tests.fixtures.models import committed_packages, repackage
from tests.fixtures.service import REPO, config_header, lingofeed, make_service_folder

CONFIG = """\
[service]
data_dir = "data"

[models]
directory = "models"
{index}

[output]
base_url = "http://127.0.0.1:8080/"

[languages.en]

[languages.de]

[[sources]]
id = "articles"
directory = "articles"
language = "fr"
"""


@pytest.fixture(autouse=True)
def _restore_logging():
    """``main`` configures the root logger as the real command does; undo it for other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def config(tmp_path):
    (tmp_path / "articles").mkdir()

    def write(index_url: str | None = None) -> str:
        index = f'index_url = "{index_url}"' if index_url else ""
        path = tmp_path / "lingofeed.toml"
        path.write_text(CONFIG.format(index=index), encoding="utf-8")
        return str(path)

    return write


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_list_install_and_remove_from_files(capsys, config, test_packages, tmp_path):
    path = config()
    assert run(capsys, "--config", path, "models", "list")[1] == "no translation models installed\n"
    for package in test_packages.values():
        code, out, _ = run(capsys, "--config", path, "models", "install", str(package))
        assert code == 0 and out.startswith("installed ")
    code, out, _ = run(capsys, "--config", path, "models", "list")
    assert out.splitlines() == [
        f"en -> fr  translate-en_fr-lingofeed_test@1.0  {tmp_path / 'models' / 'en_fr'}",
        f"fr -> en  translate-fr_en-lingofeed_test@1.0  {tmp_path / 'models' / 'fr_en'}",
    ]
    code, out, _ = run(capsys, "--config", path, "models", "remove", "fr", "en")
    assert (code, out) == (0, "removed fr -> en (translate-fr_en-lingofeed_test@1.0)\n")
    code, _, err = run(capsys, "--config", path, "models", "remove", "fr", "en")
    assert code == 1 and "nothing to remove" in err


def test_models_install_from_the_configured_index(capsys, config, package_index):
    path = config(package_index)
    code, out, _ = run(capsys, "--config", path, "models", "install", "fr", "en")
    assert (code, out) == (0, "installed fr -> en (translate-fr_en-lingofeed_test@1.0)\n")
    code, _, err = run(capsys, "--config", path, "models", "install", "fr", "de")
    assert code == 1 and "offers no fr->de package" in err


def test_models_install_with_an_unreachable_index_is_one_line(capsys, config):
    code, _, err = run(capsys, "--config", config("http://127.0.0.1:9/"), "models", "install",
                       "fr", "en")  # fmt: skip
    assert code == 1
    assert err.startswith("lingofeed: error: could not read the Argos package index")
    assert "Traceback" not in err


def test_models_install_refuses_a_file_that_is_not_a_package(capsys, config, tmp_path):
    bogus = tmp_path / "bogus.argosmodel"
    bogus.write_bytes(b"not a zip")
    code, _, err = run(capsys, "--config", config(), "models", "install", str(bogus))
    assert code == 1 and "not a zip archive" in err


def test_check_shows_installed_pivot_and_missing_pairs(capsys, config, test_packages):
    path = config()
    run(capsys, "--config", path, "models", "install", str(test_packages["fr", "en"]))
    code, out, _ = run(capsys, "--config", path, "check")
    assert code == 0
    assert "  fr -> en: installed fr -> en (translate-fr_en-lingofeed_test@1.0)" in out
    assert "  fr -> de: MISSING (install with: lingofeed models install fr de)" in out
    # an en->de package would make fr->de a pivot through English
    assert "pivot" not in out


def test_check_reports_pivot_routes(capsys, config, test_packages, tmp_path):
    path = config()
    en_de = repackage(test_packages["en", "fr"], tmp_path / "en_de.argosmodel", to_code="de")
    run(capsys, "--config", path, "models", "install", str(test_packages["fr", "en"]))
    run(capsys, "--config", path, "models", "install", str(en_de))
    out = run(capsys, "--config", path, "check")[1]
    assert "  fr -> de: pivot fr -> en -> de (translate-fr_en-lingofeed_test@1.0 + " in out


def test_check_lists_every_config_problem_with_its_line(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[output]\nbase_url = "nope"\n\n[languages.xx-yy-zz]\n', encoding="utf-8")
    code, _, err = run(capsys, "--config", str(path), "check")
    assert code == 2
    assert f"{path}:2: output.base_url: 'nope' is not an http(s) URL" in err
    assert f"{path}:4: languages.xx-yy-zz:" in err


def test_language_codes_in_any_case_are_one_language_from_config_to_feed(tmp_path):
    """``[languages.EN]`` and a source declared ``FR`` are en and fr everywhere: the stored
    translations, the rendered feed and its path (/en/feed.xml), not an empty feed."""
    shutil.copytree(REPO / "config" / "sample" / "articles", tmp_path / "articles")
    config = tmp_path / "lingofeed.toml"
    config.write_text(
        config_header("http://127.0.0.1:8080/")
        + '\n[languages.EN]\n\n[languages.Fr]\n\n[[sources]]\nid = "articles"\n'
        'directory = "articles"\nlanguage = "FR"\n',
        encoding="utf-8",
    )
    for package in committed_packages().values():
        assert lingofeed("--config", str(config), "models", "install", str(package),
                         cwd=tmp_path).returncode == 0  # fmt: skip
    checked = lingofeed("--config", str(config), "check", cwd=tmp_path)
    assert "  fr -> en: installed" in checked.stdout, checked.stdout + checked.stderr
    done = lingofeed("--config", str(config), "once", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    feed = (tmp_path / "public" / "en" / "feed.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") == 3
    assert "<language>en</language>" in feed
    assert not (tmp_path / "public" / "EN").exists()


def test_check_rejects_a_notice_placeholder_that_would_print_literally(tmp_path):
    (tmp_path / "articles").mkdir()
    path = tmp_path / "lingofeed.toml"
    text = CONFIG.format(index="").replace(
        "[languages.en]\n", '[languages.en]\nnotice = "Translated to {lang}"\n'
    )
    path.write_text(text, encoding="utf-8")
    checked = lingofeed("--config", str(path), "check", cwd=tmp_path)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    expected = "unknown placeholder {lang} (use {language} or {link})"
    assert f"{path}:12: languages.en.notice: {expected}" in checked.stderr


def test_global_options_work_after_the_subcommand_too(config, tmp_path):
    path = config()
    before = lingofeed("--config", path, "check", cwd=tmp_path)
    after = lingofeed("check", "--config", path, "-q", cwd=tmp_path)
    assert (before.returncode, after.returncode) == (0, 0), after.stderr
    assert after.stdout.splitlines()[0] == f"{path}: OK"
    listed = lingofeed("models", "list", "--config", path, cwd=tmp_path)
    assert listed.stdout == "no translation models installed\n", listed.stderr
    wins = lingofeed("--config", "missing.toml", "check", "--config", path, cwd=tmp_path)
    assert wins.returncode == 0, wins.stderr


def test_models_install_takes_several_package_files(config, test_packages, tmp_path):
    path = config()
    files = [str(package) for package in sorted(test_packages.values())]
    done = lingofeed("models", "install", *files, "--config", path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "installed en -> fr (translate-en_fr-lingofeed_test@1.0)",
        "installed fr -> en (translate-fr_en-lingofeed_test@1.0)",
    ]
    mixed = lingofeed("--config", path, "models", "install", "fr", files[0], cwd=tmp_path)
    assert mixed.returncode == 2 and "FROM TO (two language codes)" in mixed.stderr
    assert "Traceback" not in mixed.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "lingofeed", "run", "--config", str(config), *args]


def test_run_host_and_port_override_the_config(tmp_path):
    config = make_service_folder(tmp_path, "http://127.0.0.1:9/feed.xml")
    port = _free_port()
    log_path = tmp_path / "run.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            _run_command(config, "--host", "127.0.0.1", "--port", str(port)),
            cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            give_up = time.monotonic() + 120
            while f"event=running port={port}" not in log_path.read_text(encoding="utf-8"):
                assert process.poll() is None and time.monotonic() < give_up, log_path.read_text()
                time.sleep(0.1)
            assert httpx.get(f"http://127.0.0.1:{port}/status.json", timeout=30).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


def test_run_on_a_busy_port_says_so_in_one_line_and_fails(tmp_path):
    config = make_service_folder(tmp_path, "http://127.0.0.1:9/feed.xml")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            _run_command(config, "--host", "127.0.0.1", "--port", str(port), "-q"),
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if "cannot listen" in line]
    assert error == [
        f"lingofeed: error: cannot listen on 127.0.0.1:{port}: address already in use; "
        "change [server] port in the config or pass --port"
    ], done.stderr


@pytest.mark.parametrize("command", ["check", "once"])
def test_cuda_asked_for_without_a_gpu_stops_at_start_in_one_line(config, tmp_path, command):
    path = Path(config())
    text = path.read_text(encoding="utf-8") + '\n[engine]\ndevice = "cuda"\n'
    path.write_text(text, encoding="utf-8")
    done = lingofeed("--config", str(path), command, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    line = len(text.splitlines())
    assert done.stderr.splitlines() == [
        "lingofeed: 1 problem in config",
        f'  {path}:{line}: engine.device: "cuda", but CTranslate2 sees no CUDA device on this '
        'machine (no GPU, driver or CUDA libraries); use "auto" (the GPU when there is one) or '
        '"cpu"',
    ]
