"""The bootstrap behind the intervals of ``score``: the math only (numpy, no files).

The scoring rule (:mod:`scoring`) turns a submission's trials on a workload
into one cost: in each study the fastest trial's cost (inf: none reached the
target), then the median over its studies. The bootstrap repeats that rule on
resampled data:

1. draw the submission's K studies with replacement (K of them);
2. (``trials=True`` only) within each drawn study, draw its n trials with
   replacement (n of them) and take the fastest; otherwise each drawn study
   keeps its fastest trial (a study without a sweep of the workload stays inf);
3. the median over the K drawn studies is one replicate of the cost.

Resampling studies only (the default of ``score``) treats the study as the
independent unit, which it is: each study's fastest trial already carries the
trials' randomness. Also resampling the trials counts that randomness twice
and biases the cost upwards (the fastest of n trials drawn with replacement is
never faster than the fastest trial): measured coverage of 95% intervals of
the median on exponential data, 300 seeded repetitions, 1000 replicates:
studies only 0.93 (9 studies of 1 trial), 0.93 (15 of 1), 0.95 (25 of 1),
0.92 (15 of 3), 0.95 (25 of 5); studies and trials 0.87 (15 of 3), 0.76 (25 of
5). Both are here; ``score --resample`` chooses.

Each submission is resampled independently (its own random stream, derived
from the seed and its name, so argument order does not matter). From the
replicates of every submission's costs follow replicates of the ratios, the
scores and the profiles (:func:`ratios`, :func:`scores`, :func:`profiles`);
intervals are their equal-tailed percentiles (:func:`interval`).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from algorithmic_efficiency.errors import UsageError

DEFAULT_CONFIDENCE = 0.95
DEFAULT_REPLICATES = 2000


def check_settings(confidence: float, replicates: int) -> tuple[float, int]:
    """``(confidence, replicates)`` if usable.

    Raises:
      UsageError: one line naming the bad value and the fix.
    """
    c = float(confidence)
    if not (math.isfinite(c) and 0.0 < c < 1.0):
        raise UsageError(f'--confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}')
    n = int(replicates)
    if n != replicates or not (n == 0 or n >= 100):
        raise UsageError(
            f'--bootstrap must be 0 (no intervals) or at least 100 replicates, got {replicates!r}; '
            f'e.g. {DEFAULT_REPLICATES}'
        )
    return c, n


def stream(seed: int, *names: str) -> np.random.Generator:
    """A generator for `seed` and `names` (e.g. submission, workload), stable across runs."""
    return np.random.default_rng([int(seed), *(zlib.crc32(n.encode()) for n in names)])


def resample_costs(
    studies: Sequence[tuple[Sequence[float], Sequence[float]]],
    replicates: int,
    rng: np.random.Generator,
    missing_energy: float = math.inf,
    trials: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Replicates of one submission's cost on one workload: ``(times, energies)``, each (B,).

    Args:
      studies: per study ``(trial times, trial energies)``; inf where a trial
        missed the target, energy NaN where not measured; empty for a study
        without a sweep of the workload.
      replicates: B.
      rng: the submission and workload's stream (:func:`stream`).
      missing_energy: the energy of a study without a sweep (inf if the
        submission measures energy, else NaN), as :mod:`scoring` counts it.
      trials: also resample the trials within each drawn study.
    """
    if not trials:  # each study is its fastest trial: stage 2 then draws just that
        studies = [_fastest(t, e) for t, e in studies]
    k = len(studies)
    if k == 0:
        return np.full(replicates, math.inf), np.full(replicates, missing_energy)
    n = np.array([len(t) for t, _ in studies])
    width = max(int(n.max()), 1)
    times = np.full((k, width), math.inf)
    energies = np.full((k, width), math.nan)
    for i, (t, e) in enumerate(studies):
        times[i, : len(t)] = t
        energies[i, : len(e)] = e
    drawn = rng.integers(0, k, size=(replicates, k))  # stage 1: studies
    n_drawn = n[drawn][..., None]
    # Stage 2: n trials of each drawn study, with replacement (the padding is never drawn).
    trials = np.floor(rng.random((replicates, k, width)) * n_drawn).astype(np.int64)
    used = np.arange(width) < n_drawn
    rows = np.broadcast_to(drawn[..., None], trials.shape)
    t = np.where(used, times[rows, trials], math.inf).min(axis=2)
    # fmin skips NaN (the padding), so a study's energy is its fastest known one.
    e = np.fmin.reduce(np.where(used, energies[rows, trials], math.nan), axis=2)
    e = np.where(n[drawn] == 0, missing_energy, e)
    with np.errstate(invalid='ignore'):  # inf + inf in the median of an even count
        return np.median(t, axis=1), np.median(e, axis=1)


