"""The trial watchdog: a submission that never returns ends its trial, not the sweep.

The trainer checks the budget between the submission's calls, so an endless
loop inside ``update_params`` (or ``data_selection``, ``prepare_for_eval``)
used to hang the sweep for ever. The watchdog arms a timer at the start of
every timed interval for the budget still left plus a grace; if the interval
is still running then, :class:`TrialTimeout` is raised in the trial's thread
and the trial ends ``failed`` (its rows kept, its error recorded), and the
sweep goes on with the next trial. A normal interval disarms it when it ends,
so the cost is two ``setitimer`` calls per eval period, none per step.

Mechanism: ``SIGALRM`` (``signal.setitimer``) with a handler that raises, not
a child process per trial. The trial shares with the runner its workload
(loaded data, compiled steps), its device and its recorder; a child process
would reload and recompile per trial, and forking after JAX started is
unsafe. The limit of this choice: a loop inside native code that never
returns to Python (a C extension spinning) is not interrupted; Ctrl-C and
SIGTERM still end the run. Off the main thread (where Python delivers
signals) the watchdog is off.

Policy (documented in docs/guides/hostile-trials.md): the grace is
``max(GRACE_MIN_SEC, GRACE_FRACTION * budget)``, 60 s at least, so that a
long first step (JAX compiling) that overruns a small budget still ends as
``budget`` rather than as a timeout. As in Ray Tune's ``time_budget_s``, the
budget itself is the trial's (``max_allowed_runtime_sec`` or
``--max_submission_time_sec``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# The smallest grace past the budget (s) and the fraction of the budget it grows with.
GRACE_MIN_SEC = 60.0
GRACE_FRACTION = 0.1


class TrialTimeout(BaseException):  # noqa: N818
    """The submission ran past the budget plus the grace: the watchdog ended the trial.

    A ``BaseException``, like ``KeyboardInterrupt``: a submission's own
    ``except Exception`` must not swallow it.
    """


def grace_sec(budget_sec: float) -> float:
    """How long past its budget a trial may run before the watchdog ends it."""
    return max(GRACE_MIN_SEC, GRACE_FRACTION * budget_sec)


class WatchedTimer:
    """A submission timer whose every timed interval is bounded by the budget left + grace."""

    def __init__(self, timer: Any, budget_sec: float):
        self._timer = timer
        self._budget = budget_sec
        self._grace = grace_sec(budget_sec)

    def __getattr__(self, name: str) -> Any:  # peek, worth_checking, clock, accumulated
        return getattr(self._timer, name)

    def start(self) -> None:
        self._timer.start()
        left = max(self._budget - self._timer.accumulated, 0.0) + self._grace
        signal.setitimer(signal.ITIMER_REAL, left)

    def stop(self, params: Any) -> float:
        accumulated = self._timer.stop(params)  # the device sync is covered too
        signal.setitimer(signal.ITIMER_REAL, 0)
        return accumulated


@contextlib.contextmanager
def watch(timer: Any, budget_sec: float) -> Iterator[Any]:
    """`timer` watched for the duration of the block (unwatched off the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not budget_sec > 0:
        yield timer
        return
    watched = WatchedTimer(timer, budget_sec)

    def fire(signum: int, frame: Any) -> None:
        del signum, frame
        raise TrialTimeout(
            f'the submission ran {watched._grace:g} s past the trial\'s budget of '
            f'{budget_sec:g} s without returning (an endless loop?); the watchdog ended the trial'
        )

    previous = signal.signal(signal.SIGALRM, fire)
    try:
        yield watched
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
