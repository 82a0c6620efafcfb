#!/usr/bin/env bash
# Set up everything configurator needs on a fresh Debian machine with Python 3.11+ and Node:
# Debian packages (when root), a virtual environment with the package and its test extras,
# and the npm packages for the web preview (from package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(chromium admesh prusa-slicer openscad postgresql)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: warning: missing Debian packages (${missing[*]}); run as root or install them" >&2
  fi
fi

PY=${PYTHON:-}
if [[ -z $PY ]]; then
  for c in python3.13 python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$c; break
    fi
  done
fi
[[ -n $PY ]] || { echo "setup: Python 3.11+ is required" >&2; exit 1; }
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".[test,bench]"
# OctoPrint in its own cached venv, for the real-printer tests (scripts/octoprint.sh)
bash scripts/octoprint.sh >/dev/null || echo "setup: warning: OctoPrint could not be installed" >&2

if [[ -f package.json ]]; then
  if command -v npm >/dev/null; then
    if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    fi
    if [[ -f scripts/build-web.sh ]]; then bash scripts/build-web.sh; fi
  else
    echo "setup: warning: npm not found; the 3D preview needs Node.js and npm" >&2
  fi
fi
echo "setup: ready (.venv)" >&2