def _fastest(times: Sequence[float], energies: Sequence[float]) -> tuple[tuple, tuple]:
    """A study as its scored values: the lowest time, the lowest known energy; () if empty."""
    if not len(times):
        return (), ()
    e = np.asarray(energies, dtype=np.float64)
    return (float(np.min(times)),), (float(np.fmin.reduce(e)) if e.size else math.nan,)


def ratios(costs: np.ndarray) -> np.ndarray:
    """:func:`performance_profile.ratios` on each replicate: costs (B, S, W) -> ratios (B, S, W)."""
    c = np.asarray(costs, dtype=np.float64)
    best = np.fmin.reduce(c, axis=1, keepdims=True)  # NaN only if all NaN
    with np.errstate(divide='ignore', invalid='ignore'):
        out = c / best
    out = np.where(np.isinf(best) | np.isinf(c), math.inf, out)
    out = np.where(best == 0.0, np.where(c == 0.0, 1.0, math.inf), out)
    return np.where(np.isnan(c) | np.isnan(best), math.nan, out)


def scores(ratio: np.ndarray, max_ratio: float) -> np.ndarray:
    """The closed-form score of each replicate: ratios (B, S, W) -> scores (B, S); NaN stays."""
    r = np.asarray(ratio, dtype=np.float64)
    with np.errstate(invalid='ignore'):
        earned = np.maximum(0.0, (max_ratio - r) / (max_ratio - 1.0))
    return earned.mean(axis=-1)


def interval(
    samples: np.ndarray, confidence: float, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The equal-tailed percentile interval of `samples` along `axis`: ``(low, high)``.

    Quantiles are order statistics (no interpolation), so inf stays inf and
    an interval never holds a value no replicate took. NaN in: NaN out.
    """
    a = (1.0 - confidence) / 2.0
    s = np.asarray(samples, dtype=np.float64)
    low = np.quantile(s, a, axis=axis, method='inverted_cdf')
    high = np.quantile(s, 1.0 - a, axis=axis, method='inverted_cdf')
    nan = np.isnan(s).any(axis=axis)
    return np.where(nan, math.nan, low), np.where(nan, math.nan, high)


def compare(a: np.ndarray, b: np.ndarray, confidence: float) -> dict[str, float | bool]:
    """Two submissions' score replicates (B,) each: who scores higher, and is it significant.

    ``p_a_higher`` = P(score a > score b) over the replicates, ties counted
    half (identical submissions: about 0.5). ``diff_low``/``diff_high``: the
    interval of a - b; the difference is significant when it excludes 0.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if np.isnan(d).any():
        nan = math.nan
        return {'p_a_higher': nan, 'diff_low': nan, 'diff_high': nan, 'significant': False}
    low, high = interval(d, confidence)
    return {
        'p_a_higher': float((d > 0).mean() + 0.5 * (d == 0).mean()),
        'diff_low': float(low),
        'diff_high': float(high),
        'significant': bool(low > 0 or high < 0),
    }


def p_best(score: np.ndarray) -> np.ndarray:
    """Per submission, the share of replicates (B, S) where it scores highest (ties shared)."""
    s = np.asarray(score, dtype=np.float64)
    top = s == s.max(axis=1, keepdims=True)
    return (top / top.sum(axis=1, keepdims=True)).mean(axis=0)


def profiles(
    ratio: np.ndarray, taus: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bands of rho(tau): ratios (B, S, W) -> ``(low, high)``, each (S, len(taus)).

    rho_b(tau) is the fraction of workloads with ratio <= tau in replicate b;
    the band is its percentile interval at each tau.
    """
    r = np.asarray(ratio, dtype=np.float64)
    rho = (r[..., None] <= np.asarray(taus)[None, None, None, :]).mean(axis=2)  # (B, S, T)
    return interval(rho, confidence, axis=0)
