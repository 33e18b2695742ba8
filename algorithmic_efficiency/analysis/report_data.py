"""What the HTML report shows besides the scores: the best trials and each sweep's provenance.

Reads the sweeps :mod:`scoring` found (their ``metadata.json``,
``packages.txt`` and, through :mod:`loader`, their rows); computes nothing
that scoring computes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.analysis.scoring import Submission
from algorithmic_efficiency.analysis.sweep_dirs import read_metadata
from algorithmic_efficiency.layout import PACKAGES_FILE

# metadata.json keys shown as the machine and the rules a sweep followed.
MACHINE_KEYS = (
    'cpu_model_name',
    'cpu_count',
    'mem_total_bytes',
    'gpu_count',
    'devices.kind',
    'devices.count',
    'distributed.world_size',
    'distributed.backend',
    'energy.sources',
    'python_version',
    'os_platform',
    'framework_versions',
    'git_commit_hash',
    'git_dirty',
)
RULE_KEYS = (
    'tuning_ruleset',
    'num_tuning_trials',
    'search_algorithm',
    'submission.api',
    'workload.target_metric_name',
    'workload.target_value',
    'workload.eval_period_time_sec',
    'workload.max_allowed_runtime_sec',
    'data.description',
    'study.index',
    'study.count',
    'rng_seed',
)
# Flags that change what is timed or when the trial stops: not the workload's rules when set.
RULE_FLAGS = ('eval_period_time_sec', 'max_submission_time_sec', 'max_global_steps')


def _load(sweep_dir: str, cache: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    if sweep_dir not in cache:
        runs, trials, _ = loader.load(sweep_dir, metadata=False)
        cache[sweep_dir] = (runs, trials)
    return cache[sweep_dir]


def best_trials(subs: Sequence[Submission], workload: str, cache: dict) -> list[dict]:
    """Each submission's best trial on `workload` over all its studies.

    The fastest to the target; if none reached it, the lowest eval loss.
    Returns dicts: submission, index (colour), study, run_idx, label,
    time_to_target, target_metric, target, rows (its eval rows).
    """
    out = []
    for index, sub in enumerate(subs):
        candidates = []
        for k in sub.studies:
            result = sub.results[k].get(workload)
            if result is None:
                continue
            runs, trials = _load(result.sweep_dir, cache)
            for t in trials.itertuples(index=False):
                ttt = float(t.time_to_target) if pd.notna(t.time_to_target) else math.inf
                loss = float(t.best_loss) if pd.notna(t.best_loss) else math.inf
                candidates.append((ttt, loss, k, int(t.run_idx), t, runs))
        if not candidates:
            continue
        ttt, _, k, run_idx, t, runs = min(candidates, key=lambda c: (c[0], c[1]))
        rows = runs[runs['run_idx'] == run_idx]
        label = f'study {k}, trial {run_idx}, ' + (
            f'target at {ttt:.2f} s' if math.isfinite(ttt) else 'target not reached'
        )
        target = pd.to_numeric(pd.Series([t.target_value]), errors='coerce').iloc[0]
        out.append(
            {
                'submission': sub.name,
                'index': index,
                'study': k,
                'run_idx': run_idx,
                'label': label,
                'time_to_target': ttt,
                'target_metric': t.target_metric,
                'target': float(target) if pd.notna(target) else math.nan,
                'rows': rows,
            }
        )
    return out


def _packages(sweep_dir: str) -> str:
    try:
        with open(os.path.join(sweep_dir, PACKAGES_FILE), encoding='utf-8') as f:
            return f.read()
    except OSError:
        return ''


def provenance(subs: Sequence[Submission]) -> list[dict[str, Any]]:
    """A record per sweep: submission, study, workload, dir, machine, rules, flags, packages."""
    out = []
    for sub in subs:
        for k in sub.studies:
            for workload, result in sorted(sub.results[k].items()):
                meta = read_metadata(result.sweep_dir)
                flags = meta.get('flags') if isinstance(meta.get('flags'), dict) else {}
                out.append(
                    {
                        'submission': sub.name,
                        'study': k,
                        'workload': workload,
                        'dir': result.sweep_dir,
                        'machine': {key: meta[key] for key in MACHINE_KEYS if key in meta},
                        'rules': {key: meta[key] for key in RULE_KEYS if key in meta},
                        'flags': flags,
                        'packages': _packages(result.sweep_dir),
                        'meta': meta,
                    }
                )
    return out


def provenance_warnings(records: list[dict[str, Any]]) -> list[str]:
    """What makes a comparison unfair or irreproducible, a line each."""
    out = []
    for r in records:
        where = f'{r["submission"]} study {r["study"]} {r["workload"]}'
        period = r['flags'].get('eval_period_time_sec')
        if period is not None:
            out.append(
                f"{where}: ran with --eval_period_time_sec={period:g}, not the workload's eval "
                'period: its times do not follow the rules'
            )
        if r['meta'].get('data.comparable_to_full_mnist') is False:
            data = r['meta'].get('data.description', 'a data sample')
            out.append(f'{r["submission"]}: {data}')
        if r['meta'].get('git_dirty') is True:
            out.append(f'{r["submission"]}: run from a git tree with uncommitted changes')
    # The same workload under different targets or budgets: the times are not comparable.
    for workload in sorted({r['workload'] for r in records}):
        same = [r for r in records if r['workload'] == workload]
        for key in ('workload.target_value', 'workload.target_metric_name'):
            values = {str(r['rules'].get(key)) for r in same}
            if len(values) > 1:
                out.append(f'{workload}: sweeps differ in {key} ({", ".join(sorted(values))})')
        for flag in RULE_FLAGS[1:]:
            values = {str(r['flags'].get(flag)) for r in same}
            if len(values) > 1:
                out.append(f'{workload}: sweeps differ in --{flag} ({", ".join(sorted(values))})')
    return list(dict.fromkeys(out))  # one line per distinct warning
