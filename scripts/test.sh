#!/usr/bin/env bash
# The tests: sets up .venv (and, as root, Debian's Chromium for the browser
# test), then runs the whole test suite (real JAX and PyTorch training on small
# real data; no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
bash scripts/setup_browser.sh
exec .venv/bin/python -m pytest -q "$@"
