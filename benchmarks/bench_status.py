"""Benchmark: ``python -m algorithmic_efficiency.status`` on a sweep of TRIALS trials.

Writes a sweep as the runner does (metadata.json; per trial trial.json with a
heartbeat, and a metrics.csv of ROWS evals x ~40 columns), the last trial
still running, then times, median of REPEATS runs each:

  (a) ``status.format_status`` in process (the table path: reading + formatting);
  (b) the whole command in a fresh interpreter, wall and CPU time (what a user
      waits for, interpreter start-up included);
  (c) for reference, ``import pandas`` alone in a fresh interpreter (what the
      table path no longer pays).

Usage: python benchmarks/bench_status.py [--trials 100] [--rows 30] [--repeats 5]
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from algorithmic_efficiency.analysis import status  # noqa: E402
from algorithmic_efficiency.storage import csv_format  # noqa: E402


def write_sweep(workload_dir: str, trials: int, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    os.makedirs(workload_dir)
    with open(os.path.join(workload_dir, 'metadata.json'), 'w') as f:
        json.dump({'workload': 'mnist_jax', 'framework': 'jax', 'num_tuning_trials': trials,
                   'workload.target_metric_name': 'accuracy', 'workload.target_value': 0.97}, f)
    for run_idx in range(1, trials + 1):
        run_dir = os.path.join(workload_dir, f'run_{run_idx}')
        os.makedirs(run_dir)
        hp = {'learning_rate': 10 ** rng.uniform(-4, -1), 'one_minus_beta_1': rng.random()}
        header = ['framework', 'workload', 'run_idx', 'accumulated_submission_time',
                  'global_step', 'epoch', 'accuracy', 'loss', 'batch_size',
                  *(f'hparam.{k}' for k in hp), 'goal_reached', 'status',
                  *(f'cpu.x{i}' for i in range(28))]
        lines = [csv_format.header_line(header)]
        for i in range(rows):
            values = ['jax', 'mnist_jax', run_idx, 10.0 * i, 100 * i, i / 40, 0.9 + i / 1000,
                      2.3 * 0.95**i, 128, *hp.values(), False, 'running',
                      *(rng.random() for _ in range(28))]
            lines.append(csv_format.format_line([csv_format.format_value(v) for v in values]))
        with open(os.path.join(run_dir, 'metrics.csv'), 'w') as f:
            f.write(''.join(lines))
        last = run_idx == trials
        info = {'run_idx': run_idx, 'status': 'running' if last else 'complete',
                'hyperparameters': hp, 'seed': run_idx, 'started': 1.8e9 + run_idx,
                'host': 'bench', 'pid': 1,
                'heartbeat': {'wall_time': time.time(), 'step': 100 * rows, 'steps_per_sec': 90.0,
                              'accumulated_submission_time': 10.0 * rows, 'budget_sec': 600.0,
                              'eta_sec': 300.0}}
        if not last:
            info.update({'global_step': 100 * (rows - 1), 'stop_reason': 'budget',
                         'accumulated_submission_time': 10.0 * (rows - 1)})
        with open(os.path.join(run_dir, 'trial.json'), 'w') as f:
            json.dump(info, f)


def child_times(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=ROOT))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--trials', type=int, default=100)
    parser.add_argument('--rows', type=int, default=30)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = os.path.join(tmp, 'logs')
        write_sweep(os.path.join(log_dir, 'mnist_jax'), args.trials, args.rows)
        text = status.format_status(log_dir)
        assert f'{args.trials} of {args.trials} trials' in text, text[:300]
        in_process = []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            status.format_status(log_dir)
            in_process.append((time.perf_counter() - t0, time.process_time() - c0))
        cli = [child_times([sys.executable, '-m', 'algorithmic_efficiency.status', log_dir])
               for _ in range(args.repeats)]
        pandas = [child_times([sys.executable, '-c', 'import pandas'])
                  for _ in range(args.repeats)]
    med = statistics.median
    print(f'status of {args.trials} trials x {args.rows} rows, median of {args.repeats}:')
    print(f'  (a) format_status in process: {med(w for w, _ in in_process) * 1000:7.1f} ms wall, '
          f'{med(c for _, c in in_process) * 1000:7.1f} ms CPU')
    print(f'  (b) python -m ...status:      {med(w for w, _ in cli) * 1000:7.1f} ms wall, '
          f'{med(c for _, c in cli) * 1000:7.1f} ms CPU')
    print(f'  (c) python -c "import pandas": {med(w for w, _ in pandas) * 1000:6.1f} ms wall, '
          f'{med(c for _, c in pandas) * 1000:7.1f} ms CPU')


if __name__ == '__main__':
    main()
