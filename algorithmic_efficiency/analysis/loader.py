"""One loader for every view: a ``--log_dir`` on disk -> tidy pandas DataFrames.

::

  LOG_DIR/<workload>/metadata.json          the sweep          -> meta.* columns
  LOG_DIR/<workload>/run_<N>/trial.json     the trial's state  -> trial.* columns
  LOG_DIR/<workload>/run_<N>/metrics.csv    one row per eval   -> the rows themselves

:func:`load_runs` gives one row per eval of every trial of every sweep in a
log directory (``LOG_DIR/<workload>``, or one such directory itself);
:func:`load_trials` one row per trial (including trials that never reached an
eval). Where the sweeps are is :mod:`.sweep_dirs`; the per-trial numbers are
:mod:`.eval_rows`. Both read files only: no JAX, no PyTorch, no
``logging_utils`` (which pulls in telemetry), so they start fast and can run
while a sweep is still writing. Earlier attempts set aside by ``--resume``
(``attempt-K.*``) and ``LOG_DIR/all_metrics.csv`` are never read.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from algorithmic_efficiency import layout, scores, spec
from algorithmic_efficiency.analysis import eval_rows, liveness
from algorithmic_efficiency.analysis.eval_rows import finite_mask, last_valid, num, wall_times
from algorithmic_efficiency.analysis.sweep_dirs import find_workload_dirs, read_metadata, run_dirs
from algorithmic_efficiency.layout import METADATA_FILE, METRICS_FILE, TRIAL_FILE, LogDirError
from algorithmic_efficiency.storage import csv_io, files

_log = logging.getLogger(__name__)

__all__ = [
    'LogDirError',
    'SweepInfo',
    'finite_mask',
    'find_workload_dirs',
    'load',
    'load_runs',
    'load_trials',
    'read_metadata',
    'wall_times',
]

# Columns parsed as numbers whatever a partial or odd file made of them (layout's schema).
NUMERIC_COLUMNS = layout.NUMERIC_COLUMNS
# Statuses of a trial (trial.json), plus 'stale' (a dead 'running' one: see liveness)
# and 'unknown' (no trial.json and no finished row).
STATUSES = (*(s.value for s in spec.TrialStatus), liveness.STALE, 'unknown')
ENERGY_COLUMN = 'gpu.total.energy.trial_joules'
# GPU (NVML) + CPU package (RAPL) energy over the timed intervals, cumulative.
SUBMISSION_ENERGY_COLUMN = layout.SUBMISSION_ENERGY_COLUMN


def _flatten_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """Scalar metadata as ``meta.<key>`` columns (dicts one level flattened, lists skipped).

    ``workload.*`` properties are already columns of every row; the search space
    and the flags are in metadata.json itself and in ``hparam.*`` columns.
    """
    out = {}
    for key, value in meta.items():
        if key.startswith('workload.') or key in ('search_space', 'flags'):
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                if v is None or isinstance(v, (str, int, float, bool)):
                    out[f'meta.{key}.{k}'] = v
        elif value is None or isinstance(value, (str, int, float, bool)):
            out[f'meta.{key}'] = value
    return out


def _read_metrics(path: str) -> pd.DataFrame:
    """One trial's rows; an unreadable file gives no rows and a warning, never an error."""
    if not os.path.exists(path):
        return pd.DataFrame()
    try:
        return csv_io.read_metrics_csv(path)
    except Exception as e:  # noqa: BLE001  (a damaged file is data, not a crash)
        _log.warning('%s: unreadable (%s: %s); its rows are left out', path, type(e).__name__, e)
        return pd.DataFrame()


def _numeric(df: pd.DataFrame) -> pd.DataFrame:
    for col in NUMERIC_COLUMNS:
        # Already numeric in a normal file; text only in a damaged or hand-made one.
        if col in df.columns and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = pd.to_numeric(df[col], errors='coerce')
    if 'goal_reached' in df.columns and not pd.api.types.is_bool_dtype(df['goal_reached']):
        df['goal_reached'] = df['goal_reached'].map(_as_bool).astype(bool)
    return df


