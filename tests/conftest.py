"""Shared pytest setup.

argostranslate reads its settings once, at import, from the environment: point every
directory it uses into a per-session temporary folder before anything imports it, so the
suite never touches the user's home and never reaches for the network.

Fixtures live in ``tests/fixtures/<area>.py``, one module per area, registered below.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="lingofeed-tests-"))
for _var, _sub in {
    "XDG_DATA_HOME": "data",
    "XDG_CONFIG_HOME": "config",
    "XDG_CACHE_HOME": "cache",
    "ARGOS_PACKAGES_DIR": "argos-packages",
}.items():
    os.environ[_var] = str(_SESSION_HOME / _sub)
    (_SESSION_HOME / _sub).mkdir(parents=True, exist_ok=True)
# A package index that nothing listens on: a test that forgets to serve one fails fast.
os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest_plugins = [
    "tests.fixtures.models",
    "tests.fixtures.feeds",
    "tests.fixtures.service",
    "tests.fixtures.postgres",
]
