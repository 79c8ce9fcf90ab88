#!/usr/bin/env bash
# Install everything the tests need (chromium included), lint (ruff), type-check (mypy --strict)
# and run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k render -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --browser
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
