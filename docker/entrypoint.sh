#!/usr/bin/env bash
# The image's ENTRYPOINT: runs the submission runner with the arguments given
# to `docker run IMAGE ...`, passed through unchanged (spaces, '=' and quotes
# included), and exits with the runner's exit code (0 ok, 1 a trial failed,
# 2 bad input; absl's own flag errors and --help exit 1).
#
#   docker run ... IMAGE --framework=jax --workload=mnist_jax ...
#   docker run ... IMAGE bash                  # a command instead of the runner
#
# If the first argument is not a flag but a command on PATH (bash, python,
# nvidia-smi, ...), that command is run instead, with its arguments.
#
# Outside Docker, with any Python that has the project installed:
#
#   PYTHON=.venv/bin/python docker/entrypoint.sh --workload=mnist_jax ...
#
# PYTHON defaults to the python3 on PATH (in the image: /opt/venv/bin/python3).
# This script prints nothing itself unless it fails, and sets or changes no
# environment variable: the runner and the frameworks see exactly the
# environment given to `docker run -e` (the runner's own defaults, such as
# XLA_PYTHON_CLIENT_PREALLOCATE=false, apply only to variables left unset).
set -euo pipefail

if [ "$#" -gt 0 ] && [ "${1:0:1}" != "-" ]; then
  if command -v -- "$1" > /dev/null 2>&1; then
    exec "$@"
  fi
  echo "entrypoint: error: '$1' is not a command on PATH, and the runner takes only" \
    "flags (--name=value); try --helpshort" >&2
  exit 2
fi

python=${PYTHON:-python3}
if ! command -v -- "$python" > /dev/null 2>&1; then
  echo "entrypoint: error: Python '$python' not found; set PYTHON to an interpreter" \
    "with algorithmic_efficiency installed" >&2
  exit 127
fi
exec "$python" -m algorithmic_efficiency.submission_runner "$@"
