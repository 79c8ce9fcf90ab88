"""The suite fails loudly on a broken build: a missing model or import is a failure, not a skip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.models import committed_packages
from tests.fixtures.postgres import postgres_binaries

TESTS = Path(__file__).resolve().parent
#: The one skip that is about the machine, not the build: chromium is optional outside
#: scripts/test.sh (scripts/install.sh --browser installs it).
ENVIRONMENT_SKIPS = {"test_browser.py"}
_SKIP = re.compile(r"pytest\.(?:skip|importorskip)\b|mark\.skip(?:if)?\b")


def test_missing_test_models_fail_with_the_command_that_builds_them(tmp_path):
    with pytest.raises(pytest.fail.Exception) as failure:
        committed_packages(tmp_path)
    message = str(failure.value)
    assert "test models are missing" in message and str(tmp_path) in message
    assert "python -m lingofeed.translations.testmodel.build" in message


def test_missing_postgresql_binaries_fail_with_the_command_that_installs_them(tmp_path):
    with pytest.raises(pytest.fail.Exception) as failure:
        postgres_binaries(tmp_path)
    message = str(failure.value)
    assert "PostgreSQL's binaries are missing" in message and str(tmp_path) in message
    assert "scripts/install.sh" in message


def test_no_test_skips_on_a_missing_model_or_import():
    skipping = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name not in ENVIRONMENT_SKIPS
        and path != Path(__file__).resolve()
        and _SKIP.search(path.read_text(encoding="utf-8"))
    )
    assert skipping == [], f"these tests skip instead of failing: {skipping}"
