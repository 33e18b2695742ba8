#!/usr/bin/env bash
# The guide's worked example, step 2 and 5: train the MNIST MLP (JAX) for 2
# tuning trials with --log_dir, keep the console output, then join every
# metrics.csv into LOG_DIR/all_metrics.csv. Plot it with plot_loss.py.
#
# From the repository root:
#   PYTHON=.venv/bin/python bash experiments/simple_example_mnist_loss/measure_loss.sh
# (or activate the venv first: `. .venv/bin/activate`, then PYTHON defaults to python3).
#
# Environment:
#   PYTHON       interpreter with the project installed (default: python3)
#   LOG_DIR      output directory (default: ./experiments/simple_example_mnist_loss/logs)
#   NUM_TRIALS   tuning trials (default: 2, as in the guide)
#   MAX_SECONDS  cap each trial's submission time (default: none, i.e. the
#                workload's 60 s: about 2-3 minutes in all)
#   EXTRA_ARGS   more runner flags, e.g. "--rng_seed=0 --record_extra_metadata=exp=loss"
#
# Re-running replaces the previous run's files (--overwrite). Exit code: the
# runner's (1 if a trial failed, 2 bad input); all_metrics.csv is written anyway.
set -euo pipefail

PYTHON=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-./experiments/simple_example_mnist_loss/logs}
NUM_TRIALS=${NUM_TRIALS:-2}

# Relative paths are taken from where the script was started, then we move to
# the repository root (the runner's paths below are relative to it).
case "$PYTHON" in */*) PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON") ;; esac
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
cd "$(dirname "$0")/../.."

caps=()
if [ -n "${MAX_SECONDS:-}" ]; then caps+=("--max_submission_time_sec=$MAX_SECONDS"); fi
# EXTRA_ARGS is split on spaces on purpose (several flags in one variable).
# shellcheck disable=SC2206
extra=(${EXTRA_ARGS:-})

rm -f "$LOG_DIR/console_output.log" "$LOG_DIR/all_metrics.csv"
status=0
"$PYTHON" algorithmic_efficiency/submission_runner.py \
    --framework=jax \
    --workload=mnist_jax \
    --submission_path=baselines/mnist/mnist_jax/submission.py \
    --tuning_search_space=baselines/mnist/tuning_search_space.json \
    --num_tuning_trials="$NUM_TRIALS" \
    --overwrite \
    --log_dir="$LOG_DIR" \
    ${caps[@]+"${caps[@]}"} ${extra[@]+"${extra[@]}"} 2>&1 | tee -a "$LOG_DIR/console_output.log" \
    || status=$?

# Step 5: one CSV of every trial (never read back as an input).
"$PYTHON" -c 'import sys; from algorithmic_efficiency import logging_utils; print("joined:", logging_utils.concatenate_csvs(sys.argv[1]))' "$LOG_DIR"
exit "$status"
