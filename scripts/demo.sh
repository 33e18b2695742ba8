#!/usr/bin/env bash
# The demo: sets up .venv, then runs a 2-trial MNIST sweep in JAX and in
# PyTorch on the embedded 5,000-image sample (offline), 20 s of submission
# time per trial, into ./demo_logs (replaced on every run), and joins the
# metrics into demo_logs/all_metrics.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
PY=.venv/bin/python
LOG_DIR=${LOG_DIR:-./demo_logs}
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR/console_output.log" "$LOG_DIR/all_metrics.csv"
for fw in jax pytorch; do
  $PY algorithmic_efficiency/submission_runner.py \
    --framework=$fw \
    --workload=mnist_$fw \
    --submission_path=baselines/mnist/mnist_$fw/submission.py \
    --tuning_search_space=baselines/mnist/tuning_search_space.json \
    --num_tuning_trials=2 \
    --rng_seed=0 \
    --max_submission_time_sec=${DEMO_SECONDS:-20} \
    --record_extra_metadata=experiment=demo \
    --overwrite \
    --log_dir="$LOG_DIR" 2>&1 | tee -a "$LOG_DIR/console_output.log"
done
$PY -c "from algorithmic_efficiency import logging_utils; print('joined:', logging_utils.concatenate_csvs('$LOG_DIR'))"
find "$LOG_DIR" -type f | sort
