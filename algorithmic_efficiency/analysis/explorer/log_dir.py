"""This project's ``--log_dir`` sweeps as frame columns, read through the analysis loader.

The numbers are :func:`algorithmic_efficiency.analysis.loader.load`'s (the
same as the ``status`` and ``summary`` commands'): this module only sorts a
trial's record, the sweep's metadata and its first eval row into the frame's
groups. It never opens ``metrics.csv``, ``trial.json`` or ``metadata.json``
itself.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.analysis.explorer.columns import (
    RunColumn,
    is_missing,
    path_matches,
    scalar,
)

SOURCE_LOG_DIR = 'log_dir'
# load_trials columns that are results (the 'metrics' group), in this order.
LOG_DIR_METRICS = (
    'best_loss',
    'final_loss',
    'best_accuracy',
    'final_accuracy',
    'time_to_target',
    'best_loss_step',
    'global_step',
    'num_evals',
    'accumulated_submission_time',
    'wallclock_sec',
    'energy_joules',
    'cpu_util_mean_percent',
    'peak_rss_bytes',
)
# load_trials columns about the trial that go to 'other'.
LOG_DIR_TRIAL_OTHER = ('status', 'stop_reason', 'error', 'seed', 'started', 'finished')
# metadata.json keys not shown: the search space is the hyperparameters' domain, the
# flags repeat other keys.
_META_SKIP = ('search_space', 'flags')


def _dataset(meta: dict[str, Any]) -> dict[str, Any]:
    """The 'dataset' group: metadata's ``data.*`` keys without the prefix."""
    dataset = {k[len('data.') :]: v for k, v in meta.items() if k.startswith('data.')}
    for n in ('num_train_examples', 'num_eval_examples'):
        if n not in dataset and f'workload.{n}' in meta:  # recorded before data.* existed
            dataset[n] = meta[f'workload.{n}']
    return dataset


def _meta_other(meta: dict[str, Any]) -> dict[str, Any]:
    """Scalar metadata for the 'other' group (dicts one level flattened, lists left out)."""
    out = {}
    for k, v in meta.items():
        if k in _META_SKIP or k.startswith('data.') or k == 'workload':
            continue
        if isinstance(v, dict):
            out.update({f'{k}.{kk}': vv for kk, vv in v.items() if not isinstance(vv, dict)})
        elif not isinstance(v, list):
            out[k] = v
    return out


def log_dir_runs(
    sweep_dir: str, key: str, patterns: list[str]
) -> tuple[list[RunColumn], pd.DataFrame]:
    """One sweep directory's trials as columns keyed `key`, and its eval rows.

    Returns:
      ``(columns, evals)``: a :class:`RunColumn` per trial (in run order), and
      :func:`loader.load_runs`'s rows with ``sweep`` = `key`, ``run`` = the
      trial number and ``source``.

    Raises:
      LogDirError: the directory vanished since the walk found it.
    """
    runs_df, trials, infos = loader.load(sweep_dir)
    info = infos[0]
    dataset = _dataset(info.metadata)
    meta_other = _meta_other(info.metadata)
    first_rows = (
        runs_df.groupby('run_idx', sort=False).head(1).set_index('run_idx')
        if len(runs_df)
        else pd.DataFrame()
    )
    out = []
    for rec in trials.to_dict('records'):
        run = int(rec['run_idx'])
        values: dict[tuple[str, str], Any] = {}
        for col, v in rec.items():
            if col.startswith('hparam.') and not is_missing(v):
                values[('hyperparameters', col[len('hparam.') :])] = scalar(v)
        for col in LOG_DIR_METRICS:
            values[('metrics', col)] = scalar(rec.get(col))
        for k, v in dataset.items():
            values[('dataset', k)] = v
        other = {
            'source': SOURCE_LOG_DIR,
            'workload': rec.get('workload'),
            'framework': rec.get('framework') or info.framework,
        }
        other.update({c: scalar(rec.get(c)) for c in LOG_DIR_TRIAL_OTHER})
        if run in first_rows.index:
            row = first_rows.loc[run]
            for c in ('batch_size', 'steps_per_epoch'):
                if c in row.index and not is_missing(row[c]):
                    other[c] = scalar(row[c])
        other['run_dir'] = rec.get('run_dir')
        other.update({k: v for k, v in meta_other.items() if k not in other})
        for k, v in other.items():
            values[('other', k)] = v
        for pattern, hit in path_matches(rec['run_dir'], patterns).items():
            values[('path', pattern)] = hit
        out.append(RunColumn(key, run, values))
    evals = runs_df.copy()
    if len(evals):
        evals['sweep'] = key
        evals['run'] = evals['run_idx'].astype('int64')
        evals['source'] = SOURCE_LOG_DIR
    return out, evals
