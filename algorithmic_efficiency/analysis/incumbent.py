"""The incumbent: the best eval loss so far, in trial order, by trial or by eval.

One rule for every view (the summary's trajectory files, the
``best_loss_vs_evals`` plot, TensorBoard's ``incumbent`` run): a failed or
diverged trial (:data:`algorithmic_efficiency.spec.NOT_CANDIDATES`) never
improves it, even if it measured a low loss before it crashed or blew up,
and neither does a non-finite loss; the incumbent carries over them. Until
a first loss counts it is NaN.
"""

from __future__ import annotations

import math

import pandas as pd

from algorithmic_efficiency import spec
from algorithmic_efficiency.analysis.eval_rows import finite_mask

NOT_CANDIDATES = spec.NOT_CANDIDATES


def best_so_far(loss: pd.Series, counts: pd.Series | None = None) -> pd.Series:
    """The running minimum of `loss` over the values that count; NaN before the first.

    Args:
      loss: losses in order (numbers; text, NaN and +-inf never count).
      counts: where a loss may count (same index); all of them if None.

    Returns:
      A float Series on `loss`'s index.
    """
    values = pd.to_numeric(loss, errors='coerce').astype('float64')
    ok = finite_mask(values)
    if counts is not None:
        ok &= counts.to_numpy(dtype=bool)
    return values.where(ok).cummin().ffill()


def improved(best: pd.Series) -> pd.Series:
    """True where the incumbent `best` (from :func:`best_so_far`) went down."""
    before = best.shift().fillna(math.inf)
    return best.lt(before)


def by_trial(trials: pd.DataFrame) -> pd.DataFrame:
    """One sweep's trials in trial order, with ``incumbent``: the best loss after each.

    Args:
      trials: :func:`~algorithmic_efficiency.analysis.loader.load_trials` rows
        of one sweep (``run_idx``, ``status``, ``best_loss``).
    """
    df = trials.sort_values('run_idx', kind='stable')
    best = best_so_far(df['best_loss'], ~df['status'].isin(NOT_CANDIDATES))
    return df.assign(incumbent=best)


def improvements(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that lowered the incumbent, in trial order (rows of `trials`)."""
    df = by_trial(trials)
    return trials.loc[df.index[improved(df['incumbent']).to_numpy()]]


def by_eval(runs: pd.DataFrame) -> pd.DataFrame:
    """One sweep's evals in trial order with ``evals`` (1, 2, ...) and ``best_loss`` so far.

    Args:
      runs: :func:`~algorithmic_efficiency.analysis.loader.load_runs` rows of
        one sweep (``run_idx``, ``eval_idx``, ``loss``, ``trial.status``).

    Returns:
      Columns ``evals``, ``run_idx``, ``loss`` and ``best_loss``, a row per
      eval ordered by (``run_idx``, ``eval_idx``), index 0..n-1.
    """
    df = runs.sort_values(['run_idx', 'eval_idx'], kind='stable').reset_index(drop=True)
    loss = pd.to_numeric(df['loss'], errors='coerce')
    return pd.DataFrame(
        {
            'evals': range(1, len(df) + 1),
            'run_idx': df['run_idx'],
            'loss': loss,
            'best_loss': best_so_far(loss, ~df['trial.status'].isin(NOT_CANDIDATES)),
        }
    )
