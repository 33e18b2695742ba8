"""What the concurrency benchmarks share: a capped MNIST sweep, its timing, its trials read back.

Used by ``bench_local_pool.py`` and ``bench_ray_sweep.py``. Imports the
package lazily: the local pool's spawned workers import the benchmark's main
module again, and should not pay for the sweep's imports there.
"""

import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(framework: str, log_dir: str, trials: int, steps: int, **extra):
    """The same sweep for every mode (same --rng_seed: same hyperparameters and seeds);
    `extra`: the mode's RunConfig fields (concurrency, Ray)."""
    from algorithmic_efficiency import sweep  # noqa: PLC0415

    return sweep.RunConfig(
        framework=framework,
        workload=f'mnist_{framework}',
        submission_path=os.path.join(ROOT, f'baselines/mnist/mnist_{framework}/submission.py'),
        tuning_search_space=os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json'),
        num_tuning_trials=trials,
        rng_seed=0,
        max_global_steps=steps,
        log_dir=log_dir,
        summary=False,
        # Evals after step 1 and at the cap only: the same work in every mode.
        eval_period_time_sec=3600.0,
        **extra,
    )


def timed(sweep_config) -> float:
    """The sweep's wall time (s); exits if a trial failed."""
    from algorithmic_efficiency import sweep  # noqa: PLC0415

    start = time.perf_counter()
    code = sweep.run(sweep_config)
    if code != 0:
        raise SystemExit(f'sweep failed with exit code {code}')
    return time.perf_counter() - start


def trials(log_dir: str, framework: str) -> list[tuple[dict, float]]:
    """Per trial (run_idx order): its trial.json and its first row's wall_time."""
    from algorithmic_efficiency.storage import csv_reader  # noqa: PLC0415

    out = []
    for idx in range(1, 10_000):
        run_dir = os.path.join(log_dir, f'mnist_{framework}', f'run_{idx}')
        if not os.path.isdir(run_dir):
            return out
        with open(os.path.join(run_dir, 'trial.json'), encoding='utf-8') as f:
            info = json.load(f)
        rows = csv_reader.read_metrics_csv(os.path.join(run_dir, 'metrics.csv'))
        out.append((info, float(rows['wall_time'].iloc[0])))
    return out
