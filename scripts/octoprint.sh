#!/usr/bin/env bash
# Install OctoPrint (the version the real-printer tests and `configurator bench --only
# connector` use) into its own cached virtualenv: it pins pydantic 1 and cannot share
# .venv. Prints the virtualenv's python. The location is ~/.cache/configurator/ unless
# CONFIGURATOR_OCTOPRINT_VENV is set; the tests install it themselves when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" -c 'from configurator.adapters.connectors.octoprint_lab import ensure_installed; print(ensure_installed())'
