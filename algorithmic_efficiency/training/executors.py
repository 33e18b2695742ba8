"""Where trials run: the :class:`TrialExecutor` protocol and :class:`InProcessExecutor`.

The sweep (``sweep.core``) has one path: it enters an executor, writes
``metadata.json`` with the executor's part (:meth:`TrialExecutor.metadata`),
and hands :func:`~.trials.run_sweep` the executor and the sweep's
:class:`~.trial_spec.TrialSpec` list. An executor takes specs
(:meth:`~TrialExecutor.submit`) and reports every submitted trial's
:class:`~.results.TrialResult` (:meth:`~TrialExecutor.results`).

Implementations:

* :class:`InProcessExecutor` (here): each trial runs at ``submit``, in this
  process, on the workload object the sweep loaded once;
* ``distributed.scheduler.RayExecutor`` (``--ray_address``): Ray actors, one
  per concurrent trial, each serving several trials; ``results`` waits for them;
* ``distributed.local_pool.LocalPoolExecutor`` (``--max_concurrent_trials``
  without Ray): N capped local worker processes, each serving several trials.

A new way to run trials (a local process pool, say) is a new class with these
four methods, and one more choice in ``sweep.core``'s executor factory.
"""

from __future__ import annotations

from typing import Any, Protocol

from algorithmic_efficiency import spec
from algorithmic_efficiency.training.results import TrialResult
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialSpec
from algorithmic_efficiency.training.trials import run_trial


class TrialExecutor(Protocol):
    """Runs trial specs and reports their results; a context manager (connect, release)."""

    def __enter__(self) -> TrialExecutor: ...

    def __exit__(self, *exc_info: Any) -> None: ...

    def metadata(self) -> dict[str, Any]:
        """What the executor adds to ``metadata.json`` (``{}``: nothing)."""
        ...

    def submit(self, trial: TrialSpec) -> None:
        """Starts (or queues) one trial."""
        ...

    def results(self) -> dict[int, TrialResult]:
        """Every submitted trial's result by ``run_idx``, once all have ended."""
        ...


class InProcessExecutor:
    """Trials one after the other in this process (and its ``torchrun`` peers).

    ``submit`` runs the trial: its progress lines and files come in
    ``run_idx`` order, and a full disk stops the sweep right after the trial
    that hit it (``--resume`` continues).
    """

    def __init__(self, workload: spec.Workload, submission: Any, num_trials: int,
                 recorder: Any = None, hooks: TrialHooks | None = None):
        self.workload = workload
        self.submission = submission
        self.num_trials = num_trials
        self.recorder = recorder
        self.hooks = hooks or TrialHooks()
        self._results: dict[int, TrialResult] = {}

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Nothing to release."""

    def metadata(self) -> dict[str, Any]:
        return {}

    def submit(self, trial: TrialSpec) -> None:
        self.hooks.progress(
            f'{trial.workload_name} trial {trial.run_idx}/{self.num_trials}: seed {trial.seed}, '
            f'hyperparameters {trial.hyperparameters}'
        )
        result = run_trial(self.workload, self.submission, trial, self.recorder, self.hooks)
        self._results[trial.run_idx] = result
        if result.disk_error is not None:
            # Every later trial would fail the same way: stop; --resume continues.
            raise result.disk_error

    def results(self) -> dict[int, TrialResult]:
        return dict(self._results)
