"""Performance profiles and the benchmark score: the math only (numpy, no files).

A *cost* is what a submission spent to reach a workload's target: seconds of
submission time, or joules. ``inf`` means the target was never reached.

* :func:`median_over_studies`: a submission's cost on a workload, from one cost per study;
* :func:`ratios`: per workload, each submission's cost over the cheapest submission's;
* :func:`profile`: rho(tau), the fraction of workloads with ratio <= tau;
* :func:`score`: the normalised area under rho on [1, r_max], in closed form:
  ``B = (1/W) * sum_w max(0, (r_max - r_w) / (r_max - 1))``.

Why the closed form is exact: rho is a sum of steps, one per workload, each
``1[r_w <= tau] / W``. A step contributes ``max(0, r_max - max(r_w, 1))`` to the
integral over [1, r_max], and ratios are never below 1, so dividing by
``r_max - 1`` gives the formula, with no grid and no rounding of the steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_MAX_RATIO = 4.0


def check_max_ratio(max_ratio: float) -> float:
    """`max_ratio` as a float, if it is a finite number above 1.

    Raises:
      ValueError: one line naming the bad value.
    """
    value = float(max_ratio)
    if not math.isfinite(value) or value <= 1.0:
        raise ValueError(
            f'--max_ratio must be a finite number above 1 (the score integrates tau over '
            f'[1, max_ratio]), got {max_ratio!r}; the benchmark uses {DEFAULT_MAX_RATIO:g}'
        )
    return value


def median_over_studies(costs: Iterable[float]) -> float:
    """The median of one cost per study; ``inf`` counts as the largest value.

    With an even number of studies the mean of the two middle values (so
    ``[10, inf]`` gives ``inf``: half the studies missing the target is a
    miss). NaN (cost not measured) in any study gives NaN; no study gives inf.
    """
    values = sorted(float(c) for c in costs)
    if any(math.isnan(v) for v in values):
        return math.nan
    n = len(values)
    if n == 0:
        return math.inf
    if n % 2:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


def ratios(costs: np.ndarray) -> np.ndarray:
    """Per workload (column), each submission's (row's) cost over the lowest.

    ``inf`` where a submission missed the target, and for every submission on
    a workload that no submission reached (no one earns credit there). A
    lowest cost of 0 gives 1 to the submissions at 0 and inf to the others.
    NaN (not measured) stays NaN and is never the lowest.
    """
    costs = np.asarray(costs, dtype=np.float64)
    if costs.ndim != 2:
        raise ValueError(f'costs must be submissions x workloads, got shape {costs.shape}')
    out = np.full(costs.shape, np.nan)
    for w in range(costs.shape[1]):
        col = costs[:, w]
        known = col[~np.isnan(col)]
        best = known.min() if known.size else math.nan
        for s, c in enumerate(col):
            if math.isnan(c) or math.isnan(best):
                continue
            if math.isinf(best) or math.isinf(c):
                out[s, w] = math.inf
            elif best == 0.0:
                out[s, w] = 1.0 if c == 0.0 else math.inf
            else:
                out[s, w] = c / best
    return out


def _finite_ratios(row: Sequence[float]) -> np.ndarray:
    r = np.asarray(row, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError('a profile needs the ratios of at least one workload')
    if np.isnan(r).any():
        raise ValueError('a profile needs a ratio for every workload (NaN: not measured)')
    if (r < 1.0).any():
        raise ValueError(f'ratios are at least 1 (cost over the lowest cost), got {r.min()}')
    return r


def profile(row: Sequence[float], taus: Sequence[float]) -> np.ndarray:
    """rho(tau) = (workloads with ratio <= tau) / (number of workloads), at each tau."""
    r = _finite_ratios(row)
    t = np.asarray(taus, dtype=np.float64)
    return (r[None, :] <= t[:, None]).sum(axis=1) / r.size


def score(row: Sequence[float], max_ratio: float = DEFAULT_MAX_RATIO) -> float:
    """The benchmark score of one submission from its ratios, one per workload.

    ``(1 / (r_max - 1)) * integral_1^r_max rho(tau) dtau``, exactly (see the
    module docstring): 1 for the lowest cost everywhere, 0 for nothing within
    ``r_max`` times the lowest.
    """
    r = _finite_ratios(row)
    r_max = check_max_ratio(max_ratio)
    return float(np.maximum(0.0, (r_max - r) / (r_max - 1.0)).sum() / r.size)


def profile_steps(row: Sequence[float], max_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Corners of rho on [1, r_max], to draw with ``step(x, y, where='post')``.

    x holds 1, every ratio inside (1, r_max] and r_max; y is rho at each x
    (rho is right-continuous: a workload counts from its own ratio on).
    """
    r = _finite_ratios(row)
    r_max = check_max_ratio(max_ratio)
    inside = np.unique(r[(r > 1.0) & (r <= r_max)])
    x = np.concatenate([[1.0], inside, [r_max]])
    return x, profile(r, x)
