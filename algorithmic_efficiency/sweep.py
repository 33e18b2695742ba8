"""The sweep: a validated :class:`RunConfig` in, trials run and recorded, an exit code out.

``submission_runner.py`` turns flags into a ``RunConfig`` and calls :func:`run`;
tests and other programs can do the same without absl. Library code below
this point never reads flags.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.metadata
import logging
import os
from typing import Any

from algorithmic_efficiency import compat, flag_checks, spec, submission_import
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.search import spaces as search
from algorithmic_efficiency.training import submission_api
from algorithmic_efficiency.workloads import preload, registry

FRAMEWORK_PACKAGES = {'jax': ('jax', 'jaxlib', 'flax', 'optax'), 'pytorch': ('torch',)}


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
    # Ray (README "Running on a Ray cluster"); unset ray_address: in this process.
    ray_address: str | None = None
    ray_storage: str = 'shared'
    trial_resources: str | None = None
    max_concurrent_trials: int | None = None
    trial_retries: int = 1
    num_studies: int = 1
    progress_interval_sec: float = 10.0
    eval_period_time_sec: float | None = None

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


class UsageError(ValueError):
    """Bad input: printed as one line, exit code 2."""


def load_submission(path: str, framework: str | None = None) -> Any:
    """Imports a submission file and checks it defines the four functions.

    AlgoPerf submissions load unchanged: ``import algoperf`` reaches this
    project's layer unless the real package is installed (``compat.prepare``).
    A ``jax.pmap`` submission is refused before it is imported.
    """
    if not path:
        raise UsageError(
            '--submission_path is required (e.g. baselines/mnist/mnist_jax/submission.py)'
        )
    if not os.path.isfile(path):
        raise UsageError(f"--submission_path '{path}' is not a file")
    with open(path, encoding='utf-8', errors='replace') as f:
        pmap_line = compat.checks.find_pmap(f.read())
    if pmap_line is not None:
        raise UsageError(compat.checks.pmap_message(path, pmap_line))
    compat.prepare(framework)  # `import algoperf` resolves (unless the real one is installed)
    module = submission_import.import_submission(path, UsageError)
    missing = [f for f in spec.SUBMISSION_FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise UsageError(
            f"submission '{path}' does not define {', '.join(missing)}; a submission "
            f"defines {', '.join(spec.SUBMISSION_FUNCTIONS)}"
        )
    return module


def package_versions(names) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


@dataclasses.dataclass(frozen=True)
class CheckedInputs:
    """What :func:`check_config` derives from a valid config."""

    framework: str
    search_space: search.SearchSpace | None  # None with --tuning_ruleset=self
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


def _search_space(config: RunConfig) -> search.SearchSpace | None:
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
    space = search.load_search_space(config.tuning_search_space)
    if space.fixed_trials is not None:
        # A list of points: asking for more trials than it holds is bad input,
        # refused now, before the data is loaded or anything written.
        search.generate_trials(space, config.num_tuning_trials, 0, config.search_algorithm)
    return space


def check_config(config: RunConfig) -> CheckedInputs:
    """Checks every input that needs neither the submission nor the log directory.

    Raises:
      ValueError: ``UsageError``, the registry's and the search space's
        errors; one line naming the value and the fix.
    """
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import recorder as recording

    if config.overwrite and config.resume:
        raise UsageError('--overwrite and --resume exclude each other; pick one')
    flag_checks.check_numeric_flags(config)
    if config.num_studies < 1:
        raise UsageError(f'--num_studies must be at least 1, got {config.num_studies}')
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
    extra = recording.parse_extra_metadata(config.record_extra_metadata)
    return CheckedInputs(framework, search_space, extra, _ray_options(config))


def _ray_options(config: RunConfig) -> Any:
    """The checked Ray flags (None: in this process); Ray itself is imported only if asked."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.distributed import cluster, options

    ray_options = options.check_options(
        config.ray_address,
        config.ray_storage,
        config.trial_resources,
        config.max_concurrent_trials,
        config.trial_retries,
    )
    if ray_options is not None:
        cluster.import_ray()  # not installed: one line naming the install command
    return ray_options


def _prepare_environment(framework: str) -> None:
    """Environment variables the frameworks read once, at import: set before the submission."""
    # CUDA numbers GPUs fastest-first by default, NVML by PCI bus: with this the
    # gpu.<i> columns and the framework's device i are the same card.
    os.environ.setdefault('CUDA_DEVICE_ORDER', 'PCI_BUS_ID')
    if framework == 'jax':
        # Before anything imports JAX (the submission does). JAX would grab
        # ~75 % of GPU memory up front, which makes the memory columns
        # meaningless; allocate on demand unless the user decided otherwise.
        os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')


