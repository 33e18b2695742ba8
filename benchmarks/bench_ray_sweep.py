"""Benchmark: a capped MNIST sweep in this process vs on a local Ray instance's reused actors.

For each framework (JAX, PyTorch) runs the same TRIALS-trial sweep (same
--rng_seed: the same hyperparameters and seeds) twice and prints, side by side:

* the wall time of the whole sweep: in-process (one trial after another, the
  whole machine each) and on ``--ray_address=local`` with CONCURRENT
  single-core trials (``--trial_resources=cpu=1``: one actor per trial slot,
  each pinned to its own core, serving trial after trial), and the speed-up;
* launch -> first step done: in-process from the trial's start
  (``trial.json``'s ``started``: the framework is imported already), on Ray
  from the moment the driver submitted the trial (``launched``: for an actor's
  first trial this includes starting the actor, importing the framework,
  reading the data and compiling), to the first row's ``wall_time``; trial 1
  vs the median of trials 2..TRIALS;
* the steady-state ceiling, CONCURRENT x (median in-process trial time) /
  (median concurrent trial time), trial time being ``finished - started`` of
  ``trial.json``, without each worker's first trial (the in-process trial 1,
  each actor's first): the speed-up the cores allow once start-up is paid,
  i.e. how much faster one trial is on all cores than on its single one;
* Ray's start-up (``ray.init``), which a sweep pays once, and the load average.

Usage: python benchmarks/bench_ray_sweep.py [--trials 8] [--steps 300] [--concurrent 2]
       [--frameworks jax,pytorch]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mnist_sweeps  # noqa: E402  (beside this file)


def _summary(trials: list[tuple[dict, float]], start_key: str) -> dict:
    """Launch -> first step (trial 1, median of the rest) and the median steady trial time."""
    starts = [first_row - info[start_key] for info, first_row in trials]
    # A worker's first trial pays its start-up: in-process trial 1, each actor's first.
    steady = [info['finished'] - info['started'] for i, (info, _) in enumerate(trials)
              if info.get('worker.trials_served', 1 if i == 0 else 2) > 1]
    return {'first': starts[0], 'rest': statistics.median(starts[1:] or starts),
            'steady': statistics.median(steady) if steady else float('nan')}


def _report(framework: str, got: dict, args) -> None:
    seq, ray = got['sequential'], got['ray']
    print(f'\nmnist_{framework}: {args.trials} trials x {args.steps} steps')
    print(f'{"":48}{"in-process":>12}{"Ray x" + str(args.concurrent):>12}')
    print(f'{"sweep wall time (s)":48}{seq["wall"]:>12.1f}{ray["wall"]:>12.1f}')
    print(f'{"speed-up":48}{"":>12}{seq["wall"] / ray["wall"]:>11.2f}x')
    print(f'{"launch -> 1st step, trial 1 (s)":48}{seq["first"]:>12.2f}{ray["first"]:>12.2f}')
    print(f'{f"launch -> 1st step, median of trials 2..{args.trials} (s)":48}'
          f'{seq["rest"]:>12.2f}{ray["rest"]:>12.2f}')
    print(f'{"trial time, median without first trials (s)":48}'
          f'{seq["steady"]:>12.2f}{ray["steady"]:>12.2f}')
    ceiling = args.concurrent * seq['steady'] / ray['steady']
    print(f'{"steady-state ceiling (N x seq / concurrent)":48}{"":>12}{ceiling:>11.2f}x')
    print(f'{"Ray workers (actors) used":48}{"":>12}{ray["workers"]:>12d}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=8)
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--concurrent', type=int, default=2)
    parser.add_argument('--frameworks', default='jax,pytorch')
    args = parser.parse_args()
    frameworks = args.frameworks.split(',')
    from algorithmic_efficiency.distributed import cluster  # noqa: PLC0415

    load_before = os.getloadavg()
    got: dict[str, dict] = {f: {} for f in frameworks}
    with tempfile.TemporaryDirectory() as tmp:
        # One compilation cache for both modes, empty at first (the user's is left alone);
        # Ray's workers inherit it from this process's environment.
        os.environ['JAX_COMPILATION_CACHE_DIR'] = os.path.join(tmp, 'jax_cache')
        for framework in frameworks:
            log_dir = os.path.join(tmp, f'{framework}-inprocess')
            wall = mnist_sweeps.timed(mnist_sweeps.config(framework, log_dir, args.trials,
                                                                args.steps))
            trials = mnist_sweeps.trials(log_dir, framework)
            got[framework]['sequential'] = {'wall': wall, **_summary(trials, 'started')}
            print(f'  {framework} in-process: {wall:.1f} s', flush=True)
        start = time.perf_counter()
        ray = cluster.start_local(num_cpus=args.concurrent)
        t_init = time.perf_counter() - start
        try:
            for framework in frameworks:
                log_dir = os.path.join(tmp, f'{framework}-ray')
                wall = mnist_sweeps.timed(mnist_sweeps.config(
                    framework, log_dir, args.trials, args.steps, ray_address='local',
                    trial_resources='cpu=1', max_concurrent_trials=args.concurrent))
                trials = mnist_sweeps.trials(log_dir, framework)
                got[framework]['ray'] = {'wall': wall, **_summary(trials, 'launched'),
                                         'workers': len({i['worker.pid'] for i, _ in trials})}
                print(f'  {framework} on Ray: {wall:.1f} s', flush=True)
        finally:
            ray.shutdown()
    for framework in frameworks:
        _report(framework, got[framework], args)
    print(f'\nRay start-up, once per sweep: {t_init:.1f} s; {os.cpu_count()} CPUs; '
          f'{args.concurrent} concurrent trials x cpu=1, each pinned to one core')
    print(f'load average (1, 5, 15 min) before {", ".join(f"{x:.1f}" for x in load_before)}, '
          f'after {", ".join(f"{x:.1f}" for x in os.getloadavg())}; '
          'the local pool: benchmarks/bench_local_pool.py')


if __name__ == '__main__':
    main()
