"""Per-eval recording cost: this recorder against the 2022 approach, side by side.

    python benchmarks/bench_recorder.py [--evals 200] [--old-evals 5]

For metrics.csv files that already hold 10, 1,000 and 10,000 rows it times
one eval's recording:

* this recorder: ``TrialRecorder.before_eval()`` (telemetry: a fresh
  snapshot + the interval statistics of the background sampler) and
  ``record_eval()`` (one appended, flushed row);
* the 2022 approach: a psutil snapshot, then ``pd.read_csv`` ->
  ``pd.concat`` -> ``to_csv`` of the whole file.

Then the background sampler's CPU share at 1 Hz (its thread's CPU time /
wall time). Targets: <= 1 ms median at 10,000 rows; the 10,000-row cost
<= 1.5x the 10-row cost; sampler <= 1 % of a core at 1 Hz.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from algorithmic_efficiency.recording import recorder as logging_utils  # noqa: E402
from algorithmic_efficiency.storage import csv_reader  # noqa: E402
from algorithmic_efficiency.telemetry import sampler as telemetry  # noqa: E402

SIZES = (10, 1000, 10000)


def base_row(i):
    """An eval row as the trainer builds it (telemetry is added by the recorder)."""
    return {
        'framework': 'jax', 'run_idx': 1, 'accumulated_submission_time': 0.123 * i,
        'global_step': i, 'epoch': i / 58, 'accuracy': 0.9123, 'loss': 0.31415926,
        'batch_size': 1024, 'hparam.learning_rate': 0.0012290202479727525,
        'hparam.one_minus_beta_1': 0.038865770417666014, 'hparam.epsilon': 1e-08,
        'workload.eval_period_time_sec': 10, 'workload.max_allowed_runtime_sec': 60,
        'workload.num_eval_examples': 10000, 'workload.num_train_examples': 60000,
        'workload.target_value': 0.97, 'workload.train_mean': 0.1307,
        'workload.train_stddev': 0.3081, 'workload.target_metric_name': 'accuracy',
        'steps_per_epoch': 58, 'global_start_time': 1795452841.306667, 'goal_reached': False,
        'eval_time_sec': 0.0123, 'status': 'running',
    }


def prefill(recorder, run_idx, rows):
    """A trial whose metrics.csv already holds ``rows`` full rows."""
    trial = recorder.start_trial(run_idx, {'learning_rate': 0.001}, 0)
    trial.begin_interval()
    trial.before_eval()
    for i in range(rows):
        trial.record_eval(base_row(i))
    return trial


def ours(tmp, rows, evals):
    recorder = logging_utils.Recorder(tmp, f'ours_{rows}', mode='overwrite')
    recorder.prepare()
    trial = prefill(recorder, 1, rows)
    times = []
    for i in range(evals):
        trial.begin_interval()
        t0 = time.perf_counter()
        trial.before_eval()
        trial.record_eval(base_row(rows + i))
        times.append(time.perf_counter() - t0)
    trial.close()
    return statistics.median(times) * 1e3


def old_2022(tmp, rows, evals):
    path = os.path.join(tmp, f'old_{rows}.csv')
    row = {**base_row(0), **telemetry.snapshot()}
    pd.DataFrame([row] * rows).to_csv(path, index=False)
    times = []
    for i in range(evals):
        t0 = time.perf_counter()
        snap = {'cpu': psutil.cpu_percent(interval=None), **psutil.virtual_memory()._asdict(),
                **psutil.disk_io_counters()._asdict(), **psutil.net_io_counters()._asdict()}
        new = {**base_row(rows + i), **{f'x.{k}': v for k, v in snap.items()}}
        df = pd.read_csv(path)
        df = pd.concat([df, pd.DataFrame([new])], ignore_index=True)
        df.to_csv(path, index=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def sampler_share(seconds):
    sampler = telemetry.Sampler(1.0).start()
    t0 = time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    sampler.stop()
    return 100.0 * sampler.cpu_seconds / wall


def concat_check(tmp):
    """concatenate_csvs over what was written above still works (and how long it takes)."""
    t0 = time.perf_counter()
    out = csv_reader.concatenate_csvs(tmp)
    return time.perf_counter() - t0, len(pd.read_csv(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--evals', type=int, default=200)
    parser.add_argument('--old-evals', type=int, default=5)
    parser.add_argument('--sampler-seconds', type=float, default=10.0)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in SIZES:
            results.append((rows, ours(tmp, rows, args.evals), old_2022(tmp, rows,
                                                                          args.old_evals)))
        concat_s, concat_rows = concat_check(tmp)
    share = sampler_share(args.sampler_seconds)
    print('Per-eval recording cost (median ms): telemetry + one metrics.csv row')
    print(f"{'existing rows':>14}{'this recorder':>15}{'2022 rewrite':>14}{'2022 / ours':>13}")
    for rows, new, old in results:
        print(f'{rows:>14,}{new:>15.3f}{old:>14.1f}{old / new:>12.0f}x')
    ratio = results[-1][1] / results[0][1]
    print(f'this recorder, 10,000-row cost / 10-row cost: {ratio:.2f} (target <= 1.5)')
    print(f"this recorder at 10,000 rows: {results[-1][1]:.3f} ms (target <= 1 ms)")
    print(f'background sampler at 1 Hz: {share:.3f} % of one core over '
          f'{args.sampler_seconds:.0f} s (target <= 1 %)')
    print(f'concatenate_csvs of the files above ({concat_rows:,} rows): {concat_s:.2f} s')


if __name__ == '__main__':
    main()
