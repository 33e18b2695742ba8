"""Summary files of a sweep, from :mod:`loader`'s frames.

Written into ``LOG_DIR/<workload>/summary/``:

* ``config_data.csv``: one row per trial, ordered by ascending best loss;
* ``run_status.csv``: the sweep in ``description,value`` rows (counts, best
  loss and its trial, the score, total time);
* ``best_loss_trajectory.txt`` / ``best_loss_with_config_trajectory.txt``:
  each improvement of the best loss, in trial order (with its config).

and, when a directory holds several sweeps (workloads, frameworks), the
``run_status`` tables side by side in ``LOG_DIR/summary/comparison.csv``.

Failed and diverged trials are listed everywhere but are never "the best": a
config that crashed or blew up is no answer to "which trial won", even if it
measured a low loss before it did. Running and interrupted trials count with
what they wrote so far.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from typing import Any

import pandas as pd

from algorithmic_efficiency import scores, spec
from algorithmic_efficiency.analysis import incumbent, loader
from algorithmic_efficiency.storage import files

_log = logging.getLogger(__name__)

SUMMARY_DIR = 'summary'
CONFIG_DATA_FILE = 'config_data.csv'
RUN_STATUS_FILE = 'run_status.csv'
TRAJECTORY_FILE = 'best_loss_trajectory.txt'
CONFIG_TRAJECTORY_FILE = 'best_loss_with_config_trajectory.txt'
COMPARISON_FILE = 'comparison.csv'

# config_data.csv: these, in this order, with hparam.* after `status`.
CONFIG_COLUMNS = [
    'run_idx',
    'status',
    'best_loss',
    'best_loss_step',
    'final_loss',
    'best_accuracy',
    'final_accuracy',
    'global_step',
    'num_evals',
    'accumulated_submission_time',
    'time_to_target',
    'energy_to_target',
    'energy_joules',
    'cpu_util_mean_percent',
    'peak_rss_bytes',
    'wallclock_sec',
    'stop_reason',
    'seed',
    'error',
    'workload',
    'framework',
]


# Statuses that never make "the best" trial.
NOT_CANDIDATES = spec.NOT_CANDIDATES


def config_data(trials: pd.DataFrame) -> pd.DataFrame:
    """One sweep's trials for ``config_data.csv``, best first.

    Order: the candidates for best by ascending ``best_loss`` (a trial without
    a finite loss after those with one), then diverged trials, then failed
    ones, each group in the same order; ties by ``run_idx``.
    """
    hp = [c for c in trials.columns if c.startswith('hparam.')]
    cols = CONFIG_COLUMNS[:2] + hp + CONFIG_COLUMNS[2:]
    df = trials.reindex(columns=cols)
    key = pd.DataFrame(
        {
            'group': trials['status'].map({'diverged': 1, 'failed': 2}).fillna(0),
            'no_loss': trials['best_loss'].isna(),
            'loss': trials['best_loss'],
            'run_idx': trials['run_idx'],
        }
    )
    order = key.sort_values(['group', 'no_loss', 'loss', 'run_idx'], kind='stable').index
    return df.loc[order].reset_index(drop=True)


def _eligible(trials: pd.DataFrame, col: str = 'best_loss') -> pd.DataFrame:
    return trials[~trials['status'].isin(NOT_CANDIDATES) & trials[col].notna()]


def best_trial(trials: pd.DataFrame) -> pd.Series | None:
    """The trial with the lowest best loss (not failed or diverged; first on ties), or None."""
    ok = _eligible(trials)
    if not len(ok):
        return None
    return ok.sort_values(['best_loss', 'run_idx'], kind='stable').iloc[0]


def incumbent_trajectory(trials: pd.DataFrame) -> list[pd.Series]:
    """Trials that improved the best loss, in trial order (see :mod:`.incumbent`)."""
    return [t for _, t in incumbent.improvements(trials).iterrows()]


def scalar(v: Any) -> Any:
    """A plain Python value for a CSV cell ('' for missing)."""
    if v is None or v is pd.NA:
        return ''
    if isinstance(v, float) and math.isnan(v):
        return ''
    if hasattr(v, 'item'):  # numpy scalars
        return scalar(v.item())
    return v


def energy_score(trials: pd.DataFrame) -> float | None:
    """The least ``energy_to_target`` of any trial (J); inf if none reached, None if unmeasured
    (:mod:`algorithmic_efficiency.scores`)."""
    measured = bool(trials['submission_energy_joules'].notna().any())
    return scores.energy_score(trials['energy_to_target'].tolist(), measured)


def run_status(trials: pd.DataFrame, metadata: dict[str, Any] | None = None) -> dict:
    """The sweep in one dict (``run_status.csv``'s rows, in order)."""
    metadata = metadata or {}

    def count(status: str) -> int:
        return int(trials['status'].eq(status).sum())

    best = best_trial(trials)
    best_acc = _eligible(trials, 'best_accuracy').sort_values(
        ['best_accuracy', 'run_idx'], ascending=[False, True], kind='stable'
    )
    reached = trials[trials['time_to_target'].notna()]
    fastest = reached.sort_values(['time_to_target', 'run_idx'], kind='stable')

    def first(col: str) -> Any:
        return trials[col].dropna().iloc[0] if trials[col].notna().any() else None

    energy = trials['energy_joules'].dropna()
    return {
        'workload': metadata.get('workload') or first('workload'),
        'framework': metadata.get('framework') or first('framework'),
        'trials_planned': metadata.get('num_tuning_trials'),
        'trials_sampled': len(trials),
        'trials_complete': count('complete'),
        'trials_diverged': count('diverged'),
        'trials_failed': count('failed'),
        'trials_running': count('running'),
        'trials_interrupted': count('interrupted'),
        'trials_stale': count('stale'),
        'trials_reached_target': len(reached),
        'num_evals': int(trials['num_evals'].sum()),
        'best_loss': None if best is None else best['best_loss'],
        'best_loss_run_idx': None if best is None else int(best['run_idx']),
        'best_accuracy': best_acc['best_accuracy'].iloc[0] if len(best_acc) else None,
        'best_accuracy_run_idx': int(best_acc['run_idx'].iloc[0]) if len(best_acc) else None,
        'target_metric': first('target_metric'),
        'target_value': first('target_value'),
        # The benchmark's score: the fastest time to target of any trial.
        'score_time_to_target_sec': fastest['time_to_target'].iloc[0] if len(fastest) else math.inf,
        'score_run_idx': int(fastest['run_idx'].iloc[0]) if len(fastest) else None,
        # The same on energy (energy.submission_joules): the least energy to target of
        # any trial; inf if none reached it, empty if no energy was measured.
        'score_energy_to_target_joules': energy_score(trials),
        'total_submission_time_sec': trials['accumulated_submission_time'].sum(),
        'sweep_wallclock_sec': (
            trials['finished'].max() - trials['started'].min()
            if trials['finished'].notna().any()
            else None
        ),
        'total_energy_joules': energy.sum() if len(energy) else None,
        'rng_seed': metadata.get('rng_seed'),
        'search_algorithm': metadata.get('search_algorithm'),
    }


def format_value(v: Any) -> str:
    """A CSV/text cell: exact floats (``repr``), ``inf``, '' for missing."""
    v = scalar(v)
    if isinstance(v, float):
        return 'inf' if v == math.inf else repr(v)
    return str(v)


def format_trajectory(trials: pd.DataFrame, with_config: bool = False, name: str = '') -> str:
    """The incumbent trajectory as text: a line (or block) per improvement."""
    hp = [c for c in trials.columns if c.startswith('hparam.')]
    what = 'with its config' if with_config else 'and its trial'
    lines = [
        (
            f'# {name}: best eval loss so far after each trial, in trial order; one entry per '
            f'improvement, {what}. Failed and diverged trials are skipped.'
        )
    ]
    for t in incumbent_trajectory(trials):
        lines.append(f'trial {int(t["run_idx"])}: best loss {format_value(t["best_loss"])}')
        if with_config:
            for c in hp:
                if scalar(t[c]) != '':
                    lines.append(f'  {c[len("hparam.") :]}: {format_value(t[c])}')
            lines.append(
                f'  status: {t["status"]}, step {format_value(t["best_loss_step"])} of '
                f'{format_value(t["global_step"])}, '
                f'best accuracy {format_value(t["best_accuracy"])}, '
                f'time to target {format_value(t["time_to_target"]) or "-"}'
            )
    if len(lines) == 1:
        lines.append('(no trial with a finite eval loss yet)')
    return '\n'.join(lines) + '\n'


def _write_rows(path: str, header: list[str], rows: list[list[Any]]) -> None:
    # Atomic: readers (status --watch) never see half a file.
    with files.atomic_write(path) as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(header)
        w.writerows([[format_value(v) for v in row] for row in rows])


def _write_frame(path: str, df: pd.DataFrame) -> None:
    _write_rows(path, list(df.columns), df.astype(object).values.tolist())


def _write_sweep(summary_dir: str, trials: pd.DataFrame, metadata: dict, name: str) -> list[str]:
    files.make_user_dir(summary_dir, 'the summary directory')
    paths = [
        os.path.join(summary_dir, n)
        for n in (CONFIG_DATA_FILE, RUN_STATUS_FILE, TRAJECTORY_FILE, CONFIG_TRAJECTORY_FILE)
    ]
    _write_frame(paths[0], config_data(trials))
    status = run_status(trials, metadata)
    _write_rows(paths[1], ['description', 'value'], [[k, v] for k, v in status.items()])
    files.write_text(paths[2], format_trajectory(trials, False, name))
    files.write_text(paths[3], format_trajectory(trials, True, name))
    return paths


def write_summary(log_dir: str) -> list[str]:
    """Writes the summary of every sweep in `log_dir` (itself, or its children).

    Returns the paths written.

    Each sweep gets ``<sweep dir>/summary/``; several sweeps also get
    ``log_dir/summary/comparison.csv``.

    Raises:
      LogDirError: `log_dir` holds no sweep.
      OSError: a file can't be written.
    """
    _, trials, sweeps = loader.load(log_dir, metadata=False)
    written = []
    for sweep in sweeps:
        t = trials[trials['sweep'] == sweep.key]
        written += _write_sweep(os.path.join(sweep.dir, SUMMARY_DIR), t, sweep.metadata, sweep.key)
    if len(sweeps) > 1:
        out = os.path.join(log_dir, SUMMARY_DIR)
        files.make_user_dir(out, 'the summary directory')
        path = os.path.join(out, COMPARISON_FILE)
        _write_frame(path, comparison(trials, sweeps))
        written.append(path)
    return written


def comparison(trials: pd.DataFrame, sweeps: list[loader.SweepInfo]) -> pd.DataFrame:
    """``run_status`` of every sweep side by side: a ``description`` column, one per sweep."""
    columns = {s.key: run_status(trials[trials['sweep'] == s.key], s.metadata) for s in sweeps}
    rows = list(next(iter(columns.values())))
    table = {'description': rows}
    for key, status in columns.items():
        table[key] = [status.get(r) for r in rows]
    return pd.DataFrame(table)


def write_summaries(workload_dir: str) -> list[str]:
    """The runner's end-of-sweep hook: writes `workload_dir`/summary/*, never raises.

    Returns the paths written; on any problem (no trials, unreadable files, a
    full disk) logs a warning and returns what was written so far (maybe []).
    """
    try:
        return write_summary(workload_dir)
    except Exception as e:  # noqa: BLE001  (a summary must never fail a finished sweep)
        _log.warning('summary of %s not written: %s: %s', workload_dir, type(e).__name__, e)
        return []
