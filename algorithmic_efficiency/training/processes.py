"""How the processes of one run agree: one process trivially, several (torchrun) by collectives.

A run is one process (every JAX run: one process drives all its devices; a
PyTorch run without ``torchrun``) or ``world_size`` processes started by
``torchrun``, one device each. Several processes must take every decision
that leads to a collective at the same step, or one of them waits forever.
So with several processes:

* the submission-time clock is agreed: each accounted reading is the
  maximum over the processes (:class:`AgreedTimer`), so evals and stops
  happen at the same step everywhere;
* *when* to read it is planned from agreed values only (the step, the agreed
  time and the last interval's agreed rate), never from a local clock;
* a trial's outcome is agreed: if any process failed, the trial failed on
  all, with the first failing process's error (:func:`finish_trial`);
* only rank 0 writes files; what it alone decides (the seed, the trials to
  skip, an error about the log directory) it hands to the others
  (:meth:`SingleProcess.share`).

:class:`SingleProcess` is the one-process case and the interface; the
PyTorch implementation is ``workloads.pytorch_dist.TorchProcesses``. This
module imports neither framework.
"""

from __future__ import annotations

import errno
import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from algorithmic_efficiency import spec
from algorithmic_efficiency.training.schedule import EvalSchedule, SubmissionTimer

T = TypeVar('T')


class SingleProcess:
    """One process: every agreement is the process's own value.

    The interface of a run's processes (``workloads.pytorch_dist.TorchProcesses``
    implements it for ``torchrun``): ``rank``, ``world_size``, ``backend`` and
    the methods below.
    """

    rank = 0
    world_size = 1
    backend = 'none'

    def agree_max(self, values: Sequence[float]) -> list[float]:
        """The element-wise maximum of ``values`` over the processes."""
        return [float(v) for v in values]

    def share(self, compute: Callable[[], T]) -> T:
        """Rank 0's ``compute()`` on every process (the others don't call it).

        Bad input (an ``AEError``) raised on rank 0 is raised on every process
        as an ``AEError`` with the same message, so all exit with the same
        one-line error instead of waiting for rank 0; any other exception as a
        ``RuntimeError`` (an ``OSError`` in its own words).
        """
        return compute()

    def begin_trial(self) -> None:
        """Before a trial's model is built (several processes: its communicators)."""

    def end_trial(self, outcome: dict[str, Any]) -> list[dict[str, Any]]:
        """After a trial: lets go of its communicators, then every rank's ``outcome``."""
        return [outcome]

    def close(self) -> None:
        """After the sweep."""


def make_timer(
    processes: Any, sync: Callable[[Any], None], clock: Callable[[], float] = time.perf_counter
) -> SubmissionTimer:
    """The trial's submission-time clock: agreed across several processes."""
    if processes.world_size > 1:
        return AgreedTimer(sync, clock, processes.agree_max)
    return SubmissionTimer(sync, clock)


def finish_trial(processes: Any, result: Any) -> Any:
    """Frees the trial's memory and returns its ``TrialResult`` as every process agrees it."""
    gc.collect()  # cycles holding device buffers (tracebacks, closures) go now
    outcome = {
        'failed': result.status == spec.TrialStatus.FAILED,
        'stop_reason': result.stop_reason,
        'error': result.error,
        'traceback': result.traceback,
        'at': time.time(),
    }
    outcomes = processes.end_trial(outcome)
    if len(outcomes) == 1:
        return result  # one process: its result is the trial's, as it was
    return agreed_result(result, outcomes)


def progress_for(processes: Any, progress: Callable[[str], None]) -> Callable[[str], None]:
    """Rank 0 reports everything; the others only failures, prefixed with their rank."""
    return progress if processes.rank == 0 else quiet_progress(progress, processes.rank)


def quiet_progress(progress: Callable[[str], None], rank: int) -> Callable[[str], None]:
    """A callback passing on only failure lines, prefixed with the rank (ranks other than 0)."""

    def report(line: str) -> None:
        if 'FAILED' in line:
            progress(f'[rank {rank}] {line}')

    return report


def agreed_result(result: Any, outcomes: Sequence[dict[str, Any]]) -> Any:
    """``result`` made to agree with every process's outcome.

    Args:
      result: this process's ``TrialResult``.
      outcomes: per rank, ``{'failed', 'stop_reason', 'error', 'traceback', 'at'}``;
        ``at`` is when the rank reached the end of the trial (the process that
        failed first gets there first, the others fail after it lets go).
    """
    failures = [(o['at'], rank, o) for rank, o in enumerate(outcomes) if o['failed']]
    if not failures:
        return result
    _, rank, first = min(failures, key=lambda f: (f[0], f[1]))
    result.status = spec.TrialStatus.FAILED
    result.stop_reason = first.get('stop_reason') or spec.StopReason.ERROR
    if result.stop_reason == spec.StopReason.DISK_FULL and result.disk_error is None:
        # Rank 0's disk is full: every process stops the sweep after this trial.
        result.disk_error = OSError(errno.ENOSPC, f'rank {rank}: {first["error"]}')
    result.error = f'rank {rank}: {first["error"]}'
    result.traceback = first['traceback']
    if len(failures) > 1:
        others = ', '.join(f'rank {r}: {o["error"]}' for _, r, o in sorted(failures) if r != rank)
        result.traceback = (result.traceback or '') + f'\nThen, as a consequence: {others}\n'
    return result


class AgreedTimer(SubmissionTimer):
    """Submission time agreed across processes, checked at steps every process computes alike.

    The single-process loop peeks at its local clock every step to decide
    when to synchronise; processes would decide differently and wait on each
    other's collectives. Here every check is *planned*: after each agreed
    reading, the next check is half the remaining time to the next eval (or
    the end of the budget) ahead, in steps, at the rate of the last agreed
    interval. Plans approach the due time geometrically (about log2 of the
    period over the step time checks per eval, each one device sync and one
    all-reduce of a float); an eval comes at most one step late.

    Args:
      agree_max: element-wise maximum over the processes.
    """

    def __init__(
        self,
        sync: Callable[[Any], None],
        clock: Callable[[], float],
        agree_max: Callable[[Sequence[float]], list[float]],
    ):
        super().__init__(sync, clock)
        self._agree_max = agree_max
        self._next_check = 1  # the first eval follows the first step
        self._planned = True
        self._step = 0  # the step at the latest look
        self._checked_step = 0  # and at the latest agreed reading
        self._checked_at = 0.0
        self._rate = 0.0  # steps per second of submission time, last interval

    def worth_checking(
        self, schedule: EvalSchedule, step: int, elapsed: float | None = None
    ) -> bool:
        del elapsed  # a local reading: every process would decide differently
        self._step = step
        if not self._planned:
            self._plan(schedule, step)
        return step >= self._next_check

    def stop(self, params: Any) -> float:
        self._sync(params)
        local = self.accumulated + (self.clock() - self._start)
        (self.accumulated,) = self._agree_max([local])
        steps, seconds = self._step - self._checked_step, self.accumulated - self._checked_at
        if steps > 0 and seconds > 0:
            self._rate = steps / seconds
        self._checked_step, self._checked_at = self._step, self.accumulated
        self._planned = False  # planned at the next look, once the schedule has moved on
        return self.accumulated

    def _plan(self, schedule: EvalSchedule, step: int) -> None:
        target = min(schedule.next_eval_at, schedule.budget_sec)
        ahead = math.floor((target - self.accumulated) * self._rate / 2)
        self._next_check = step + max(0, ahead)  # 0: check at this very step
        self._planned = True
