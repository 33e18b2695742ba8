"""What one trial runs and under which limits: :class:`TrialSpec` and :class:`TrialLimits`.

The sweep builds one spec from its ``RunConfig`` (``TrialSpec.for_sweep``)
and one per trial from it (:meth:`TrialSpec.for_trial`); the spec then
travels unchanged to whichever executor runs the trial (in this process, a
Ray task, ...) and into ``train_once``. Both are frozen and picklable (plain
values, no live objects), so a Ray worker gets exactly what the driver built.

The limits are copied from the config by field name (``TrialLimits``'s
fields are flags of the same name), so a new limit is one field here and one
flag, never a keyword passed through five layers.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class TrialLimits:
    """When a trial stops, how often it evaluates and reports (flags of the same names).

    Attributes:
      max_submission_time_sec: caps the budget below the workload's.
      max_global_steps: stops after this many steps (with a final eval).
      progress_interval_sec: wall seconds between progress lines (0: none between evals).
      eval_period_time_sec: overrides the workload's eval period (demos, debugging).
    """

    max_submission_time_sec: float | None = None
    max_global_steps: int | None = None
    progress_interval_sec: float = 10.0
    eval_period_time_sec: float | None = None
    # Checkpoints (training.checkpointing, docs/guides/checkpoints.md).
    checkpoint_interval_sec: float = 300.0
    keep_checkpoints: int = 1
    checkpoint_at_eval: bool = False

    @classmethod
    def from_config(cls, config: Any) -> TrialLimits:
        """The limits of a ``sweep.RunConfig`` (any object with attributes of these names)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class TrialRecording:
    """How a trial's files are written where its executor builds the recorder (a Ray task).

    Attributes:
      fsync: ``--fsync``: every row flushed to disk.
      telemetry_interval_sec: the sampler's interval.
      extra_metadata: ``--record_extra_metadata``, parsed.
      tensorboard_hparams: the searched hyperparameters (None without ``--tensorboard``).
    """

    fsync: bool = False
    telemetry_interval_sec: float = 1.0
    extra_metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tensorboard_hparams: list[str] | None = None


@dataclasses.dataclass(frozen=True)
class TrialSpec:
    """One trial: the workload, the submission, its hyperparameters and seed, paths, limits.

    A sweep-wide spec has ``run_idx`` 0; :meth:`for_trial` makes each trial's.
    """

    workload_name: str
    framework: str
    submission_path: str | None = None
    data_dir: str | None = None
    log_dir: str | None = None
    run_idx: int = 0
    hyperparameters: dict[str, Any] | None = None
    seed: int = 0
    limits: TrialLimits = TrialLimits()
    recording: TrialRecording = TrialRecording()

    @classmethod
    def for_sweep(cls, config: Any, framework: str, recording: TrialRecording) -> TrialSpec:
        """The spec every trial of a ``sweep.RunConfig``'s sweep shares (built once)."""
        return cls(
            workload_name=config.workload,
            framework=framework,
            submission_path=config.submission_path,
            data_dir=config.data_dir,
            log_dir=config.log_dir,
            limits=TrialLimits.from_config(config),
            recording=recording,
        )

    def for_trial(self, run_idx: int, hyperparameters: dict[str, Any] | None,
                  seed: int) -> TrialSpec:
        """This sweep's trial `run_idx` (numbered from 1)."""
        return dataclasses.replace(self, run_idx=run_idx, hyperparameters=hyperparameters,
                                   seed=seed)

    def with_absolute_paths(self) -> TrialSpec:
        """Paths made absolute: for a worker whose working directory is not the driver's."""

        def absolute(path: str | None) -> str | None:
            return os.path.abspath(path) if path else path

        return dataclasses.replace(
            self,
            submission_path=absolute(self.submission_path),
            data_dir=absolute(self.data_dir),
            log_dir=absolute(self.log_dir),
        )


@dataclasses.dataclass(frozen=True)
class TrialHooks:
    """What a trial reports to and measures with, in the process that runs it (not picklable).

    Attributes:
      progress: receives the per-eval lines and the progress lines between evals.
      clock: monotonic seconds; injectable for tests.
      processes: the run's processes (``training.processes``); None: this one.
    """

    progress: Callable[[str], None] = logging.info
    clock: Callable[[], float] = time.perf_counter
    processes: Any = None
    checkpoints: Any = None  # training.checkpointing.TrialCheckpoints (None: none)
