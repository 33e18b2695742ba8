#!/usr/bin/env bash
# The GPU check: proves the GPU path end to end on a machine with one NVIDIA GPU, from a
# fresh checkout, in under 8 minutes on an H100 (docs/guides/gpu-check.md).
#
#   bash scripts/gpu_check.sh        # report: gpu_check/report.md; exit 0 = every check held
#
# No GPU (no nvidia-smi, or NVML fails): one line, exit 0, nothing installed. Otherwise:
# installs the jax_gpu and pytorch_gpu extras, each into its own venv under .venv-gpu/
# (JAX brings CUDA 12 wheels, torch 2.13.0 CUDA 13 ones: one environment each, as in the
# Docker images), from the package registry only and as wheels only, both at once; then
# gpu_check/main.py runs the sweeps, probes and checks and writes the report.
# Environment: GPU_CHECK_OUT (default gpu_check), PYTHON (default python3, >= 3.10),
# PIP_INDEX_URL (a PyPI mirror, if this machine needs one).
set -euo pipefail
cd "$(dirname "$0")/.."

# The listing is read whole first: `nvidia-smi -L | grep -q` under pipefail could fail when
# grep stops reading at the first GPU of several.
gpus=$(nvidia-smi -L 2>/dev/null || true)
if ! grep -q '^GPU ' <<< "$gpus"; then
  echo 'gpu_check: no GPU (nvidia-smi missing or NVML failed); nothing installed, nothing run'
  exit 0
fi

started=$(date +%s)
OUT=${GPU_CHECK_OUT:-gpu_check}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT/logs"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "gpu_check: FAIL install: $PYTHON is missing or older than 3.10; set PYTHON=python3.11" >&2
  exit 1
fi

# From the registry only: no machine-local wheel folder or extra index (one could hold a CPU
# build of torch 2.13.0 and win), no global constraints file; wheels only, never a compile.
install() {
  local framework=$1
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT -u PIP_NO_INDEX \
    PIP_CONFIG_FILE=/dev/null PIP_ONLY_BINARY=:all: PIP_PROGRESS_BAR=off \
    PYTHON="$PYTHON" VENV=".venv-gpu/$framework" EXTRAS="${framework}_gpu" \
    bash scripts/setup_env.sh
}

echo "gpu_check: ${gpus%%$'\n'*}; installing .venv-gpu/jax and .venv-gpu/pytorch" \
  "(about 6.4 GB of wheels the first time)"
# Both at once; each retried once, because both build the checkout's metadata
# (algorithmic_efficiency.egg-info) in its folder in their first seconds and may collide.
{ install jax || install jax; } > "$OUT/logs/install_jax.log" 2>&1 & jax_pid=$!
{ install pytorch || install pytorch; } > "$OUT/logs/install_pytorch.log" 2>&1 & torch_pid=$!
failed=0
wait "$jax_pid" || { echo "gpu_check: FAIL install jax_gpu: see $OUT/logs/install_jax.log" >&2; failed=1; }
wait "$torch_pid" || { echo "gpu_check: FAIL install pytorch_gpu: see $OUT/logs/install_pytorch.log" >&2; failed=1; }
if [ "$failed" = 1 ]; then
  exit 1
fi
installed=$(date +%s)
echo "gpu_check: installed in $((installed - started)) s"

PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" exec .venv-gpu/pytorch/bin/python \
  -m gpu_check.main --out "$OUT" --venvs .venv-gpu \
  --install_seconds "$((installed - started))" --started "$started"
