"""The trial loop of a sweep: every trial's seed, its recording, and the sweep's result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.recording import std_streams, working_dir
from algorithmic_efficiency.search import seeds as random_utils
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training import exit_guard
from algorithmic_efficiency.training.processes import SingleProcess, finish_trial
from algorithmic_efficiency.training.results import (
    SweepResult,
    TrialInterrupted,
    TrialResult,
    trial_from_info,
)
from algorithmic_efficiency.training.trainer import train_once


def _finish_trial(recorder: Any, trial_log: Any, result: TrialResult) -> None:
    """Records how the trial ended; on a full disk, as far as the disk allows."""
    try:
        recorder.finish_trial(trial_log, result)
    except OSError as e:
        if result.disk_error is None or not files.is_disk_full(e):
            raise
        # trial.json could not be rewritten: it still says 'running', so --resume re-runs it.
        trial_log.close()


def score_submission_on_workload(
    workload: spec.Workload,
    workload_name: str,
    framework: str,
    submission: Any,
    trials: Sequence[dict[str, Any] | None],
    rng_seed: int,
    data_dir: str | None = None,
    recorder: Any = None,
    skip: Sequence[int] = (),
    progress: Callable[[str], None] = logging.info,
    **train_kwargs: Any,
) -> SweepResult:
    """Runs every trial (``run_idx`` from 1) and scores the sweep.

    Args:
      trials: one hyperparameter dict per trial (``None`` for self-tuning).
      rng_seed: the sweep's seed; trial ``i`` gets ``derive_seed(rng_seed, 'trial', i)``.
      recorder: a ``recording.recorder.Recorder`` or ``None`` (record nothing).
      skip: trials already finished (``--resume``); read back from the recorder.
      **train_kwargs: passed to :func:`~.trainer.train_once` (caps, clock).
    """
    results: list[TrialResult] = []
    for run_idx, hyperparameters in enumerate(trials, start=1):
        if run_idx in skip:
            progress(f'{workload_name} trial {run_idx}/{len(trials)}: finished earlier, skipped')
            # Only rank 0 of several processes has the files (and the recorder).
            info = recorder.trial_info(run_idx) if recorder else {'run_idx': run_idx}
            results.append(trial_from_info(info))
            continue
        seed = trial_seed(rng_seed, run_idx)
        progress(
            f'{workload_name} trial {run_idx}/{len(trials)}: seed {seed}, '
            f'hyperparameters {hyperparameters}'
        )
        result = run_trial(
            workload,
            workload_name,
            framework,
            submission,
            hyperparameters,
            run_idx,
            seed,
            data_dir=data_dir,
            recorder=recorder,
            progress=progress,
            **train_kwargs,
        )
        results.append(result)
        if result.disk_error is not None:
            # Every later trial would fail the same way: stop; --resume continues.
            raise result.disk_error
    return SweepResult(results)


def trial_seed(rng_seed: int, run_idx: int) -> int:
    """Trial `run_idx`'s seed, wherever it runs (here or in a Ray task)."""
    return random_utils.derive_seed(rng_seed, 'trial', run_idx)


def run_trial(
    workload: spec.Workload,
    workload_name: str,
    framework: str,
    submission: Any,
    hyperparameters: dict[str, Any] | None,
    run_idx: int,
    seed: int,
    data_dir: str | None = None,
    recorder: Any = None,
    progress: Callable[[str], None] = logging.info,
    processes: Any = None,
    **train_kwargs: Any,
) -> TrialResult:
    """One trial, recorded through `recorder` (``start_trial``/``finish_trial``) if given.

    The loop above runs it for each trial; a Ray task runs it for its one trial.
    With several processes (``processes``), all run it together and agree on
    its result before rank 0 records it.
    """
    processes = processes or SingleProcess()
    trial_log = recorder.start_trial(run_idx, hyperparameters, seed) if recorder else None
    try:
        processes.begin_trial()
        with exit_guard.guard():  # the submission's os._exit fails the trial, not the runner
            result = train_once(
                workload,
                workload_name,
                framework,
                submission,
                hyperparameters,
                run_idx,
                seed,
                data_dir=data_dir,
                trial_log=trial_log,
                progress=progress,
                processes=processes,
                **train_kwargs,
            )
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
