"""Benchmark: a capped mnist_jax sweep in this process vs fanned out on a local Ray instance.

Runs the same TRIALS-trial sweep (same --rng_seed, so the same hyperparameters
and seeds) twice in one go and prints, side by side:

* the wall time of the whole sweep: in-process (one trial after another) and
  on ``--ray_address=local`` with CONCURRENT single-core trials
  (``--trial_resources=cpu=1``), and the speed-up;
* the per-trial overhead, task start -> first training step done: in-process
  from the trial's start (``trial.json``'s ``started``), on Ray from the task's
  start (``task_started``; the worker process is new, so this includes
  importing JAX and compiling the step) to the first row's ``wall_time``;
* Ray's start-up (``ray.init``), which a sweep pays once.

Usage: python benchmarks/bench_ray_sweep.py [--trials 8] [--steps 300] [--concurrent 2]
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from algorithmic_efficiency import sweep  # noqa: E402
from algorithmic_efficiency.storage import csv_reader  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(log_dir: str, args, **ray) -> sweep.RunConfig:
    return sweep.RunConfig(
        framework='jax',
        workload='mnist_jax',
        submission_path=os.path.join(ROOT, 'baselines/mnist/mnist_jax/submission.py'),
        tuning_search_space=os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json'),
        num_tuning_trials=args.trials,
        rng_seed=0,
        max_global_steps=args.steps,
        log_dir=log_dir,
        summary=False,
        **ray,
    )


def _overheads(log_dir: str, start_key: str) -> list:
    """Per trial: first row's wall_time minus the trial's start (`start_key` of trial.json)."""
    out = []
    for run_dir in sorted(glob.glob(os.path.join(log_dir, 'mnist_jax', 'run_*'))):
        with open(os.path.join(run_dir, 'trial.json'), encoding='utf-8') as f:
            info = json.load(f)
        rows = csv_reader.read_metrics_csv(os.path.join(run_dir, 'metrics.csv'))
        out.append(float(rows['wall_time'].iloc[0]) - float(info[start_key]))
    return out


def _timed(config: sweep.RunConfig) -> float:
    start = time.perf_counter()
    code = sweep.run(config)
    if code != 0:
        raise SystemExit(f'sweep failed with exit code {code}')
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=8)
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--concurrent', type=int, default=2)
    args = parser.parse_args()
    from algorithmic_efficiency.distributed import cluster  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        local_dir, ray_dir = os.path.join(tmp, 'inprocess'), os.path.join(tmp, 'ray')
        t_local = _timed(_config(local_dir, args))
        start = time.perf_counter()
        ray = cluster.start_local(num_cpus=args.concurrent)
        t_init = time.perf_counter() - start
        try:
            t_ray = _timed(
                _config(
                    ray_dir,
                    args,
                    ray_address='local',
                    trial_resources='cpu=1',
                    max_concurrent_trials=args.concurrent,
                )
            )
        finally:
            ray.shutdown()
        o_local = _overheads(local_dir, 'started')
        o_ray = _overheads(ray_dir, 'task_started')
    print(f'mnist_jax, {args.trials} trials x {args.steps} steps, {os.cpu_count()} CPUs')
    print(f'{"":50}{"in-process":>12}{"Ray local":>12}')
    print(f'{"sweep wall time (s)":50}{t_local:>12.1f}{t_ray:>12.1f}')
    print(f'{"speed-up":50}{"":>12}{t_local / t_ray:>11.2f}x')
    for name, pick in (('trial 1', lambda o: o[0]),
                       ('median of trials 2..N', lambda o: statistics.median(o[1:] or o))):
        print(
            f'{"start -> 1st step done (s), " + name:50}'
            f'{pick(o_local):>12.2f}{pick(o_ray):>12.2f}'
        )
    print(f'{"Ray start-up, once (s)":50}{"":>12}{t_init:>12.1f}')
    print(f'concurrent trials on Ray: {args.concurrent} x cpu=1 (2 cores shared by both runs)')
    print(f'load average (1, 5, 15 min): {", ".join(f"{x:.1f}" for x in os.getloadavg())}; '
          'the local pool: benchmarks/bench_local_pool.py')


if __name__ == '__main__':
    main()
