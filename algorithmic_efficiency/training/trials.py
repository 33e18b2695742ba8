"""The trial loop of a sweep: every trial's seed, its recording, and the sweep's result.

:func:`run_sweep` is the one loop: it reads back the trials finished
earlier (``--resume``) and hands every other :class:`~.trial_spec.TrialSpec`
to a :class:`~.executors.TrialExecutor`, which runs it where it runs (this
process, a Ray task) and reports its :class:`~.results.TrialResult`.
:func:`run_trial` is one trial with its recording, wherever it runs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.recording import std_streams
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training import checkpointing, exit_guard, working_dir
from algorithmic_efficiency.training.processes import SingleProcess, finish_trial
from algorithmic_efficiency.training.results import (
    SweepResult,
    TrialInterrupted,
    TrialResult,
    trial_from_info,
)
from algorithmic_efficiency.training.trainer import train_once
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialSpec


def _finish_trial(recorder: Any, trial_log: Any, result: TrialResult) -> None:
    """Records how the trial ended; on a full disk, as far as the disk allows."""
    try:
        recorder.finish_trial(trial_log, result)
    except OSError as e:
        if result.disk_error is None or not files.is_disk_full(e):
            raise
        # trial.json could not be rewritten: it still says 'running', so --resume re-runs it.
        trial_log.close()


def trial_specs(
    sweep_spec: TrialSpec, trials: Sequence[dict[str, Any] | None], rng_seed: int
) -> list[TrialSpec]:
    """One spec per trial (``run_idx`` from 1), each with its seed derived from `rng_seed`."""
    return [
        sweep_spec.for_trial(run_idx, hyperparameters, trial_seed(rng_seed, run_idx))
        for run_idx, hyperparameters in enumerate(trials, start=1)
    ]


def run_sweep(
    executor: Any,
    specs: Sequence[TrialSpec],
    recorder: Any = None,
    skip: Sequence[int] = (),
    progress: Callable[[str], None] = logging.info,
) -> SweepResult:
    """Runs every trial not in `skip` on `executor` and scores the sweep.

    Args:
      executor: a :class:`~.executors.TrialExecutor` (entered by the caller).
      specs: the sweep's trials, in ``run_idx`` order (:func:`trial_specs`).
      recorder: a ``recording.recorder.Recorder`` or ``None``: where finished trials
        are read back from.
      skip: trials already finished (``--resume``); read back from the recorder.
    """
    done: dict[int, TrialResult] = {}
    for trial in specs:
        if trial.run_idx in skip:
            progress(f'{trial.workload_name} trial {trial.run_idx}/{len(specs)}: '
                     'finished earlier, skipped')
            # Only rank 0 of several processes has the files (and the recorder).
            info = recorder.trial_info(trial.run_idx) if recorder else {'run_idx': trial.run_idx}
            done[trial.run_idx] = trial_from_info(info)
        else:
            executor.submit(trial)
    done.update(executor.results())
    return SweepResult([done[i] for i in sorted(done)])


def trial_seed(rng_seed: int, run_idx: int) -> int:
    """Trial `run_idx`'s seed, wherever it runs (here or in a Ray task)."""
    return seeds.derive_seed(rng_seed, 'trial', run_idx)


def run_trial(
    workload: spec.Workload,
    submission: Any,
    trial: TrialSpec,
    recorder: Any = None,
    hooks: TrialHooks | None = None,
) -> TrialResult:
    """One trial, recorded through `recorder` (``start_trial``/``finish_trial``) if given.

    An executor runs it for each trial it is given (in this process or in a
    Ray task). With several processes (``hooks.processes``), all run it
    together and agree on its result before rank 0 records it.
    """
    hooks = hooks or TrialHooks()
    processes = hooks.processes or SingleProcess()
    checkpoints, keep_rows = (checkpointing.prepare(recorder, trial)
                              if processes.world_size == 1 else (None, None))
    if keep_rows is not None:  # continues from a checkpoint: its rows up to there stay
        recorder.keep_rows_through[trial.run_idx] = keep_rows
    trial_log = (recorder.start_trial(trial.run_idx, trial.hyperparameters, trial.seed)
                 if recorder else None)
    if checkpoints is not None:
        hooks = dataclasses.replace(hooks, checkpoints=checkpoints)
        if keep_rows is not None:
            checkpointing.note_resume(trial_log.run_dir, keep_rows)
    try:
        processes.begin_trial()
        with exit_guard.guard():  # the submission's os._exit fails the trial, not the runner
            result = train_once(workload, submission, trial, trial_log, hooks)
        # Lets go of the trial's communicators first: a process still waiting
        # in one of them then fails at once instead of at its timeout.
        result = finish_trial(processes, result)
        std_streams.restore()  # the submission may have closed stdout/stderr
        working_dir.restore()  # or changed the working directory
    except TrialInterrupted as interrupted:  # Ctrl-C: record it, then stop the sweep
        if recorder:
            _finish_trial(recorder, trial_log, interrupted.result)
        raise
    except BaseException:  # anything else: stop the sampler; trial.json stays 'running'
        if trial_log is not None:
            trial_log.close()
        raise
    if recorder:
        _finish_trial(recorder, trial_log, result)
    return result
