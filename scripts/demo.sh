#!/usr/bin/env bash
# The demo: sets up .venv, then runs a 2-trial MNIST sweep in JAX and in
# PyTorch on the embedded 5,000-image sample (offline), at most 30 s of
# submission time per trial (a trial stops earlier at the sample's target,
# accuracy 0.90), into ./demo_logs (replaced on every run), joins the metrics
# into demo_logs/all_metrics.csv, and scores the two sweeps against each other
# (demo_logs/score/, with the HTML report demo_logs/score/report.html); the last
# line is the score. Between them, a 2-trial AdamW sweep of the tiny language model
# (lm_tiny_jax) on the offline corpus (CPython's pydoc text as bytes; not comparable to
# FineWeb-Edu), DEMO_LM_STEPS (default 8) steps per trial.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
PY=.venv/bin/python
LOG_DIR=${LOG_DIR:-./demo_logs}
mkdir -p "$LOG_DIR"
rm -rf "$LOG_DIR/console_output.log" "$LOG_DIR/all_metrics.csv" "$LOG_DIR/score"
for fw in jax pytorch; do
  $PY algorithmic_efficiency/submission_runner.py \
    --framework=$fw \
    --workload=mnist_$fw \
    --submission_path=baselines/mnist/mnist_$fw/submission.py \
    --tuning_search_space=baselines/mnist/tuning_search_space.json \
    --num_tuning_trials=2 \
    --rng_seed=0 \
    --max_submission_time_sec=${DEMO_SECONDS:-30} \
    --record_extra_metadata=experiment=demo \
    --overwrite \
    --log_dir="$LOG_DIR" 2>&1 | tee -a "$LOG_DIR/console_output.log"
done
$PY algorithmic_efficiency/submission_runner.py \
  --framework=jax \
  --workload=lm_tiny_jax \
  --submission_path=baselines/lm/lm_jax/submission.py \
  --tuning_search_space=baselines/lm/tuning_search_space.json \
  --num_tuning_trials=2 \
  --rng_seed=0 \
  --max_global_steps=${DEMO_LM_STEPS:-8} \
  --record_extra_metadata=experiment=demo \
  --overwrite \
  --log_dir="$LOG_DIR" 2>&1 | tee -a "$LOG_DIR/console_output.log"
$PY -c "from algorithmic_efficiency import logging_utils; print('joined:', logging_utils.concatenate_csvs('$LOG_DIR'))"
# Each framework as a submission; the workloads match by name (mnist).
$PY -m algorithmic_efficiency.score \
  adam_jax="$LOG_DIR/mnist_jax" adam_pytorch="$LOG_DIR/mnist_pytorch" --out "$LOG_DIR/score" \
  --html "$LOG_DIR/score/report.html"
find "$LOG_DIR" -type f | sort
$PY - "$LOG_DIR/score" <<'PY'
import csv, os, sys
times = {r['submission']: r['time_to_target_sec']
         for r in csv.DictReader(open(os.path.join(sys.argv[1], 'workload_times.csv')))}
scores = list(csv.DictReader(open(os.path.join(sys.argv[1], 'scores.csv'))))
print('demo score (embedded MNIST sample, target accuracy 0.90; not comparable to full MNIST): '
      + ', '.join(f"{s['submission']} {float(s['score']):.3f} "
                  f"(time to target {float(times[s['submission']]):.1f} s)" for s in scores))
PY
