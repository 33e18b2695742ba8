"""The sweep: a validated :class:`RunConfig` in, trials run and recorded, an exit code out.

``submission_runner.py`` turns flags into a ``RunConfig`` and calls :func:`run`;
tests and other programs can do the same without absl. Library code below
this point never reads flags.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.search import seeds, spaces
from algorithmic_efficiency.sweep import devices, same_sweep, studies
from algorithmic_efficiency.sweep.config import (
    CheckedInputs,
    RunConfig,
    UsageError,
    check_config,
)
from algorithmic_efficiency.sweep.metadata import _flags_metadata, sweep_metadata
from algorithmic_efficiency.sweep.submission import load_submission
from algorithmic_efficiency.training import processes as processes_lib
from algorithmic_efficiency.training import results, submission_api, throughput
from algorithmic_efficiency.training import trials as trial_loop
from algorithmic_efficiency.training.end_table import format_end_table
from algorithmic_efficiency.training.executors import InProcessExecutor, TrialExecutor
from algorithmic_efficiency.training.results import SweepResult
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialRecording, TrialSpec
from algorithmic_efficiency.workloads import host_devices, registry


def _prepare_environment(framework: str, num_devices: int | None) -> None:
    """Environment variables the frameworks read once, at import: set before the submission."""
    # CUDA numbers GPUs fastest-first by default, NVML by PCI bus: with this the
    # gpu.<i> columns and the framework's device i are the same card.
    os.environ.setdefault('CUDA_DEVICE_ORDER', 'PCI_BUS_ID')
    if framework == 'jax':
        # Before anything imports JAX (the submission does). JAX would grab
        # ~75 % of GPU memory up front, which makes the memory columns
        # meaningless; allocate on demand unless the user decided otherwise.
        os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')
        # Simulated CPU devices: XLA_FLAGS appended to (never replaced), threads.
        host_devices.prepare(os.environ, num_devices)


def _tensorboard_hparams(
    config: RunConfig, search_space: spaces.SearchSpace | None
) -> list[str] | None:
    """The searched hyperparameters for TensorBoard's HParams view (None without --tensorboard)."""
    if not config.tensorboard:
        return None
    if not config.log_dir:
        raise UsageError('--tensorboard writes into --log_dir; give a --log_dir')
    try:
        # pylint: disable=import-outside-toplevel
        # An optional package (tensorboard/protobuf): imported only with --tensorboard.
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
    # ~0.2 s (telemetry, psutil): not paid by --help or a run refused for bad input.
    from algorithmic_efficiency.recording.recorder import Recorder

    recorder = Recorder(
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
    config: RunConfig, recorder: Any, search_space: spaces.SearchSpace | None
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
        same_sweep.check_same_submission(config, previous)
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
    config: RunConfig, search_space: spaces.SearchSpace | None, rng_seed: int
) -> list[dict[str, Any] | None]:
    """The sweep's trials: hyperparameters drawn from the space, or one ``None`` (self-tuning)."""
    if config.tuning_ruleset == 'self':
        return [None]
    return spaces.generate_trials(
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
    ctx: _SweepContext,
    rng_seed: int,
    num_trials: int,
    data_info: dict[str, Any],
    executor_metadata: dict[str, Any],
) -> set[int]:
    """The first writes, once every input was checked; returns the finished trials to skip."""
    skip = recorder.prepare()
    metadata = sweep_metadata(
        config, ctx.inputs, ctx.workload, rng_seed, num_trials, data_info, ctx.device_info
    )
    metadata.update(executor_metadata)  # a Ray sweep's nodes and resources
    recorder.write_metadata(metadata)
    recorder.write_packages()
    if config.tensorboard:
        # pylint: disable=import-outside-toplevel
        # TensorBoard's writer pulls in protobuf: only with --tensorboard.
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
        # TensorBoard's writer pulls in protobuf: only with --tensorboard.
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
    if not isinstance(config, RunConfig):
        config = RunConfig(**config)
    inputs = check_config(config)
    _prepare_environment(inputs.framework, config.num_devices)
    processes = devices.join_processes(inputs)
    try:
        return _run(config, inputs, processes)
    finally:
        processes.close()


