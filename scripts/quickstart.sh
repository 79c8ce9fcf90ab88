#!/usr/bin/env bash
# Install everything, install the repo's own small test models, and serve the bundled demo
# (config/example.toml) on http://127.0.0.1:8080/ until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
config=${LINGOFEED_CONFIG:-config/example.toml}
for package in translations/testmodel/dist/*.argosmodel; do
    .venv/bin/lingofeed --config "$config" models install "$package"
done
exec .venv/bin/lingofeed --config "$config" run
