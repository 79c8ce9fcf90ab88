#!/usr/bin/env bash
# Install lingofeed into ./.venv on a Debian/Ubuntu machine with Python 3.11+.
#
#   scripts/install.sh            the service and its test tools (Debian's postgresql included)
#   scripts/install.sh --browser  also Debian's chromium (the status-page browser test uses it)
#
# Safe to run again: every step is skipped when already done.
# torch: argostranslate needs stanza, which needs torch. We install the CPU build (~750 MB) first,
# because a plain `pip install torch` from PyPI brings a multi-GB CUDA build. Set TORCH_INDEX_URL to
# choose another wheel index (default: the local wheel pip already knows about, else PyTorch's CPU
# index).
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[[ "${1:-}" == "--browser" ]] && want_browser=1

log() { printf 'install: %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
    if [[ $apt_updated -eq 0 ]]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    log "no $PYTHON: installing Debian's python3"
    apt_install python3 python3-venv python3-pip
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "lingofeed needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)"
    exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "installing python3-venv"
    apt_install python3-venv
fi
# The postgres-marked tests start their own throw-away cluster from Debian's binaries
# (tests/fixtures/postgres.py); the package also creates the postgres OS user they run as under root.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! id postgres >/dev/null 2>&1; then
    log "installing Debian's postgresql for the PostgreSQL tests"
    apt_install postgresql
fi
if [[ $want_browser -eq 1 ]] && ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser test"
    apt_install chromium fonts-dejavu-core
fi

if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

if ! .venv/bin/python -c 'import torch' >/dev/null 2>&1; then
    if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
        log "installing torch 2.13.0 from $TORCH_INDEX_URL"
        "${PIP[@]}" install torch==2.13.0 --index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple
    elif "${PIP[@]}" download --no-index --no-deps -d "$(mktemp -d)" torch==2.13.0 >/dev/null 2>&1; then
        log "installing torch 2.13.0 (CPU wheel found locally, ~750 MB, about 45 s)"
        "${PIP[@]}" install torch==2.13.0
    else
        log "installing torch 2.13.0 (CPU build from PyTorch's index)"
        "${PIP[@]}" install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
    fi
fi

log "installing lingofeed and its dependencies (about a minute; the venv ends near 1.8 GB)"
# editable_mode=strict: only the lingofeed.* packages reach sys.path, never the repo root (whose
# tests/ would otherwise shadow or be shadowed by argostranslate's top-level tests package).
# pip's errors (stderr) pass through; of its stdout, one line per package collected and installed
# is kept, so the long step is never silent; pipefail keeps pip's exit status.
"${PIP[@]}" install --progress-bar on -e '.[test]' --config-settings editable_mode=strict \
    | { grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true; }
log "done: $(.venv/bin/lingofeed --version 2>/dev/null || echo lingofeed)"