def _run(config: RunConfig, inputs: CheckedInputs, processes: Any) -> int:
    """:func:`run` once the processes are joined: only rank 0 touches files or prints."""
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
        # One workload object for all studies: the data is read once, and jitted
        # steps keyed on the workload compile once. Its devices are checked
        # before any directory is touched.
        workload = registry.load_workload(config.workload, inputs.framework)
        device_info = workload.use_devices(config.num_devices, processes)
        device_info.update(throughput.device_facts(workload, device_info))  # devices.peak_flops
        devices.check_batch_size(submission, config.workload, workload.device_count)
        logging.info('Devices: %d x %s, %d process(es)', device_info['devices.count'],
                     device_info['devices.kind'], device_info['distributed.world_size'])

        # Every study's directory is locked and checked before any study writes
        # (by rank 0 alone: its errors reach every process).
        def open_recorders() -> None:
            for study_config, _ in plan:
                recorders.append(_open_recorder(study_config, inputs, tensorboard_hparams))

        processes.share(open_recorders)
        recorders = recorders or [None] * len(plan)
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
            ctx = _SweepContext(inputs, submission, tensorboard_hparams, workload, processes,
                                device_info)
            sweeps.append(_run_locked(ctx, study_config, recorder, metadata_extra))
    finally:
        for recorder in recorders:
            if recorder is not None:
                recorder.unlock()
    if len(sweeps) > 1 and processes.rank == 0:
        energies = [results.sweep_energy_score(s.trials) for s in sweeps]
        print(studies.format_studies(config.workload, [s.score for s in sweeps], energies),
              flush=True)
    return 1 if any(s.failed for s in sweeps) else 0


@dataclasses.dataclass(frozen=True)
class _SweepContext:
    """What every study of a run shares: the checked inputs and the live objects."""

    inputs: CheckedInputs
    submission: Any
    tensorboard_hparams: list[str] | None
    workload: spec.Workload
    processes: Any
    device_info: dict[str, Any]


def _sweep_spec(config: RunConfig, ctx: _SweepContext) -> TrialSpec:
    """What every trial of this sweep runs, built once from the config."""
    recording = TrialRecording(
        fsync=config.fsync,
        telemetry_interval_sec=config.telemetry_interval_sec,
        extra_metadata=dict(ctx.inputs.extra),
        tensorboard_hparams=ctx.tensorboard_hparams,
    )
    return TrialSpec.for_sweep(config, ctx.inputs.framework, recording)


def _executor(ctx: _SweepContext, num_trials: int, recorder: Any,
              config: RunConfig) -> TrialExecutor:
    """Where the trials run: Ray with --ray_address, a local pool with
    --max_concurrent_trials above 1, else this process (and its peers)."""
    if ctx.inputs.ray is not None:
        # pylint: disable=import-outside-toplevel
        # Ray and the driver loop: only for a Ray sweep (Ray's import takes seconds).
        from algorithmic_efficiency.distributed import scheduler

        return scheduler.RayExecutor(ctx.inputs.ray, num_trials, load_submission, recorder)
    if (config.max_concurrent_trials or 1) > 1:
        # pylint: disable=import-outside-toplevel
        from algorithmic_efficiency.distributed import local_pool  # only for a pooled sweep

        return local_pool.from_config(config, ctx.processes, num_trials, load_submission,
                                      recorder)
    hooks = TrialHooks(progress=processes_lib.progress_for(ctx.processes, logging.info),
                       processes=ctx.processes)
    return InProcessExecutor(ctx.workload, ctx.submission, num_trials, recorder, hooks)


def _run_locked(
    ctx: _SweepContext, config: RunConfig, recorder: Any, metadata_extra: dict[str, Any]
) -> SweepResult:
    """One sweep (a study) once its directory is locked (or there is none): seed, trials,
    files, end table; returns its ``SweepResult``. With several processes rank 0 decides
    the seed and the trials to skip, and writes."""
    inputs, workload, processes = ctx.inputs, ctx.workload, ctx.processes
    rng_seed = processes.share(lambda: _sweep_seed(config, recorder, inputs.search_space))
    specs = trial_loop.trial_specs(
        _sweep_spec(config, ctx), trial_list(config, inputs.search_space, rng_seed), rng_seed
    )
    if recorder is None and processes.rank == 0:
        logging.warning('No --log_dir: nothing is saved (pass --log_dir=DIR to keep the rows)')
    if config.eval_period_time_sec is not None:
        logging.warning(
            '--eval_period_time_sec=%g overrides %s\'s eval period (%g s): for demos and '
            'debugging; results do not follow the workload\'s rules',
            config.eval_period_time_sec, config.workload, workload.eval_period_time_sec,
        )  # fmt: skip
    with _executor(ctx, len(specs), recorder, config) as executor:

        def write_sweep_files() -> set[int]:
            if recorder is None:
                return set()
            return _write_sweep_files(recorder, config, ctx, rng_seed, len(specs),
                                      metadata_extra, executor.metadata())  # fmt: skip

        skip = processes.share(write_sweep_files)
        try:
            sweep = trial_loop.run_sweep(executor, specs, recorder, skip,
                                         processes_lib.progress_for(processes, logging.info))
        except KeyboardInterrupt:
            # The interrupted trial is recorded; the summaries show it (run_status.csv)
            # as they would at any end. A second Ctrl-C skips them.
            if recorder is not None:
                _write_end_of_sweep_files(recorder, config)
            raise
    if processes.rank == 0:
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


def format_summary(workload_name: str, sweep: Any) -> str:
    """The end table (:func:`~.training.end_table.format_end_table`)."""
    return format_end_table(workload_name, sweep)