def _as_bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == 'true'
    return bool(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else False


def _trial_status(info: dict[str, Any] | None, rows: pd.DataFrame) -> str:
    """trial.json's status; without it, what the last row says."""
    if info is not None and info.get('status') in STATUSES:
        return info['status']
    if len(rows) and 'status' in rows.columns:
        last = str(rows['status'].iloc[-1])
        if last in ('complete', 'diverged', 'running'):
            return last
    return 'unknown'


class _Sweep:
    """One sweep directory read once: metadata, and per trial its info and rows."""

    def __init__(self, workload_dir: str, log_dir: str):
        self.dir = workload_dir
        self.key = os.path.relpath(workload_dir, log_dir)
        if self.key == '.':
            self.key = os.path.basename(os.path.abspath(workload_dir))
        self.metadata = files.read_json_object(os.path.join(workload_dir, METADATA_FILE)) or {}
        self.name = str(self.metadata.get('workload') or os.path.basename(workload_dir))
        self.trials = []
        for run_idx, run_dir in run_dirs(workload_dir):
            info = files.read_json_object(os.path.join(run_dir, TRIAL_FILE))
            rows = _numeric(_read_metrics(os.path.join(run_dir, METRICS_FILE)))
            self.trials.append((run_idx, run_dir, info, rows, _trial_status(info, rows)))
        self._mark_stale()
        self.framework = self.metadata.get('framework') or self._framework_from_rows()

    def _framework_from_rows(self) -> str | None:
        for *_, rows, _ in self.trials:
            if 'framework' in rows.columns and len(rows):
                return str(rows['framework'].iloc[0])
        return None

    def _mark_stale(self) -> None:
        # A 'running' trial whose process is gone was killed: 'stale' (see liveness).
        statuses = liveness.mark_stale([(info, status) for _, _, info, _, status in self.trials])
        self.trials = [(*t[:4], status) for t, status in zip(self.trials, statuses, strict=True)]


def _sweeps(log_dir: str) -> list[_Sweep]:
    root = os.fspath(log_dir)
    return [_Sweep(d, root) for d in find_workload_dirs(root)]


def _trial_columns(sweep: _Sweep, run_idx: int, run_dir: str, info, status: str) -> dict:
    info = info or {}
    return {
        'sweep': sweep.key,
        'workload': sweep.name,
        'run_dir': run_dir,
        'trial.status': status,
        'trial.stop_reason': info.get('stop_reason'),
        'trial.seed': info.get('seed'),
        'trial.started': info.get('started'),
        'trial.finished': info.get('finished'),
        'trial.error': info.get('error'),
    }


def load_runs(log_dir: str, metadata: bool = True) -> pd.DataFrame:
    """Every eval row of every trial of every sweep in `log_dir`.

    Each row is a ``metrics.csv`` row as written (same column names; numbers
    parsed, ``goal_reached`` a bool), plus:

    * ``sweep``: the sweep directory relative to `log_dir` (unique; usually
      the workload name), ``workload`` (from metadata.json, else the
      directory name), ``run_dir``;
    * ``eval_idx``: 1 for a trial's first eval, 2 for its second, ...;
    * ``trial.status`` (complete | diverged | failed | running | interrupted |
      stale | unknown), ``trial.stop_reason``, ``trial.seed``, ``trial.started``,
      ``trial.finished``, ``trial.error``: from ``run_<N>/trial.json``;
    * with `metadata`, scalar keys of metadata.json as ``meta.<key>`` (dicts
      such as ``framework_versions`` as ``meta.<key>.<name>``).

    Rows are ordered by sweep, run_idx, then eval. Sweeps and trials with no
    eval row contribute no rows (see :func:`load_trials`).

    Raises:
      LogDirError: `log_dir` holds no sweep.
    """
    return _runs_frame(_sweeps(log_dir), metadata)


def _runs_frame(sweeps: list[_Sweep], metadata: bool = True) -> pd.DataFrame:
    frames, lengths, extras = [], [], []
    for sweep in sweeps:
        meta_cols = _flatten_metadata(sweep.metadata) if metadata else {}
        for run_idx, run_dir, info, rows, status in sweep.trials:
            if len(rows):
                frames.append(rows)
                lengths.append(len(rows))
                extras.append(
                    {
                        **_trial_columns(sweep, run_idx, run_dir, info, status),
                        **meta_cols,
                        '_run_idx': run_idx,
                        '_framework': sweep.framework,
                    }
                )
    if not frames:
        return pd.DataFrame(columns=['sweep', 'workload', 'run_idx', 'eval_idx', 'trial.status'])
    df = pd.concat(frames, ignore_index=True, sort=False)
    # The per-trial constants, repeated once for all rows (not a frame per trial:
    # that dominated the time on sweeps of hundreds of trials).
    names = list(dict.fromkeys(k for e in extras for k in e))
    const = pd.DataFrame(
        {k: pd.Series([e.get(k) for e in extras]).repeat(lengths).to_numpy() for k in names}
    )
    const['eval_idx'] = np.concatenate([np.arange(1, n + 1) for n in lengths])
    # The directory's number wins over a missing or damaged run_idx cell.
    run_idx = df['run_idx'] if 'run_idx' in df.columns else pd.Series(np.nan, index=df.index)
    df['run_idx'] = run_idx.fillna(const.pop('_run_idx')).astype('int64')
    framework = const.pop('_framework')
    if 'framework' in df.columns:
        df['framework'] = df['framework'].fillna(framework)
    elif framework.notna().any():
        df['framework'] = framework
    # Loader columns replace any same-named user column (e.g. an extra 'workload').
    df = pd.concat([df.drop(columns=[c for c in const.columns if c in df.columns]), const], axis=1)
    lead = ['sweep', 'workload', 'framework', 'run_idx', 'eval_idx', 'trial.status']
    return df[[c for c in lead if c in df.columns] + [c for c in df.columns if c not in lead]]


def _energy_to_target(rows: pd.DataFrame) -> float:
    """``energy.submission_joules`` at the first eval with ``goal_reached`` (NaN: none, or
    not measured), as :mod:`algorithmic_efficiency.scores` defines it."""
    if SUBMISSION_ENERGY_COLUMN not in rows.columns or 'goal_reached' not in rows.columns:
        return math.nan
    return scores.energy_to_target(
        rows[['goal_reached', SUBMISSION_ENERGY_COLUMN]].to_dict('records')
    )


def _trial_record(sweep: _Sweep, run_idx: int, run_dir: str, info, rows, status) -> dict:
    info = info or {}
    n = len(rows)
    last = rows.iloc[-1] if n else pd.Series(dtype=object)

    def get(col: str) -> Any:
        return last.get(col) if n else None

    rec = {
        'sweep': sweep.key,
        'workload': sweep.name,
        'framework': get('framework') or sweep.framework,
        'run_idx': run_idx,
        'status': status,
        'stop_reason': info.get('stop_reason'),
    }
    hparams = info.get('hyperparameters')
    if isinstance(hparams, dict):
        rec.update({f'hparam.{k}': v for k, v in hparams.items()})
    elif n:
        rec.update({c: rows[c].iloc[0] for c in rows.columns if c.startswith('hparam.')})
    rec.update(eval_rows.progress(rows, info))
    rec['target_metric'] = get('workload.target_metric_name') or sweep.metadata.get(
        'workload.target_metric_name'
    )
    target = get('workload.target_value')
    rec['target_value'] = num(
        target if target is not None else sweep.metadata.get('workload.target_value')
    )
    rec['energy_joules'] = num(last_valid(rows, ENERGY_COLUMN))
    rec['energy_to_target'] = _energy_to_target(rows)
    rec['submission_energy_joules'] = num(last_valid(rows, SUBMISSION_ENERGY_COLUMN))
    cpu = 'cpu.util.interval_mean_percent'
    rec['cpu_util_mean_percent'] = (
        float(pd.to_numeric(rows[cpu], errors='coerce').mean()) if cpu in rows.columns else math.nan
    )
    rss = 'proc.rss_bytes'
    rec['peak_rss_bytes'] = (
        float(pd.to_numeric(rows[rss], errors='coerce').max()) if rss in rows.columns else math.nan
    )
    rec['seed'] = info.get('seed')
    rec['started'] = num(info.get('started'))
    rec['finished'] = num(info.get('finished'))
    rec['wallclock_sec'] = rec['finished'] - rec['started']
    rec['error'] = info.get('error')
    rec['run_dir'] = run_dir
    return rec


def load_trials(log_dir: str) -> pd.DataFrame:
    """One row per trial of every sweep in `log_dir`, ordered by sweep and run_idx.

    Columns: ``sweep``, ``workload``, ``framework``, ``run_idx``, ``status``,
    ``stop_reason``, ``hparam.<name>``..., ``best_loss`` (lowest finite eval
    loss), ``best_loss_step``, ``final_loss``, ``best_accuracy``,
    ``final_accuracy`` (the last eval), ``global_step`` (reached),
    ``num_evals``, ``accumulated_submission_time`` (s), ``time_to_target`` (s
    of submission time at the first eval with ``goal_reached``; NaN if never),
    ``target_metric``, ``target_value``, ``energy_joules`` (GPU energy of the
    trial; NaN without GPUs), ``energy_to_target`` (J of
    ``energy.submission_joules`` at the first eval with ``goal_reached``; NaN
    if never, or not measured), ``submission_energy_joules`` (its last
    value: the trial's energy over its timed intervals; NaN if not measured),
    ``cpu_util_mean_percent``, ``peak_rss_bytes``,
    ``seed``, ``started``, ``finished`` (unix s), ``wallclock_sec``,
    ``error`` (first line), ``run_dir``.

    Raises:
      LogDirError: `log_dir` holds no sweep.
    """
    return _trials_frame(_sweeps(log_dir))


TRIAL_LEAD_COLUMNS = ['sweep', 'workload', 'framework', 'run_idx', 'status', 'stop_reason']
# Every column of a trial record but the hparam.* ones (an empty frame gets these).
TRIAL_COLUMNS = TRIAL_LEAD_COLUMNS + [
    'best_loss',
    'best_loss_step',
    'final_loss',
    'best_accuracy',
    'final_accuracy',
    'global_step',
    'num_evals',
    'accumulated_submission_time',
    'time_to_target',
    'target_metric',
    'target_value',
    'energy_joules',
    'energy_to_target',
    'submission_energy_joules',
    'cpu_util_mean_percent',
    'peak_rss_bytes',
    'seed',
    'started',
    'finished',
    'wallclock_sec',
    'error',
    'run_dir',
]


def _trials_frame(sweeps: list[_Sweep]) -> pd.DataFrame:
    records = [_trial_record(s, *t) for s in sweeps for t in s.trials]
    df = pd.DataFrame.from_records(records, columns=None if records else TRIAL_COLUMNS)
    for col in ('global_step', 'best_loss_step', 'num_evals', 'seed', 'peak_rss_bytes'):
        # Whole numbers stay whole in the CSVs ("40", not "40.0"), NaN allowed.
        df[col] = pd.to_numeric(df[col], errors='coerce').round().astype('Int64')
    # hparam.* right after the lead columns, in first-seen order.
    hp = [c for c in df.columns if c.startswith('hparam.')]
    rest = [c for c in df.columns if c not in hp and c not in TRIAL_LEAD_COLUMNS]
    return df[TRIAL_LEAD_COLUMNS + hp + rest]


@dataclasses.dataclass(frozen=True)
class SweepInfo:
    """One sweep directory: ``key`` (the frames' ``sweep`` column), its path and metadata."""

    key: str
    name: str
    framework: str | None
    dir: str
    metadata: dict[str, Any]


def load(log_dir: str, metadata: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, list[SweepInfo]]:
    """Reads `log_dir` once: ``(load_runs frame, load_trials frame, sweeps)``.

    `sweeps` lists every sweep found, including those with no trial yet.
    """
    sweeps = _sweeps(log_dir)
    infos = [SweepInfo(s.key, s.name, s.framework, s.dir, s.metadata) for s in sweeps]
    return _runs_frame(sweeps, metadata), _trials_frame(sweeps), infos