def _tensorboard_hparams(
    config: RunConfig, search_space: search.SearchSpace | None
) -> list[str] | None:
    """The searched hyperparameters for TensorBoard's HParams view (None without --tensorboard)."""
    if not config.tensorboard:
        return None
    if not config.log_dir:
        raise UsageError('--tensorboard writes into --log_dir; give a --log_dir')
    try:
        # pylint: disable=import-outside-toplevel
        from algorithmic_efficiency.recording.tb import events as tb_writer
    except ModuleNotFoundError as e:
        raise UsageError(
            f"--tensorboard needs the '{e.name}' package; install it with: "
            "pip install -e '.[tensorboard]'"
        ) from e
    return tb_writer.searched_hparams(search_space.to_json() if search_space else None)


def _open_recorder(
    config: RunConfig, inputs: CheckedInputs, tensorboard_hparams: list[str] | None
) -> Any:
    """A ``Recorder`` for --log_dir (None without one); checks the directory, writes nothing."""
    if not config.log_dir:
        return None
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import recorder as recording

    recorder = recording.Recorder(
        config.log_dir,
        config.workload,
        mode='overwrite' if config.overwrite else 'resume' if config.resume else 'new',
        fsync=config.fsync,
        telemetry_interval_sec=config.telemetry_interval_sec,
        extra_metadata=inputs.extra,
        tensorboard_hparams=tensorboard_hparams,
    )
    # Before the check: two runners can't both find the directory free.
    recorder.lock()
    try:
        recorder.check()
    except BaseException:
        recorder.unlock()
        raise
    return recorder


def _sweep_seed(
    config: RunConfig, recorder: Any, search_space: search.SearchSpace | None
) -> int:
    """--rng_seed; a resumed sweep's own (a different one is refused); else a fresh one."""
    rng_seed = config.rng_seed
    previous = recorder.previous_metadata() if recorder and recorder.mode == 'resume' else None
    if previous is not None:
        if rng_seed is not None and rng_seed != previous.get('rng_seed'):
            raise UsageError(
                f"--rng_seed={rng_seed} differs from the resumed sweep's "
                f"{previous.get('rng_seed')}; omit --rng_seed to resume it"
            )
        if search_space is not None and previous.get('search_space') != search_space.to_json():
            raise UsageError(
                f"--tuning_search_space {config.tuning_search_space} differs from the "
                'resumed sweep\'s; resume with the same file or use a new --log_dir'
            )
        _check_same_budget(config, previous)
        rng_seed = previous.get('rng_seed')
    if rng_seed is None:
        rng_seed = seeds.draw_seed()
        logging.info('No --rng_seed given: drew %d (recorded in metadata.json)', rng_seed)
    return rng_seed


# Flags that set a trial's budget, its caps or its evals: one sweep has one value of each.
SAME_ON_RESUME = ('max_submission_time_sec', 'max_global_steps')


def _check_same_budget(config: RunConfig, previous: dict[str, Any]) -> None:
    """Refuses a --resume whose budget, caps or eval period differ from the original sweep's."""
    flags_before = previous.get('flags') if isinstance(previous.get('flags'), dict) else {}
    for name in SAME_ON_RESUME:
        if name in flags_before and flags_before[name] != getattr(config, name):
            before = flags_before[name]
            fix = f'omit --{name}' if before is None else f'resume with --{name}={before}'
            raise UsageError(
                f'--{name}={getattr(config, name)} differs from the resumed sweep\'s '
                f'{before}; one sweep has one budget: {fix}, or use a new --log_dir'
            )


def trial_list(
    config: RunConfig, search_space: search.SearchSpace | None, rng_seed: int
) -> list[dict[str, Any] | None]:
    """The sweep's trials: hyperparameters drawn from the space, or one ``None`` (self-tuning)."""
    if config.tuning_ruleset == 'self':
        return [None]
    return search.generate_trials(
        search_space,
        config.num_tuning_trials,
        seeds.derive_seed(rng_seed, 'search'),
        config.search_algorithm,
    )


def _check_one_batch(workload: spec.Workload, submission: Any, config: RunConfig) -> None:
    """Refuses training data smaller than one of the submission's batches (exit 2)."""
    try:
        batch_size = submission_api.batch_size(submission, config.workload)
    except Exception:  # noqa: BLE001  (the trial reports the submission's own failure)
        return
    available = workload.num_train_examples
    if available < max(batch_size, 1):
        raise UsageError(
            f'the training data ({config.data_dir or "embedded sample"}) holds {available} '
            f'examples, fewer than one batch of {batch_size}; give a --data_dir with more data'
        )


