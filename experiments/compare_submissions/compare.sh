#!/usr/bin/env bash
# Worked example: is Adam or SGD with Nesterov momentum the better MNIST
# optimizer? Two submissions, each swept in 2 studies of 3 trials on the
# embedded 5,000-image sample (target accuracy 0.90; offline), then scored
# against each other with performance profiles.
#
# From the repository root:
#   PYTHON=.venv/bin/python bash experiments/compare_submissions/compare.sh   # ~3-5 min
#
# Environment:
#   PYTHON        interpreter with the project installed (default: python3)
#   LOG_DIR       output directory (default: ./experiments/compare_submissions/logs)
#   FRAMEWORK     jax or pytorch (default: jax)
#   NUM_STUDIES   studies per submission (default: 2)
#   NUM_TRIALS    tuning trials per study (default: 3)
#   MAX_SECONDS   cap on each trial's submission time (default: 15)
#   RNG_SEED      the studies' base seed (default: 0)
#
# Writes LOG_DIR/adam/study_<k>/mnist_<fw>/..., LOG_DIR/sgd_nesterov/study_<k>/...,
# and LOG_DIR/score/{workload_times.csv,scores.csv,score_pairs.csv,
# performance_profiles.png,.svg,report.html} (bootstrap intervals: with 2 studies
# they are rough, see docs/guides/statistics.md; NUM_STUDIES=6 for a 95% one).
# Re-running replaces the previous run's files. Exit code: 0, 1 if a trial
# failed, 2 bad input.
set -euo pipefail

PYTHON=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-./experiments/compare_submissions/logs}
FRAMEWORK=${FRAMEWORK:-jax}
NUM_STUDIES=${NUM_STUDIES:-2}
NUM_TRIALS=${NUM_TRIALS:-3}
MAX_SECONDS=${MAX_SECONDS:-15}
RNG_SEED=${RNG_SEED:-0}

case "$PYTHON" in */*) PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON") ;; esac
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
cd "$(dirname "$0")/../.."

status=0
run() {  # run NAME SUBMISSION_DIR SEARCH_SPACE
  rm -rf "${LOG_DIR:?}/$1"  # no study left over from a run with more studies
  "$PYTHON" algorithmic_efficiency/submission_runner.py \
    --workload="mnist_$FRAMEWORK" \
    --submission_path="$2/mnist_$FRAMEWORK/submission.py" \
    --tuning_search_space="$3" \
    --num_tuning_trials="$NUM_TRIALS" \
    --num_studies="$NUM_STUDIES" \
    --rng_seed="$RNG_SEED" \
    --max_submission_time_sec="$MAX_SECONDS" \
    --record_extra_metadata=experiment=compare_submissions \
    --overwrite \
    --log_dir="$LOG_DIR/$1" || status=$?
}
run adam baselines/mnist baselines/mnist/tuning_search_space.json
run sgd_nesterov baselines/mnist/sgd_nesterov baselines/mnist/sgd_nesterov/tuning_search_space.json
rm -rf "$LOG_DIR/score"
"$PYTHON" -m algorithmic_efficiency.score \
  adam="$LOG_DIR/adam" sgd_nesterov="$LOG_DIR/sgd_nesterov" --out "$LOG_DIR/score" \
  --html "$LOG_DIR/score/report.html"
exit "$status"
