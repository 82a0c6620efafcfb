#!/usr/bin/env bash
# Set up (scripts/setup.sh) and serve the product: web configurator + API + 6 demo print nodes (every catalog's materials),
# SQLite embedded, on http://127.0.0.1:8000 (override with HOST / PORT, extra args pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/configurator serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --demo-nodes "${DEMO_NODES:-6}" "$@"