def _write_sweep_files(
    recorder: Any,
    config: RunConfig,
    inputs: CheckedInputs,
    workload: spec.Workload,
    rng_seed: int,
    num_trials: int,
    data_info: dict[str, Any],
    ray_metadata: dict[str, Any] | None = None,
) -> set[int]:
    """The first writes, once every input was checked; returns the finished trials to skip."""
    skip = recorder.prepare()
    metadata = sweep_metadata(config, inputs, workload, rng_seed, num_trials, data_info)
    metadata.update(ray_metadata or {})  # a Ray sweep's nodes and resources
    recorder.write_metadata(metadata)
    recorder.write_packages()
    if config.tensorboard:
        # pylint: disable=import-outside-toplevel
        from algorithmic_efficiency.analysis import tensorboard_export as tensorboard

        tensorboard.write_experiment_config(recorder.workload_dir)
    return skip


def _write_end_of_sweep_files(recorder: Any, config: RunConfig) -> None:
    """The summary files (unless --nosummary) and TensorBoard's incumbent (--tensorboard)."""
    # pylint: disable=import-outside-toplevel
    if config.summary:
        from algorithmic_efficiency.analysis import summary  # pandas: only now

        paths = summary.write_summaries(recorder.workload_dir)
        if paths:
            folder = os.path.dirname(paths[0])
            names = ', '.join(os.path.relpath(p, folder) for p in paths)
            logging.info('Summary files in %s: %s', folder, names)
    if config.tensorboard:
        from algorithmic_efficiency.analysis import tensorboard_export as tensorboard

        tensorboard.write_incumbent(recorder.workload_dir)
        logging.info('TensorBoard: tensorboard --logdir %s', config.log_dir)


def run(config: RunConfig | dict[str, Any]) -> int:
    """The whole sweep (``--num_studies`` of them); returns the exit code (0 all trials
    ran, 1 a trial failed).

    Raises:
      ValueError: bad input (``UsageError`` and the readers' errors), before
        anything is written.
    """
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency import studies
    from algorithmic_efficiency.training import results

    if not isinstance(config, RunConfig):
        config = RunConfig(**config)
    inputs = check_config(config)
    _prepare_environment(inputs.framework)
    # The framework imports in a background thread: the submission's import
    # waits for it, then torch._dynamo (PyTorch) goes on importing while the
    # log directory is opened, the data loaded and the sweep files written.
    preload.start(inputs.framework)
    submission = load_submission(config.submission_path, inputs.framework)
    tensorboard_hparams = _tensorboard_hparams(config, inputs.search_space)
    plan: list[tuple[RunConfig, dict[str, Any]]] = [(config, {})]
    if config.num_studies > 1:
        base = studies.base_seed(config)
        plan = [
            (study_config, studies.study_metadata(k, config.num_studies, base))
            for k, study_config in studies.study_configs(config, base)
        ]
    recorders: list[Any] = []
    sweeps = []
    try:
        # Every study's directory is locked and checked before any study writes.
        for study_config, _ in plan:
            recorders.append(_open_recorder(study_config, inputs, tensorboard_hparams))
        # One workload object for all studies: the data is read once, and jitted
        # steps keyed on the workload compile once.
        workload = registry.load_workload(config.workload, inputs.framework)
        data_info = workload.prepare_data(config.data_dir)
        _check_one_batch(workload, submission, config)
        logging.info('Data: %s', data_info.get('data.description'))
        for (study_config, study_info), recorder in zip(plan, recorders, strict=True):
            metadata_extra = dict(data_info)
            if study_info:
                logging.info('Study %d of %d: %s', study_info['study.index'],
                             config.num_studies, study_config.log_dir or '(not recorded)')
                # The command line as given, not the study's derived seed and directory.
                metadata_extra.update(study_info, flags=_flags_metadata(config))
            sweeps.append(_run_locked(study_config, inputs, submission, recorder,
                                      tensorboard_hparams, workload, metadata_extra))
    finally:
        for recorder in recorders:
            if recorder is not None:
                recorder.unlock()
    if len(sweeps) > 1:
        energies = [results.sweep_energy_score(s.trials) for s in sweeps]
        print(studies.format_studies(config.workload, [s.score for s in sweeps], energies),
              flush=True)
    return 1 if any(s.failed for s in sweeps) else 0


