#!/usr/bin/env bash
# The tests: sets up .venv (and, as root, Debian's Chromium for the browser
# test), lints with ruff (ruff.toml), builds the documentation site with
# `mkdocs build --strict` (broken links, anchors or nav entries fail; offline,
# a few seconds), then runs the whole test suite (real JAX and PyTorch training
# on small real data; no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
bash scripts/setup_browser.sh
.venv/bin/python -m ruff check --quiet . || { echo "test: ruff found the problems above (ruff check --fix . fixes most)" >&2; exit 1; }
site=$(mktemp -d)
# Not --quiet: it hides the warnings, and then --strict has none to fail on. The
# log is shown only when the build fails.
NO_MKDOCS_2_WARNING=1 .venv/bin/python -m mkdocs build --strict --site-dir "$site" >"$site.log" 2>&1 \
  || { cat "$site.log" >&2; rm -rf "$site" "$site.log"; echo "test: mkdocs build --strict failed (see above; docs/, mkdocs.yml)" >&2; exit 1; }
rm -rf "$site" "$site.log"
exec .venv/bin/python -m pytest -q "$@"
