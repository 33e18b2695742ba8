"""Benchmark: a capped MNIST sweep one trial at a time vs N at once in the local pool.

For each framework (JAX, PyTorch) runs the same TRIALS-trial sweep (same
--rng_seed: the same hyperparameters and seeds) in alternating rounds,
sequential then ``--max_concurrent_trials=N``, and prints side by side:

* the sweep's wall time (median over the rounds) and the speed-up;
* launch -> first step done, per trial: sequential from the trial's start
  (``trial.json``'s ``started``: the framework is already imported), pooled
  from the moment the driver handed the trial to a worker (``launched``: for a
  worker's first trial this includes starting the process, importing the
  framework, reading the data and compiling), to the first row's ``wall_time``;
  trial 1 vs the median of trials 2..TRIALS;
* the steady-state ceiling: N x (a sequential trial's time) / (a pooled
  trial's time, leaving out each worker's first), trial time being
  ``trial.json``'s ``finished - started``. It is what N trials at once can
  gain on this machine once start-up is paid: when one trial already keeps
  every core busy (its threads scale), N capped trials each run nearly N times
  slower and the ceiling is near 1x, whatever the executor does;
* JAX: the pooled rounds share one compilation cache, empty before round 1,
  so round 1 shows cold compiles and later rounds cached ones (the
  sequential sweep, in this process, may read that cache too).

The load average is printed: on a shared machine the ratios move with it.

Usage: python benchmarks/bench_local_pool.py [--trials 8] [--steps 150] [--concurrent 2]
       [--rounds 2] [--frameworks jax,pytorch]
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mnist_sweeps  # noqa: E402  (beside this file)


def _config(framework: str, log_dir: str, args, concurrent: int):
    return mnist_sweeps.config(framework, log_dir, args.trials, args.steps,
                               max_concurrent_trials=concurrent if concurrent > 1 else None)


def _startups(trials: list[tuple[dict, float]], key: str) -> list[float]:
    """Per trial (run_idx order): the first row's wall_time minus trial.json's `key`."""
    return [first_row - float(info[key]) for info, first_row in trials]


def _trial_times(trials: list[tuple[dict, float]], first_of_worker: bool) -> list[float]:
    """Per trial: trial.json's finished - started; without each worker's first trial if asked."""
    return [float(info['finished']) - float(info['started']) for info, _ in trials
            if first_of_worker or info.get('worker.trials_served', 2) > 1]


def _run_framework(framework: str, args, tmp: str) -> dict:
    walls: dict[str, list[float]] = {'sequential': [], 'pooled': []}
    starts: dict[str, list[list[float]]] = {'sequential': [], 'pooled': []}
    trial_times: dict[str, list[float]] = {'sequential': [], 'pooled': []}
    for r in range(args.rounds):
        # Pooled first: its round 1 meets an empty compilation cache.
        for mode, concurrent, key in (('pooled', args.concurrent, 'launched'),
                                      ('sequential', 1, 'started')):
            log_dir = os.path.join(tmp, f'{framework}-{mode}-{r}')
            walls[mode].append(mnist_sweeps.timed(_config(framework, log_dir, args, concurrent)))
            trials = mnist_sweeps.trials(log_dir, framework)
            starts[mode].append(_startups(trials, key))
            trial_times[mode] += _trial_times(trials, mode == 'sequential')
            print(f'  {framework} round {r + 1} {mode}: {walls[mode][-1]:.1f} s', flush=True)
    return {'walls': walls, 'starts': starts, 'trial_times': trial_times}


def _report(framework: str, got: dict, args) -> None:
    seq, pool = (statistics.median(got['walls'][m]) for m in ('sequential', 'pooled'))
    print(f'\nmnist_{framework}: {args.trials} trials x {args.steps} steps, '
          f'{args.rounds} alternating round(s)')
    print(f'{"":44}{"sequential":>12}{"pooled x" + str(args.concurrent):>12}')
    print(f'{"sweep wall time, median (s)":44}{seq:>12.1f}{pool:>12.1f}')
    print(f'{"speed-up":44}{"":>12}{seq / pool:>11.2f}x')
    t_seq, t_pool = (statistics.median(got['trial_times'][m]) for m in ('sequential', 'pooled'))
    ceiling = args.concurrent * t_seq / t_pool
    print(f'{"trial time, median (s; pooled: warm workers)":44}{t_seq:>12.2f}{t_pool:>12.2f}')
    print(f'{"steady-state ceiling (N x seq / pooled trial)":44}{"":>12}{ceiling:>11.2f}x')
    print(f'{"speed-up / ceiling":44}{"":>12}{seq / pool / ceiling:>11.0%}')
    for r in range(args.rounds):
        s, p = got['starts']['sequential'][r], got['starts']['pooled'][r]
        print(f'{f"round {r + 1}: launch -> 1st step, trial 1 (s)":44}{s[0]:>12.2f}{p[0]:>12.2f}')
        print(f'{f"round {r + 1}: same, median of trials 2..{len(s)} (s)":44}'
              f'{statistics.median(s[1:]):>12.2f}{statistics.median(p[1:]):>12.2f}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=8)
    parser.add_argument('--steps', type=int, default=150)
    parser.add_argument('--concurrent', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--frameworks', default='jax,pytorch')
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        # One cache for the pooled JAX rounds, empty at first (the user's is left alone).
        os.environ['JAX_COMPILATION_CACHE_DIR'] = os.path.join(tmp, 'jax_cache')
        for framework in args.frameworks.split(','):
            results[framework] = _run_framework(framework, args, tmp)
    for framework, got in results.items():
        _report(framework, got, args)
    print(f'\n{os.cpu_count()} CPUs; load average (1, 5, 15 min) before '
          f'{", ".join(f"{x:.1f}" for x in load_before)}, after '
          f'{", ".join(f"{x:.1f}" for x in os.getloadavg())}: a shared machine moves these '
          'ratios; judge the speed-up goal on a quiet one.')


if __name__ == '__main__':
    main()