def _run_locked(
    config: RunConfig,
    inputs: CheckedInputs,
    submission: Any,
    recorder: Any,
    tensorboard_hparams: list[str] | None,
    workload: spec.Workload,
    metadata_extra: dict[str, Any],
) -> Any:
    """One sweep (a study) once its directory is locked (or there is none): seed, trials,
    files, end table; returns its ``SweepResult``."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.distributed import scheduler as ray_scheduler  # Ray: if asked
    from algorithmic_efficiency.training import trials as trial_loop

    rng_seed = _sweep_seed(config, recorder, inputs.search_space)
    trials = trial_list(config, inputs.search_space, rng_seed)
    skip: set[int] = set()
    if recorder is None:
        logging.warning('No --log_dir: nothing is saved (pass --log_dir=DIR to keep the rows)')
    if config.eval_period_time_sec is not None:
        logging.warning(
            '--eval_period_time_sec=%g overrides %s\'s eval period (%g s): for demos and '
            'debugging; results do not follow the workload\'s rules',
            config.eval_period_time_sec, config.workload, workload.eval_period_time_sec,
        )  # fmt: skip
    with ray_scheduler.session(inputs.ray, len(trials)) as ray_sweep:  # None: in this process
        if recorder is not None:
            skip = _write_sweep_files(
                recorder, config, inputs, workload, rng_seed, len(trials), metadata_extra,
                ray_sweep.metadata() if ray_sweep else None,
            )  # fmt: skip
        try:
            if ray_sweep is not None:
                task = ray_scheduler.sweep_task(config, inputs.framework, inputs.extra,
                                                tensorboard_hparams)  # fmt: skip
                sweep = ray_sweep.run_trials(task, trials, rng_seed, recorder, skip)
            else:
                sweep = trial_loop.score_submission_on_workload(
                    workload,
                    config.workload,
                    inputs.framework,
                    submission,
                    trials,
                    rng_seed,
                    data_dir=config.data_dir,
                    recorder=recorder,
                    skip=skip,
                    max_submission_time_sec=config.max_submission_time_sec,
                    max_global_steps=config.max_global_steps,
                    progress_interval_sec=config.progress_interval_sec,
                    eval_period_time_sec=config.eval_period_time_sec,
                )
        except KeyboardInterrupt:
            # The interrupted trial is recorded; the summaries show it (run_status.csv)
            # as they would at any end. A second Ctrl-C skips them.
            if recorder is not None:
                _write_end_of_sweep_files(recorder, config)
            raise
    print(format_summary(config.workload, sweep), flush=True)
    if recorder is not None and config.summary:
        # Training is over: hand its data back before the summary imports pandas
        # (a next study reloads it from the cache). Peak RSS of a one-step
        # full-MNIST run: 492 -> 431 MiB (PyTorch), 435 -> 374 MiB (JAX), the
        # same as with --nosummary.
        workload.release_data()
        gc.collect()
    if recorder is not None:
        _write_end_of_sweep_files(recorder, config)
    return sweep


def _flags_metadata(config: RunConfig) -> dict[str, Any]:
    """metadata.json's ``flags``: every flag (Ray's only for a Ray sweep), paths shareable."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import redact

    flags = {
        **{
            k: v
            for k, v in dataclasses.asdict(config).items()
            if config.ray_address or k not in RAY_FLAGS
        },
        'record_extra_metadata': list(config.record_extra_metadata),
    }
    # Paths as the user may share them: relative to the working directory, else ~/...
    for name in PATH_FLAGS:
        flags[name] = redact.display_path(flags[name])
    return flags


def sweep_metadata(
    config: RunConfig,
    inputs: CheckedInputs,
    workload: spec.Workload,
    rng_seed: int,
    num_trials: int,
    data_info: dict[str, Any],
) -> dict[str, Any]:
    """metadata.json: the guide's keys, then what makes the sweep reproducible."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import sysinfo
    from algorithmic_efficiency.telemetry import energy
    from algorithmic_efficiency.telemetry import sampler as telemetry

    flags = _flags_metadata(config)
    return {
        'workload': config.workload,
        'framework': inputs.framework,
        'log_dir': flags['log_dir'],
        **sysinfo.system_metadata(None),  # git of this code's checkout
        **telemetry.gpu_info(),
        # What energy.submission_joules adds up: 'nvml', 'rapl'; [] = not measured.
        energy.METADATA_KEY: energy.sources(),
        **workload.properties(),
        'framework_versions': package_versions(FRAMEWORK_PACKAGES[inputs.framework]),
        'rng_seed': rng_seed,
        'tuning_ruleset': config.tuning_ruleset,
        'num_tuning_trials': num_trials,
        'search_algorithm': config.search_algorithm,
        'search_space': inputs.search_space.to_json() if inputs.search_space else None,
        # 'native', 'algoperf-compat' (this project's layer) or 'algoperf <version>'.
        'submission.api': compat.submission_api(),
        'flags': flags,
        **data_info,
        **inputs.extra,
    }


def format_summary(workload_name: str, sweep: Any) -> str:
    """The end table (:func:`~.training.end_table.format_end_table`)."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.training.end_table import format_end_table

    return format_end_table(workload_name, sweep)
