"""What a trial and a sweep produced: :class:`TrialResult`, :class:`SweepResult` and the score."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from algorithmic_efficiency import scores, spec


@dataclasses.dataclass
class TrialResult:
    """One trial: how it ended, where it got, and every eval row it produced."""

    run_idx: int
    hyperparameters: dict[str, Any] | None
    seed: int
    status: str = spec.TrialStatus.RUNNING
    stop_reason: str = ''  # a StopReason once stopped
    global_step: int = 0
    accumulated_submission_time: float = 0.0
    time_to_target: float | None = None
    evals: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    error: str | None = None  # first line of the error, for tables
    traceback: str | None = None
    disk_error: OSError | None = None  # ENOSPC/EDQUOT: stops the sweep (not in trial.json)

    @property
    def final_eval(self) -> dict[str, Any]:
        return self.evals[-1] if self.evals else {}


class TrialInterrupted(KeyboardInterrupt):
    """Ctrl-C during a trial: a ``KeyboardInterrupt`` that carries the trial's result.

    The trial loop records the result (status ``interrupted``) and re-raises,
    so the sweep stops as after any Ctrl-C.
    """

    def __init__(self, result: TrialResult):
        super().__init__(f'trial {result.run_idx} interrupted at step {result.global_step}')
        self.result = result


class TrialPreempted(TrialInterrupted):
    """SIGTERM/SIGUSR1 during a trial: checkpointed, recorded ``preempted``; exit 143."""


def sweep_score(trials: Sequence[TrialResult]) -> float:
    """The sweep's score: the fastest time-to-target of any trial, ``inf`` if none reached it."""
    return scores.time_score(t.time_to_target for t in trials)


# Cumulative energy over the timed intervals (telemetry/energy.py's column), on the
# rows the recorder wrote; absent when the sweep measured no energy.
ENERGY_COLUMN = scores.ENERGY_COLUMN


def energy_to_target(trial: TrialResult) -> float | None:
    """Energy over the timed intervals up to the first eval at target (J); None if unmeasured.

    NaN when measured but the target was never reached (:mod:`algorithmic_efficiency.scores`).
    """
    if not scores.energy_measured(trial.evals):
        return None
    return scores.energy_to_target(trial.evals)


def sweep_energy_score(trials: Sequence[TrialResult]) -> float:
    """The least energy to target of any trial (J); inf if none reached, NaN if unmeasured."""
    measured = any(scores.energy_measured(t.evals) for t in trials)
    score = scores.energy_score((energy_to_target(t) for t in trials), measured)
    return math.nan if score is None else score


@dataclasses.dataclass
class SweepResult:
    """Every trial of a sweep, in ``run_idx`` order."""

    trials: list[TrialResult]

    @property
    def score(self) -> float:
        return sweep_score(self.trials)

    @property
    def failed(self) -> list[TrialResult]:
        return [t for t in self.trials if t.status == spec.TrialStatus.FAILED]


def trial_from_info(info: dict[str, Any]) -> TrialResult:
    """A finished trial read back from its trial.json (for --resume)."""
    result = TrialResult(
        run_idx=info['run_idx'],
        hyperparameters=info.get('hyperparameters'),
        seed=info.get('seed', 0),
        status=info.get('status', ''),
        stop_reason=info.get('stop_reason', ''),
        global_step=info.get('global_step', 0),
        accumulated_submission_time=info.get('accumulated_submission_time', 0.0),
        time_to_target=info.get('time_to_target'),
        error=info.get('error'),
    )
    result.evals = [
        {'loss': _number(info, 'final_loss'), 'accuracy': _number(info, 'final_accuracy')}
    ]
    return result


def _number(info: dict[str, Any], key: str) -> Any:
    """A trial.json number; a non-finite one is stored as null with its text beside it."""
    value = info.get(key)
    text = info.get(f'{key}_text')
    if value is None and isinstance(text, str):
        try:
            return float(text)
        except ValueError:
            return None
    return value
