#!/usr/bin/env bash
# Creates .venv and installs the project with both CPU frameworks and the
# test tools, at the exact versions in constraints.txt. Idempotent: it skips
# the install when setup.py and constraints.txt haven't changed since.
# torch is pinned to 2.13.0: on these machines pip takes the local CPU wheel;
# a bare `torch` would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-jax_cpu,pytorch_cpu,tfds,tensorboard,dashboard,ray,docs,dev}
stamp="$VENV/.installed-$(cat setup.py constraints.txt | sha256sum | cut -c1-16)-${EXTRAS//,/_}"
if [ -f "$stamp" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version)" >&2
  "$PYTHON" -m venv "$VENV"
fi
echo "setup: installing algorithmic_efficiency[$EXTRAS] (about a minute the first time)" >&2
# pip older than 23.3 doesn't normalise extra names (jax_cpu vs jax-cpu) and
# would silently skip the frameworks: use a known pip.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'pip==25.2' \
  > "$VENV/pip-install.log" 2>&1 || { cat "$VENV/pip-install.log" >&2; exit 1; }
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check \
    -c constraints.txt -e ".[$EXTRAS]" >> "$VENV/pip-install.log" 2>&1; then
  grep -v "^WARNING: Location" "$VENV/pip-install.log" | tail -40 >&2
  echo "setup: pip install failed (full log: $VENV/pip-install.log)" >&2
  exit 1
fi
if grep -q "does not provide the extra" "$VENV/pip-install.log"; then
  grep "does not provide the extra" "$VENV/pip-install.log" >&2
  echo "setup: an extra was not installed (full log: $VENV/pip-install.log)" >&2
  exit 1
fi
"$VENV/bin/python" -c "import algorithmic_efficiency, absl, psutil" \
  || { echo "setup: install failed (see above)" >&2; exit 1; }
rm -f "$VENV"/.installed-*
touch "$stamp"
