"""The sweep's input: :class:`RunConfig` (the runner's flags as typed values) and its checks.

Every check here runs before anything is written: bad input is one ``UsageError`` line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from algorithmic_efficiency.errors import UsageError as UsageError  # re-exported
from algorithmic_efficiency.search import spaces
from algorithmic_efficiency.sweep import flag_checks
from algorithmic_efficiency.workloads import registry


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a sweep is asked to do: the runner's flags as typed values.

    Field names are the flag names (``metadata.json`` records them under
    ``flags``); defaults are the flags' defaults.
    """

    framework: str | None = None
    workload: str | None = None
    submission_path: str | None = None
    tuning_ruleset: str = 'external'
    tuning_search_space: str | None = None
    num_tuning_trials: int = 20
    search_algorithm: str = 'halton'
    data_dir: str | None = None
    log_dir: str | None = None
    record_extra_metadata: tuple = ()
    rng_seed: int | None = None
    max_global_steps: int | None = None
    max_submission_time_sec: float | None = None
    overwrite: bool = False
    resume: bool = False
    fsync: bool = False
    telemetry_interval_sec: float = 1.0
    summary: bool = True
    tensorboard: bool = False
    num_devices: int | None = None  # README "Multiple devices"; None: every visible one
    # Ray (README "Running on a Ray cluster"); unset ray_address: in this process.
    ray_address: str | None = None
    ray_storage: str = 'shared'
    trial_resources: str | None = None
    max_concurrent_trials: int | None = None
    trial_retries: int = 1
    num_studies: int = 1
    progress_interval_sec: float = 10.0
    eval_period_time_sec: float | None = None
    checkpoint_interval_sec: float = 300.0
    keep_checkpoints: int = 1
    checkpoint_at_eval: bool = False

    def __post_init__(self):
        # absl hands over lists; a frozen config holds tuples.
        object.__setattr__(self, 'record_extra_metadata', tuple(self.record_extra_metadata or ()))


# The runner's flags, in metadata.json's order.
RUNNER_FLAGS = tuple(field.name for field in dataclasses.fields(RunConfig))
# Recorded under metadata.json's flags only for a Ray sweep (in-process files stay as they were).
RAY_FLAGS = ('ray_address', 'ray_storage', 'trial_resources', 'max_concurrent_trials',
             'trial_retries')  # fmt: skip
# The flags naming files or directories: recorded without the user's home directory.
PATH_FLAGS = ('submission_path', 'tuning_search_space', 'data_dir', 'log_dir')


@dataclasses.dataclass(frozen=True)
class CheckedInputs:
    """What :func:`check_config` derives from a valid config."""

    framework: str
    search_space: spaces.SearchSpace | None  # None with --tuning_ruleset=self
    extra: dict[str, str]  # --record_extra_metadata, parsed
    ray: Any = None  # distributed.options.RayOptions, None: trials run in this process


def _framework(config: RunConfig) -> str:
    """The framework asked for, or the workload's own; checked against the workload."""
    if not config.workload:
        raise UsageError(f"--workload is required; known: {', '.join(registry.WORKLOADS)}")
    framework = (
        config.framework
        or registry.WORKLOADS.get(config.workload, registry.WorkloadEntry('', 'jax')).framework
    )
    registry.check_workload(config.workload, framework)
    return framework


def _search_space(config: RunConfig) -> spaces.SearchSpace | None:
    """The parsed --tuning_search_space (external ruleset); None for self-tuning."""
    if config.tuning_ruleset != 'external':
        if config.tuning_search_space:
            raise UsageError(
                '--tuning_search_space is for --tuning_ruleset=external; with self the '
                'submission tunes itself'
            )
        return None
    if not config.tuning_search_space:
        raise UsageError(
            '--tuning_search_space is required with --tuning_ruleset=external '
            '(e.g. baselines/mnist/tuning_search_space.json)'
        )
    space = spaces.load_search_space(config.tuning_search_space)
    if space.fixed_trials is not None:
        # A list of points: asking for more trials than it holds is bad input,
        # refused now, before the data is loaded or anything written.
        spaces.generate_trials(space, config.num_tuning_trials, 0, config.search_algorithm)
    return space


def check_config(config: RunConfig) -> CheckedInputs:
    """Checks every input that needs neither the submission nor the log directory.

    Raises:
      AEError: ``UsageError`` or ``SearchSpaceError``; one line naming the
        value and the fix.
    """
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import recorder

    if config.overwrite and config.resume:
        raise UsageError('--overwrite and --resume exclude each other; pick one')
    flag_checks.check_numeric_flags(config)
    if config.num_studies < 1:
        raise UsageError(f'--num_studies must be at least 1, got {config.num_studies}')
    flag_checks.NUM_STUDIES.check(config.num_studies)
    framework = _framework(config)
    search_space = _search_space(config)
    if not config.progress_interval_sec >= 0:
        raise UsageError(
            f'--progress_interval_sec must be 0 (no progress lines) or positive, got '
            f'{config.progress_interval_sec}'
        )
    if config.eval_period_time_sec is not None and not config.eval_period_time_sec > 0:
        raise UsageError(
            f'--eval_period_time_sec must be positive, got {config.eval_period_time_sec}; '
            "omit it to follow the workload's eval period"
        )
    if not config.checkpoint_interval_sec >= 0:
        raise UsageError(
            f'--checkpoint_interval_sec must be 0 (no periodic checkpoints) or positive, got '
            f'{config.checkpoint_interval_sec}'
        )
    if config.keep_checkpoints < 1:
        raise UsageError(f'--keep_checkpoints must be at least 1, got {config.keep_checkpoints}')
    extra = recorder.parse_extra_metadata(config.record_extra_metadata)
    return CheckedInputs(framework, search_space, extra, _ray_options(config))


def _ray_options(config: RunConfig) -> Any:
    """The checked Ray flags (None: in this process); Ray itself is imported only if asked."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.distributed import cluster, options

    try:
        ray_options = options.check_options(
            config.ray_address,
            config.ray_storage,
            config.trial_resources,
            config.max_concurrent_trials,
            config.trial_retries,
        )
        if ray_options is not None:
            cluster.import_ray()  # not installed: one line naming the install command
    except ValueError as e:
        # Both only check the Ray flags (and that ray imports): their errors are bad input.
        if isinstance(e, UsageError):
            raise
        raise UsageError(str(e)) from e
    return ray_options


