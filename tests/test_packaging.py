"""The project installs as one ``lingofeed`` namespace and nothing else."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("feeds", "translations", "scheduler")


def _run_outside(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the venv's python in a folder outside the repo, as an operator's script would."""
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_imports_under_the_lingofeed_namespace(tmp_path: Path, stage: str) -> None:
    done = _run_outside(tmp_path, "-c", f"import lingofeed.{stage}")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", [*STAGES, "tests"])
def test_no_top_level_package_of_ours_leaks_onto_sys_path(tmp_path: Path, name: str) -> None:
    code = f"import importlib.util, sys; spec = importlib.util.find_spec({name!r}); print(spec)"
    done = _run_outside(tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr
    # argostranslate ships its own top-level ``tests``: whatever is found must not be ours.
    assert str(ROOT / name) not in done.stdout


def test_python_dash_m_lingofeed_runs_the_command_line(tmp_path: Path) -> None:
    done = _run_outside(tmp_path, "-m", "lingofeed", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("lingofeed ")


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """A sub-package missing from the explicit list would be left out of the wheel."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {"lingofeed"} | {
        "lingofeed." + ".".join(init.parent.relative_to(ROOT).parts)
        for stage in STAGES
        for init in (ROOT / stage).rglob("__init__.py")
    }
    assert listed == found


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_ships_py_typed(stage: str) -> None:
    assert (ROOT / stage / "py.typed").is_file()
