"""Sweep folders in the runner's file format with targets reached at known times (for scoring).

A plain module (not a test module) so that the scoring tests can share it:
``metadata.json``, ``packages.txt``, ``run_N/trial.json`` and
``run_N/metrics.csv`` as the runner writes them, with optional energy and
telemetry columns and flags (e.g. an overridden eval period).
"""

import csv
import json
import os

TELEMETRY = ['cpu.util.interval_mean_percent', 'mem.used', 'proc.rss_bytes']


def make_sweep(log_dir, workload, trials, energy=False, telemetry=False, flags=None, meta=None):
    """Writes LOG_DIR/<workload>/ as the runner does; returns its path.

    `trials`: per trial a list of eval rows ``(submission_time, goal_reached)``
    or, with `energy`, ``(submission_time, goal_reached, cumulative_joules)``.
    `telemetry` adds CPU and memory columns; `flags`/`meta` go to metadata.json.
    """
    framework = workload.rsplit('_', 1)[1]
    wdir = os.path.join(log_dir, workload)
    os.makedirs(wdir)
    metadata = {'workload': workload, 'framework': framework, 'rng_seed': 0,
                'workload.target_value': 0.9, 'workload.target_metric_name': 'accuracy',
                'workload.eval_period_time_sec': 2, 'tuning_ruleset': 'external',
                'num_tuning_trials': len(trials), 'cpu_model_name': 'test CPU', 'cpu_count': 2,
                'gpu_count': 0, 'devices.kind': 'cpu', 'devices.count': 1,
                'energy.sources': ['rapl'] if energy else [],
                'framework_versions': {framework: '0.0-test'},
                'flags': {'workload': workload, 'eval_period_time_sec': None,
                          'max_submission_time_sec': 60.0, **(flags or {})},
                **(meta or {})}
    with open(os.path.join(wdir, 'metadata.json'), 'w') as f:
        json.dump(metadata, f)
    with open(os.path.join(wdir, 'packages.txt'), 'w') as f:
        f.write(f'# Python packages\nnumpy==2.0.0\n{framework}==0.0-test\n')
    for i, rows in enumerate(trials, start=1):
        run = os.path.join(wdir, f'run_{i}')
        os.makedirs(run)
        first = next((r[0] for r in rows if r[1]), None)
        with open(os.path.join(run, 'trial.json'), 'w') as f:
            json.dump({'run_idx': i, 'status': 'complete', 'seed': i,
                       'stop_reason': 'target' if first is not None else 'max_steps',
                       'global_step': 10 * len(rows), 'time_to_target': first,
                       'accumulated_submission_time': rows[-1][0], 'num_evals': len(rows)}, f)
        header = ['framework', 'run_idx', 'accumulated_submission_time', 'global_step',
                  'accuracy', 'loss', 'workload.target_value', 'workload.target_metric_name',
                  'goal_reached', 'status']
        if energy:
            header.append('energy.submission_joules')
        if telemetry:
            header += TELEMETRY
        with open(os.path.join(run, 'metrics.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(header)
            for k, row in enumerate(rows):
                line = [framework, i, row[0], 10 * (k + 1), 0.95 if row[1] else 0.5,
                        2.0 / (k + 1), 0.9, 'accuracy', row[1],
                        'running' if k < len(rows) - 1 else 'complete']
                line += list(row[2:3]) if energy else []
                line += [40.0 + 10 * k, 2.0e9 + 1e8 * k, 5.0e8 + 1e7 * k] if telemetry else []
                w.writerow(line)
    return wdir


def reached(t, joules=None):
    """A trial that reaches the target at submission time `t` (one eval before it)."""
    if joules is None:
        return [(t / 2, False), (t, True)]
    return [(t / 2, False, joules / 2), (t, True, joules)]


def missed(t=30.0, joules=None):
    if joules is None:
        return [(t / 2, False), (t, False)]
    return [(t / 2, False, joules / 2), (t, False, joules)]
