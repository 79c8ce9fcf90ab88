"""Crash safety, CI mode: a bounded, seeded number of SIGKILLs of ``lingofeed once``.

The harness and its invariants are in ``tests/crashharness.py``; the long local mode is
``.venv/bin/python -m tests.crashharness --kills 200``.
"""

from __future__ import annotations

import pytest

from tests.crashharness import run_harness
from tests.fixtures.models import committed_packages

pytestmark = pytest.mark.timeout(600)

#: Kills per seed; two seeds (seed 7 once caught batch-dependent translations, issue 11) at the
#: cost one seed of 14 kills had.
CI_KILLS = 7


@pytest.mark.parametrize("seed", [1, 7])
def test_sigkill_at_seeded_points_never_corrupts_feeds_database_or_memory(tmp_path, seed):
    committed_packages()  # a missing model fails here, with the command that builds it
    report = run_harness(tmp_path, kills=CI_KILLS, seed=seed)
    print(report.summary())
    assert report.kills == CI_KILLS
    assert report.articles_checked > 0 and report.translations_checked > 0
    assert report.tm_rows_checked > 0
