"""Numbers from eval rows: which values are finite, cells as floats, each row's wall time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from algorithmic_efficiency import scores


def finite_mask(series: pd.Series) -> pd.Series:
    """True where `series` holds a finite number (not NaN, not +-inf, not text)."""
    values = pd.to_numeric(series, errors='coerce').astype('float64')
    return pd.Series(np.isfinite(values.to_numpy()), index=series.index)


def finite(series: pd.Series) -> pd.Series:
    """The finite numbers of `series`, as floats (text and NaN/inf left out)."""
    values = pd.to_numeric(series, errors='coerce').astype('float64')
    return values[finite_mask(values)]


def last_valid(rows: pd.DataFrame, col: str) -> Any:
    """The last non-missing value of `col`, or None."""
    if col not in rows.columns:
        return None
    values = rows[col].dropna()
    return values.iloc[-1] if len(values) else None


def num(v: Any) -> float:
    """A float, or NaN for None, text and other non-numbers."""
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def wall_times(df: pd.DataFrame, keys: Sequence[str] = ('run_idx',)) -> pd.Series:
    """Unix seconds at which each eval row's training interval ended.

    The ``wall_time`` column where the runner recorded it; for older rows
    without it, an approximation: the trial's start (``global_start_time``)
    plus its submission time plus the evals before it (evals are untimed;
    set-up time is not in the rows). ``keys`` name the columns that identify
    a trial in ``df``.
    """
    start = pd.to_numeric(df['global_start_time'], errors='coerce')
    sub = pd.to_numeric(df['accumulated_submission_time'], errors='coerce')
    ev = pd.to_numeric(df['eval_time_sec'], errors='coerce') if 'eval_time_sec' in df else None
    ev = (ev if ev is not None else pd.Series(0.0, index=df.index)).fillna(0.0)
    group = [df[k] for k in keys if k in df.columns] or [df['run_idx']]
    approx = start + sub + (ev.groupby(group).cumsum() - ev)
    if 'wall_time' not in df.columns:
        return approx
    return pd.to_numeric(df['wall_time'], errors='coerce').fillna(approx)


def progress(rows: pd.DataFrame, info: dict[str, Any]) -> dict[str, Any]:
    """A trial's losses, accuracies, step, evals, time and time to target.

    From its eval `rows` (numbers parsed) and its ``trial.json`` `info` (for
    what the rows cannot tell: the step a failed trial reached, the numbers
    of a trial without rows). Keys, in order: ``best_loss``,
    ``best_loss_step``, ``final_loss``, ``best_accuracy``, ``final_accuracy``,
    ``global_step``, ``num_evals``, ``accumulated_submission_time``,
    ``time_to_target``.
    """
    n = len(rows)
    last = rows.iloc[-1] if n else pd.Series(dtype=object)

    def get(col: str) -> Any:
        return last.get(col) if n else None

    out: dict[str, Any] = {}
    losses = finite(rows['loss']) if 'loss' in rows.columns else pd.Series(dtype=float)
    accs = finite(rows['accuracy']) if 'accuracy' in rows.columns else pd.Series(dtype=float)
    if len(losses):
        best = losses.idxmin()  # the first eval with the lowest loss
        out['best_loss'] = float(losses[best])
        out['best_loss_step'] = (
            num(rows.at[best, 'global_step']) if 'global_step' in rows else math.nan
        )
    else:
        out['best_loss'], out['best_loss_step'] = math.nan, math.nan
    out['final_loss'] = num(get('loss')) if n else num(info.get('final_loss'))
    out['best_accuracy'] = float(accs.max()) if len(accs) else math.nan
    out['final_accuracy'] = num(get('accuracy')) if n else num(info.get('final_accuracy'))
    # trial.json's step is the step reached (a failed trial may be past its last
    # eval); a running trial has none yet, so its last row tells the current step.
    step = info.get('global_step')
    out['global_step'] = num(step if step is not None else get('global_step'))
    out['num_evals'] = n
    ast = info.get('accumulated_submission_time')
    out['accumulated_submission_time'] = num(
        ast if ast is not None else get('accumulated_submission_time')
    )
    out['time_to_target'] = math.nan
    if n and 'goal_reached' in rows.columns and 'accumulated_submission_time' in rows.columns:
        # The definition of algorithmic_efficiency.scores (the trainer's and status's too).
        out['time_to_target'] = scores.time_to_target(
            rows[['goal_reached', 'accumulated_submission_time']].to_dict('records')
        )
    elif not n:
        out['time_to_target'] = num(info.get('time_to_target'))
    return out
