"""Four ``lingofeed once`` processes at a time on one config and one SQLite database.

The workload is the crash harness's (``tests/crashharness.py``): three feeds served on 127.0.0.1
plus the sample article directory, translated into English and French with the repo's real test
models. Four processes run every cycle at once, twice, with upstream growing and editing a title
in between. Every run must succeed, and the database must hold what one process alone would
have stored: no duplicate or missing article or translation (compared with a reference install
that ran alone), and every translation-memory row equal to a fresh translation by the model.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.crashharness import (
    Upstream,
    Workload,
    check_database,
    check_published,
    check_translation_memory,
    snapshot,
)
from tests.fixtures.feeds import FeedServer
from tests.fixtures.models import committed_packages

pytestmark = pytest.mark.timeout(600)

PROCESSES = 4


def run_at_once(workload: Workload) -> list[subprocess.CompletedProcess[str]]:
    """``lingofeed once`` in ``PROCESSES`` processes started together; wait for all."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    running = [
        subprocess.Popen(workload.command("once"), cwd=workload.root, env=workload.env, **pipes)
        for _ in range(PROCESSES)
    ]
    done = []
    for process in running:
        stdout, stderr = process.communicate(timeout=500)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return done


def test_four_processes_running_cycles_on_one_database_lose_and_duplicate_nothing(
    tmp_path: Path,
) -> None:
    committed_packages()  # a missing model fails here, with the command that builds it
    server = FeedServer()
    try:
        upstream = Upstream(server)
        shared = Workload(tmp_path / "shared", upstream)
        for _round in range(2):
            for run in run_at_once(shared):
                assert run.returncode == 0, run.stderr[-3000:]
                assert "Traceback" not in run.stderr and "locked" not in run.stderr
            check_database(shared.database)
            upstream.round += 1
        upstream.round -= 1
        reference = Workload(tmp_path / "reference", upstream)
        reference.run_once()
        expected, got = snapshot(reference), snapshot(shared)
        assert got["articles"] == expected["articles"]
        assert got["translations"] == expected["translations"]
        assert got["feeds"] == expected["feeds"]
        assert got["articles"] and got["translations"]
        files, temps = check_published(shared.settings.output.directory)
        assert files > 0 and temps == 0
        assert check_translation_memory(shared) > 0
    finally:
        server.close()
