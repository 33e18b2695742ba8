"""What a trial and a sweep scored, defined once over eval rows (standard library only).

The trainer (``training.results``: ``TrialResult.evals``, rows of numbers),
the live status (``analysis.live``: metrics.csv rows as text) and the loader
(``analysis.loader``: rows of a pandas frame) all compute these numbers here,
so ``status``, the end table and the summary files cannot disagree. A row is
any mapping with ``metrics.csv``'s column names; a cell may be a number, a
bool, text as read from the CSV, empty or missing.

Definitions:

* **time to target** of a trial: ``accumulated_submission_time`` at its first
  eval with ``goal_reached``;
* **energy to target** of a trial: ``energy.submission_joules`` (GPU + CPU
  package energy over the timed intervals, cumulative) at that same eval;
* **the sweep's score**: the least time to target of any trial; **its energy
  score**: the least energy to target of any trial;
* **the incumbent** (the best trial): the lowest finite best loss of a trial
  that neither failed nor diverged; the first trial on ties.

One convention for a target never reached, for time and energy alike:

* a *trial* that never reached the target has **no** time or energy to target:
  NaN (``nan`` in code, an empty cell in ``trials.csv``/``config_data.csv``);
* a *sweep* none of whose trials reached it scores **inf** (time and energy);
* a sweep that measured no energy at all has **no** energy score (``None``;
  empty in ``run_status.csv``; the end table leaves its energy column out).

A trial's energy to target is therefore NaN both when it was never reached and
when no energy was measured; :func:`energy_measured` tells the two apart where
it matters (the sweep's energy score).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from algorithmic_efficiency.layout import SUBMISSION_ENERGY_COLUMN
from algorithmic_efficiency.spec import NOT_CANDIDATES

T = TypeVar('T')
Row = Mapping[str, Any]
TIME_COLUMN = 'accumulated_submission_time'
ENERGY_COLUMN = SUBMISSION_ENERGY_COLUMN  # cumulative J over the timed intervals
GOAL_COLUMN = 'goal_reached'


def number(value: Any) -> float:
    """A cell as a float: numbers and numeric text as they are; anything else (a bool too) NaN."""
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def is_true(value: Any) -> bool:
    """A ``goal_reached`` cell: true, or the text ``True`` as the CSV holds it; NaN is false."""
    if isinstance(value, str):
        return value.strip().lower() == 'true'
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def first_at_target(rows: Iterable[Row]) -> Row | None:
    """The first eval row with ``goal_reached``; None if the target was never reached."""
    return next((row for row in rows if is_true(row.get(GOAL_COLUMN))), None)


def time_to_target(rows: Iterable[Row]) -> float:
    """Submission seconds at the first eval at target; NaN if never reached."""
    row = first_at_target(rows)
    return math.nan if row is None else number(row.get(TIME_COLUMN))


def energy_measured(rows: Iterable[Row]) -> bool:
    """Whether any row carries a finite ``energy.submission_joules``."""
    return any(math.isfinite(number(row.get(ENERGY_COLUMN))) for row in rows)


def energy_to_target(rows: Iterable[Row]) -> float:
    """``energy.submission_joules`` (J) at the first eval at target; NaN if never reached
    (or not measured: see :func:`energy_measured`)."""
    row = first_at_target(rows)
    return math.nan if row is None else number(row.get(ENERGY_COLUMN))


def time_score(times: Iterable[float | None]) -> float:
    """The sweep's score: the least finite time to target; inf if no trial reached it."""
    return min((t for t in map(number, times) if math.isfinite(t)), default=math.inf)


def energy_score(energies: Iterable[float | None], measured: bool) -> float | None:
    """The least finite energy to target (J); inf if none reached it; None if not `measured`."""
    if not measured:
        return None
    return min((e for e in map(number, energies) if math.isfinite(e)), default=math.inf)


def fastest(trials: Sequence[T], time: Callable[[T], Any],
            run_idx: Callable[[T], int]) -> T | None:
    """The trial that set the score: least time to target, the first on ties; None if none."""
    reached = [t for t in trials if math.isfinite(number(time(t)))]
    return min(reached, key=lambda t: (number(time(t)), run_idx(t)), default=None)


def incumbent(trials: Sequence[T], best_loss: Callable[[T], Any], status: Callable[[T], str],
              run_idx: Callable[[T], int]) -> T | None:
    """The best trial: lowest finite best loss, not failed or diverged, first on ties."""
    eligible = [t for t in trials
                if status(t) not in NOT_CANDIDATES and math.isfinite(number(best_loss(t)))]
    return min(eligible, key=lambda t: (number(best_loss(t)), run_idx(t)), default=None)
