"""When a trial evaluates and when it stops, and how its submission time is measured.

Two small explicit objects, in the spirit of clu's ``PeriodicAction`` (periodic
work is declared, and time is injected rather than slept in tests):

* :class:`SubmissionTimer` accounts submission time: intervals between
  :meth:`~SubmissionTimer.start` and :meth:`~SubmissionTimer.stop`, with the
  device synchronised before every accounted reading and an unsynchronised
  :meth:`~SubmissionTimer.peek` for deciding when to synchronise.
* :class:`EvalSchedule` decides, from submission time and the step: the first
  eval follows the first step, each next one is due ``period_sec`` of
  submission time after the previous one, and the trial ends at the budget or
  at the step cap. Between evals it also asks for a *tick* every ``tick_sec``
  of submission time: an untimed look for the progress line and the heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class SubmissionTimer:
    """Accumulated submission time, read only after synchronising the device.

    Args:
      sync: blocks until the device has finished the work queued for its
        argument (``Workload.sync_device``).
      clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self, sync: Callable[[Any], None], clock: Callable[[], float] = time.perf_counter
    ):
        self.clock = clock
        self._sync = sync
        self._start = 0.0
        self.accumulated = 0.0

    def start(self) -> None:
        """Starts an accounted interval (the device must have no queued work)."""
        self._start = self.clock()

    def peek(self) -> float:
        """Submission time so far *without* synchronising: a lower bound, never accounted."""
        return self.accumulated + (self.clock() - self._start)

    def worth_checking(
        self, schedule: EvalSchedule, step: int, elapsed: float | None = None
    ) -> bool:
        """Whether an eval or the end of the budget may be due: worth a synchronised reading.

        One process looks at its unsynchronised clock (``elapsed``, a
        :meth:`peek` the caller already took, else one now; ``step`` is
        unused); ``processes.AgreedTimer`` plans by step instead.
        """
        del step
        return schedule.near(self.peek() if elapsed is None else elapsed)

    def stop(self, params: Any) -> float:
        """Synchronises on ``params``, ends the interval and returns the accumulated time."""
        self._sync(params)
        self.accumulated += self.clock() - self._start
        return self.accumulated


class EvalSchedule:
    """The eval schedule and the stop rules of budget and step cap.

    Args:
      period_sec: submission time from one eval to the next.
      budget_sec: the trial's submission-time budget.
      max_steps: end the trial after this many steps (``None``: no cap).
      tick_sec: submission time between ticks (``None``: no ticks).
    """

    def __init__(
        self,
        period_sec: float,
        budget_sec: float,
        max_steps: int | None = None,
        tick_sec: float | None = None,
    ):
        self.period_sec = period_sec
        self.budget_sec = budget_sec
        self.max_steps = max_steps
        self.tick_sec = tick_sec
        self.next_eval_at = 0.0  # the first eval is due at once, i.e. after the first step
        self.next_tick_at = 0.0 if tick_sec else float('inf')
        self._look_now = False  # look_now() was called: every step looks
        # near()'s one comparison per step: the earliest of eval, tick and budget.
        self._threshold = min(self.next_eval_at, budget_sec)

    def capped(self, step: int) -> bool:
        """The step cap is reached."""
        return self.max_steps is not None and step >= self.max_steps

    def near(self, elapsed: float) -> bool:
        """An eval or the end of the budget may be due: worth synchronising to know."""
        return elapsed >= self._threshold

    def spent(self, accumulated: float) -> bool:
        """The budget is used up."""
        return accumulated >= self.budget_sec

    def due(self, accumulated: float) -> bool:
        """An eval is due."""
        return accumulated >= self.next_eval_at

    def tick_due(self, accumulated: float) -> bool:
        """A tick (progress line, heartbeat) is due."""
        return accumulated >= self.next_tick_at

    def evaluated(self, accumulated: float) -> None:
        """An eval ran at ``accumulated``: the next one is due a period later (a tick too)."""
        self.next_eval_at = accumulated + self.period_sec
        self.ticked(accumulated)

    def look_now(self) -> None:
        """The next :meth:`near` is True (a preemption signal wants the loop's checks)."""
        self._look_now = True
        self._threshold = float('-inf')

    def restore(self, next_eval_at: float, next_tick_at: float) -> None:
        """Continues a checkpointed schedule (``training.checkpointing``)."""
        self.next_eval_at, self.next_tick_at = next_eval_at, next_tick_at
        self._threshold = (float('-inf') if self._look_now
                           else min(self.next_eval_at, self.next_tick_at, self.budget_sec))

    def ticked(self, accumulated: float) -> None:
        """A tick ran at ``accumulated``: the next one is due ``tick_sec`` later."""
        if self.tick_sec:
            self.next_tick_at = accumulated + self.tick_sec
        self._threshold = (float('-inf') if self._look_now
                           else min(self.next_eval_at, self.next_tick_at, self.budget_sec))
