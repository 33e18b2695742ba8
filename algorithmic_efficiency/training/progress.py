"""Where a running trial is between evals: the progress line and the heartbeat's numbers.

In the spirit of clu's ``ReportProgress``: every few seconds the trainer hands
the step and the submission time to :meth:`Progress.tick` *outside* the timed
path (the timer is stopped; see :mod:`.trainer`). A tick computes a
:class:`Snapshot` (steps/s, budget used, ETA, the last eval against the
target), hands it to the recorder's heartbeat and, when ``interval_sec`` of
wall time have passed since the last line, emits one progress line::

  mnist_jax trial 2: step 1840, 91.3 steps/s, 20.1/60 s (34%), ETA 40 s,
  accuracy 0.9615 (target 0.97)

(one line; wrapped here).

Lines are plain and newline-terminated (no ``\\r``), so log files stay readable.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One look at a running trial (what the heartbeat records).

    Attributes:
      step: ``update_params`` calls so far.
      accumulated_submission_time: seconds of submission time so far.
      wall_time: Unix seconds of the look.
      steps_per_sec: over submission time since the previous look (NaN before a second one).
      budget_sec: the trial's submission-time budget.
      eta_sec: the smaller of the budget left and the steps left (to the step cap
        or the workload's step hint) at the current rate; NaN when unknown.
    """

    step: int
    accumulated_submission_time: float
    wall_time: float
    steps_per_sec: float
    budget_sec: float
    eta_sec: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in dataclasses.asdict(self).items()
        }


def _duration(seconds: float) -> str:
    """``47 s``, ``3 min 05 s``, ``2 h 04 min``: short and readable."""
    if not math.isfinite(seconds):
        return '?'
    s = max(0, int(round(seconds)))
    if s < 60:
        return f'{s} s'
    if s < 3600:
        return f'{s // 60} min {s % 60:02d} s'
    return f'{s // 3600} h {s % 3600 // 60:02d} min'


def _number(value: float) -> str:
    """A budget or a time in seconds without pointless decimals (60, 0.5, 20.1)."""
    return f'{value:.0f}' if value >= 100 or float(value).is_integer() else f'{value:.1f}'


class Progress:
    """Turns (step, submission time) looks into snapshots and, now and then, a line.

    Args:
      workload_name: the line's first word.
      run_idx: the trial.
      budget_sec: the trial's submission-time budget.
      max_steps: the step cap (``--max_global_steps``) or the workload's step hint;
        None: ETA from the budget only.
      target_metric: the workload's target metric (e.g. ``accuracy``).
      target_value: its target.
      emit: receives each line (None: no lines, snapshots only).
      interval_sec: wall seconds between lines (0 or less: no lines between evals).
      clock: wall-clock seconds; injectable for tests.
    """

    def __init__(  # noqa: PLR0913  the eight display inputs of one trial, each with a default
        self,
        workload_name: str,
        run_idx: int,
        budget_sec: float,
        max_steps: int | None = None,
        target_metric: str | None = None,
        target_value: float | None = None,
        emit: Callable[[str], None] | None = None,
        interval_sec: float = 10.0,
        clock: Callable[[], float] = time.time,
    ):
        self.workload_name = workload_name
        self.run_idx = run_idx
        self.budget_sec = budget_sec
        self.max_steps = max_steps
        self.target_metric = target_metric
        self.target_value = target_value
        self._emit = emit
        self.interval_sec = interval_sec
        self._clock = clock
        self._last_line = clock()
        self._prev: tuple[int, float] | None = None  # (step, submission time) of the last look
        self._rate = math.nan
        self.last_metric: Any = None  # the target metric at the last eval

    def tick(self, step: int, accumulated: float) -> Snapshot:
        """A look between evals: returns the snapshot and emits a line when one is due."""
        snapshot = self.snapshot(step, accumulated)
        now = snapshot.wall_time
        if self._emit is not None and self.interval_sec > 0 and (
            now - self._last_line >= self.interval_sec
        ):
            self._last_line = now
            self._emit(self.line(snapshot))
        return snapshot

    def evaluated(self, step: int, accumulated: float, metrics: dict[str, Any]) -> Snapshot:
        """An eval ran (and printed its own line): the next progress line is an interval later."""
        self.last_metric = metrics.get(self.target_metric) if self.target_metric else None
        snapshot = self.snapshot(step, accumulated)
        self._last_line = snapshot.wall_time
        return snapshot

    def snapshot(self, step: int, accumulated: float) -> Snapshot:
        """The numbers at (step, submission time); updates the rate."""
        if self._prev is not None:
            d_steps, d_time = step - self._prev[0], accumulated - self._prev[1]
            if d_steps > 0 and d_time > 0:
                self._rate = d_steps / d_time
        elif accumulated > 0 and step > 0:
            self._rate = step / accumulated
        self._prev = (step, accumulated)
        budget = self.budget_sec
        eta = max(0.0, budget - accumulated) if math.isfinite(budget) else math.nan
        if self.max_steps is not None and self._rate > 0:
            by_steps = max(0, self.max_steps - step) / self._rate
            eta = by_steps if math.isnan(eta) else min(eta, by_steps)
        return Snapshot(step, accumulated, self._clock(), self._rate, self.budget_sec, eta)

    def line(self, s: Snapshot) -> str:
        """The progress line of a snapshot."""
        parts = [f'{self.workload_name} trial {self.run_idx}: step {s.step}']
        if math.isfinite(s.steps_per_sec):
            parts.append(f'{s.steps_per_sec:.1f} steps/s')
        if math.isfinite(s.budget_sec) and s.budget_sec > 0:
            pct = 100 * s.accumulated_submission_time / s.budget_sec
            parts.append(
                f'{_number(s.accumulated_submission_time)}/{_number(s.budget_sec)} s ({pct:.0f}%)'
            )
        else:
            parts.append(f'{_number(s.accumulated_submission_time)} s')
        parts.append(f'ETA {_duration(s.eta_sec)}')
        if self.target_metric:
            last = (
                f'{self.last_metric:.4f}'
                if isinstance(self.last_metric, (int, float))
                else 'no eval yet'
            )
            target = f' (target {self.target_value:g})' if self.target_value is not None else ''
            parts.append(f'{self.target_metric} {last}{target}')
        return ', '.join(parts)
