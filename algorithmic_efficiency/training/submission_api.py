"""How the trial loop calls a submission: the parts of the API adopted from the peer's.

* ``get_batch_size`` gets the framework-free workload name (``'mnist'``), and
  the full one (``'mnist_jax'``) only if that raises ``KeyError``/``ValueError``
  (submissions written for this runner before it adopted the peer's name).
* ``update_params`` gets ``train_state`` only if it declares that parameter
  (decided once per trial, as the peer's runner does).
* ``prepare_for_eval`` is optional.
* Hyperparameters arrive as ``compat.Hyperparameters`` (attributes and mapping).

:class:`TrainState` is the read-only ``train_state`` mapping and the loop's
writer of it.
"""

from __future__ import annotations

import inspect
import numbers
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.errors import UsageError


def batch_size(submission: Any, workload_name: str) -> int:
    """The submission's global batch size for a workload (see the module docstring)."""
    base = spec.submission_workload_name(workload_name)
    try:
        return checked_batch_size(submission.get_batch_size(base), base)
    except (KeyError, ValueError):
        if base == workload_name:
            raise
    return checked_batch_size(submission.get_batch_size(workload_name), workload_name)


def checked_batch_size(value: Any, name: str) -> int:
    """`value` if it is a positive integer; else UsageError naming it and the fix.

    ``int()`` used to truncate ``12.5`` silently and accept ``"1024"``, and a
    ``0`` failed later as a raw ``ZeroDivisionError``.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return int(value)
    raise UsageError(
        f"get_batch_size('{name}') returned {value!r} ({type(value).__name__}); it must "
        'return a positive int, e.g. 1024'
    )


def accepts_train_state(update_params: Callable) -> bool:
    """Whether ``update_params`` declares a ``train_state`` parameter (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(update_params).parameters
    except (TypeError, ValueError):  # not introspectable (a builtin, a C extension)
        return False
    return 'train_state' in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def params_types(workload: spec.Workload) -> Any:
    """``workload.model_params_types``, or None for a workload that sets none."""
    try:
        return workload.model_params_types
    except (ValueError, NotImplementedError):
        return None


def prepare_for_eval(submission: Any) -> Callable | None:
    """The submission's optional ``prepare_for_eval``, or None."""
    fn = getattr(submission, 'prepare_for_eval', None)
    return fn if callable(fn) else None


class TrainState:
    """The trial's ``train_state``: the peer's keys, read-only to the submission.

    ``view`` is what ``update_params`` receives (a ``MappingProxyType``: it sees
    updates, cannot make them). The loop writes ``accumulated_submission_time``
    after every step from its unsynchronised look at the clock, and everything
    at each eval.
    """

    def __init__(self) -> None:
        self._state: dict[str, Any] = {
            'validation_goal_reached': False,
            'test_goal_reached': False,
            'is_time_remaining': True,
            'last_eval_time': 0.0,
            'training_complete': False,
            'accumulated_submission_time': 0.0,
            'accumulated_eval_time': 0.0,
            'accumulated_logging_time': 0.0,
            'last_step_end_time': time.time(),
        }
        self.view: Mapping[str, Any] = types.MappingProxyType(self._state)

    def restore(self, saved: Mapping[str, Any]) -> None:
        """A checkpoint's values (``training.checkpointing``): the view sees them."""
        self._state.update(saved)

    def stepped(self, elapsed: float) -> None:
        """After a step: the unsynchronised submission time (exact at evals)."""
        self._state['accumulated_submission_time'] = elapsed

    def evaluated(
        self, accumulated: float, eval_time: float, goal: bool, budget_left: bool, done: bool
    ) -> None:
        """After an eval: exact time, the goal (one eval split: both goals), the stop rules."""
        now = time.time()
        state = self._state
        state['accumulated_submission_time'] = accumulated
        state['accumulated_eval_time'] += eval_time
        state['validation_goal_reached'] = state['validation_goal_reached'] or goal
        state['test_goal_reached'] = state['test_goal_reached'] or goal
        state['is_time_remaining'] = budget_left
        state['training_complete'] = done
        state['last_eval_time'] = now
        state['last_step_end_time'] = now
