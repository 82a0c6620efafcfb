#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite: lint, layer contracts, pytest.
# Starts a throw-away PostgreSQL server on loopback for the store suite when it can.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c" || true; done' EXIT
if [[ -z ${CONFIGURATOR_TEST_POSTGRES_URL:-} && -f scripts/postgres.sh ]]; then
  if url=$(bash scripts/postgres.sh start); then
    export CONFIGURATOR_TEST_POSTGRES_URL=$url
    cleanup+=("bash scripts/postgres.sh stop")
  else
    echo "test: warning: could not start PostgreSQL; its store tests will be skipped" >&2
  fi
fi

.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
