"""The recorder: what a sweep leaves under ``--log_dir``.

::

  LOG_DIR/<workload>/metadata.json     the sweep: system, workload, flags, search space, data
  LOG_DIR/<workload>/packages.txt      Python and OS packages
  LOG_DIR/<workload>/run_<N>/metrics.csv   one row per eval (append-only)
  LOG_DIR/<workload>/run_<N>/trial.json    the trial's status, hparams, seed, result
  LOG_DIR/<workload>/run_<N>/error.txt     the traceback of a failed trial
  LOG_DIR/<workload>/run_<N>/submission_metrics.csv   scalars the submission logged (metrics_logger)

Collectors (``telemetry``) never write and writers (:mod:`.writers`: CSV,
TensorBoard) never collect; this module joins them. A trial's rows go through
one :class:`~.writers.MultiWriter`, and the trial's directory is handed to the
submission through :mod:`.trial_context` for as long as the trial records.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable
from typing import Any

from algorithmic_efficiency import host_identity, layout, spec
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.layout import (
    ERROR_FILE,
    METADATA_FILE,
    METRICS_FILE,
    PACKAGES_FILE,
    RUN_DIR_RE,
    SUBMISSION_METRICS_FILE,
    TRIAL_FILE,
    LogDirError,  # noqa: F401  (re-exported)
)
from algorithmic_efficiency.recording import (
    csv_rows,
    overwrite_guard,
    redact,
    resume_checks,
    std_streams,
    sysinfo,
    trial_context,
    trial_end,
    writers,
)
from algorithmic_efficiency.recording.lock import SweepLock
from algorithmic_efficiency.recording.submission_metrics import SubmissionMetricsLogger
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.telemetry import energy as energy_meter
from algorithmic_efficiency.telemetry import sampler as telemetry

# Columns the runner writes itself (layout's schema); an extra-metadata key may not shadow them.
BUILTIN_COLUMNS = frozenset(layout.BUILTIN_COLUMNS)
# metadata.json's own keys, and the columns the analysis loader adds: an
# extra-metadata key may shadow none of them either.
BUILTIN_METADATA_KEYS = frozenset(
    {
        'workload', 'log_dir', 'datetime', 'python_version', 'python_compiler', 'os_platform',
        'git_branch', 'git_commit_hash', 'git_dirty', 'cpu_model_name', 'cpu_count',
        'cpu_count_physical', 'mem_total_bytes', 'gpu_count', 'gpu_model_name', 'gpu_driver',
        'framework_versions', 'rng_seed', 'tuning_ruleset', 'num_tuning_trials',
        'search_algorithm', 'search_space', 'submission.api', 'flags', 'resumed_at',
        'sweep', 'eval_idx', 'run_dir', 'nodes', 'ray', 'concurrency',
    }
)  # fmt: skip
RESERVED_PREFIXES = (
    'hparam.',
    'workload.',
    'data.',
    'cpu.',
    'mem.',
    'disk.',
    'net.',
    'gpu.',
    'temp.',
    'proc.',
    'framework.',
    'throughput.',  # training.throughput: examples_per_sec, tokens_per_sec, mfu
    'trial.',
    'checkpoint.',
    'meta.',
    'node.',  # node.id: the Ray node of the row
    'energy.',
    'study.',
    'devices.',  # metadata.json: devices.count, devices.kind
    'distributed.',  # metadata.json: distributed.world_size, distributed.backend
    # A workload's metrics on its other eval splits (CIFAR-10: train.loss, test.accuracy).
    'train.',
    'validation.',
    'test.',
)
EXTRA_KEY_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.\-]*$')
# Telemetry in the guide's order (layout's schema); the rest (interval stats, proc.*) follow.
TELEMETRY_ORDER = layout.TELEMETRY_ORDER
# The trainer's heartbeat period (training.trainer.HEARTBEAT_INTERVAL_SEC), recorded in
# trial.json so status knows how old a live trial's heartbeat may be.
HEARTBEAT_INTERVAL_SEC = 5.0


def _telemetry_rank(key: str) -> int:
    for rank, name in enumerate(TELEMETRY_ORDER):
        if key == name or (name.endswith('.') and key.startswith(name)):
            return rank
    return len(TELEMETRY_ORDER)


def parse_extra_metadata(items: Iterable[str], reserved_keys: Iterable[str] = ()) -> dict[str, str]:
    """``['key=value', ...]`` -> dict; the value may contain ``=``.

    Raises:
      UsageError: naming the malformed item or the key that collides with a
        built-in column or metadata key.
    """
    reserved = BUILTIN_COLUMNS | BUILTIN_METADATA_KEYS | set(reserved_keys)
    extra: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition('=')
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--record_extra_metadata '{item}' is malformed; use key=value")
        if not EXTRA_KEY_RE.match(key):
            raise UsageError(
                f"--record_extra_metadata key '{key}' must start with a letter or _ and "
                'contain only letters, digits, _ . -'
            )
        if key in reserved or key.startswith(RESERVED_PREFIXES):
            raise UsageError(
                f"--record_extra_metadata key '{key}' collides with a built-in column or "
                'metadata key; choose another name (e.g. prefix it with exp_)'
            )
        if key in extra:
            raise UsageError(f"--record_extra_metadata key '{key}' is given twice")
        extra[key] = value
    return extra


class TrialRecorder:
    """One trial's recording: telemetry intervals in, rows out through the writers.

    While it is open, the trial is the current one (:mod:`.trial_context`):
    ``Logger.for_trial()`` writes into `run_dir`. :meth:`close` ends that too.
    """

    def __init__(  # noqa: PLR0913  the trial's sinks, each set by a different caller
        self,
        run_dir: str,
        writer: writers.MetricWriter,
        sampler: telemetry.Sampler | None,
        extra_columns: dict[str, Any],
        current: bool = True,
        energy: energy_meter.EnergyMeter | None = None,
        info: dict[str, Any] | None = None,
        metrics_logger: SubmissionMetricsLogger | None = None,
    ):
        self.run_dir = run_dir
        self._info = info  # trial.json as written at the start; the heartbeat adds to it
        self.writer = writer
        # workload.metrics_logger during the trial: the submission's own scalars.
        self.metrics_logger = metrics_logger
        self._sampler = sampler
        self._extra = extra_columns
        self._energy = energy if energy is not None and energy.sources else None
        self._telemetry: dict[str, Any] = {}
        self.rows_written = 0
        # current=False: the trial runs elsewhere (a Ray worker), so this process
        # must not hand its directory to code running here.
        self._trial = trial_context.enter(run_dir) if current else None
        self._open = True

    def begin_interval(self) -> None:
        if self._sampler is not None:
            self._sampler.begin_interval()
        if self._energy is not None:
            self._energy.begin()

    def before_eval(self) -> None:
        # Read *before* the eval runs, so the row describes training, not eval.
        if self._sampler is not None:
            readings = self._sampler.end_interval()
            self._telemetry = dict(sorted(readings.items(), key=lambda kv: _telemetry_rank(kv[0])))
        if self._energy is not None:
            # Cumulative over the timed intervals, like accumulated_submission_time.
            self._telemetry[energy_meter.COLUMN] = self._energy.end()

    def record_eval(self, row: dict[str, Any]) -> None:
        std_streams.restore()  # before opening files: a closed stdout must not become one
        self.writer.write_row({**row, **self._telemetry, **self._extra})
        self.rows_written += 1
        if energy_meter.COLUMN in self._telemetry:
            # The trial's result keeps it too (its evals are these rows): the
            # end-of-sweep table shows energy to target beside time to target.
            row[energy_meter.COLUMN] = self._telemetry[energy_meter.COLUMN]

    def heartbeat(self, state: dict[str, Any]) -> None:
        """Replaces trial.json (atomically) with its ``heartbeat``: the live step and times.

        Called every few seconds of training and at every eval, never per step.
        ``status`` shows the live step and ETA from it, and a trial whose
        heartbeat is old and whose process is gone as ``stale``.
        """
        if self._info is None or not self._open:
            return
        std_streams.restore()
        path = os.path.join(self.run_dir, TRIAL_FILE)
        try:  # what is there now: a Ray driver adds node.id, attempt, ... after the start
            info = files.read_json(path)
        except (OSError, ValueError):
            info = None
        info = info if isinstance(info, dict) else self._info
        info['heartbeat'] = {'wall_time': time.time(), **state}
        try:
            files.write_json(path, info)
        except OSError:
            pass  # a full disk must not stop the trial; the next eval's row will tell

    def checkpoint_counters(self) -> dict[str, Any]:
        """Cumulative counters a checkpoint saves (energy so far, as of the last eval)."""
        return {'energy_joules': self._energy.joules} if self._energy is not None else {}

    def restore_checkpoint_counters(self, counters: dict[str, Any]) -> None:
        if self._energy is not None and counters.get('energy_joules') is not None:
            self._energy.joules = counters['energy_joules']

    def set_status(self, status: str) -> None:
        """Tells the writers how the trial ended when no row says it (Ctrl-C)."""
        set_status = getattr(self.writer, 'set_status', None)
        if set_status is not None:
            set_status(status)

    def close(self) -> None:
        """Ends the trial's recording (again: nothing): sampler, writers, then the trial context."""
        if not self._open:
            return
        self._open = False
        entered, self._trial = self._trial, None
        try:
            if self._sampler is not None:
                self._sampler.stop()
            self.writer.close()
            if self.metrics_logger is not None:
                self.metrics_logger.close()
        finally:
            if entered is not None:
                trial_context.leave(entered)


class Recorder:
    """Owns ``LOG_DIR/<workload>``: checks it, writes the sweep files, opens trials.

    Args:
      mode: ``'new'`` refuses a directory that already holds this workload's
        runs; ``'overwrite'`` deletes ``LOG_DIR/<workload>`` first;
        ``'resume'`` keeps finished trials and re-runs the rest.
    """

    def __init__(  # noqa: PLR0913  the --log_dir flags, passed by name by the sweep and a Ray task
        self,
        log_dir: str,
        workload_name: str,
        mode: str = 'new',
        fsync: bool = False,
        telemetry_interval_sec: float = 1.0,
        extra_metadata: dict[str, str] | None = None,
        tensorboard_hparams: list[str] | None = None,
        rapl_root: str | None = None,
    ):
        if mode not in ('new', 'overwrite', 'resume'):
            raise ValueError(f"mode must be 'new', 'overwrite' or 'resume', got '{mode}'")
        self.log_dir = log_dir
        self.workload_name = workload_name
        self.workload_dir = os.path.join(log_dir, workload_name)
        self.mode = mode
        self.fsync = fsync
        self.telemetry_interval_sec = telemetry_interval_sec
        self.extra_metadata = dict(extra_metadata or {})
        # The searched hyperparameters when TensorBoard events are written too
        # (--tensorboard), else None.
        self.tensorboard_hparams = tensorboard_hparams
        self._lock = SweepLock(self.workload_dir)
        self._host_salt = host_identity.new_salt()  # per sweep run: ids unlinkable across sweeps
        # Where RAPL's counters are (a fake sysfs tree in tests).
        self.rapl_root = rapl_root
        # run_idx -> step: a trial continuing from its checkpoint keeps its rows up to
        # that step (training.checkpointing); start_trial copies them from the set-aside file.
        self.keep_rows_through: dict[int, int] = {}

    # --- The directory.
    def lock(self) -> None:
        """Takes the sweep directory's lock (creating it); before :meth:`check`, held to the end.

        Raises:
          recording.lock.SweepLockedError: another runner holds it (its PID named).
        """
        self._lock.acquire()

    def unlock(self) -> None:
        self._lock.release()

    def run_dir(self, run_idx: int) -> str:
        return os.path.join(self.workload_dir, f'run_{run_idx}')

    def existing_runs(self) -> list[int]:
        if not os.path.isdir(self.workload_dir):
            return []
        return sorted(
            int(m.group(1)) for m in map(RUN_DIR_RE.match, os.listdir(self.workload_dir)) if m
        )

    def previous_metadata(self) -> dict[str, Any] | None:
        """The sweep's metadata.json (None if there is none).

        Raises:
          LogDirError: it is not a JSON object (corrupt, truncated, a list...).
        """
        path = os.path.join(self.workload_dir, METADATA_FILE)
        if not os.path.exists(path):
            return None
        try:
            obj = files.read_json(path)
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            problem = f'is not valid JSON ({e})'
        else:
            if isinstance(obj, dict):
                resume_checks.check_metadata(obj, path)  # a seed, a search space: or one line
                return obj
            problem = f'holds a JSON {type(obj).__name__}, not an object'
        raise LogDirError(
            f'{path} {problem}, so the sweep\'s seed and search space are unknown; restore '
            'it (e.g. from a backup), or start afresh with --overwrite or another --log_dir'
        )

    def check(self) -> None:
        """Refuses, without touching anything, a directory the mode can't use."""
        if self.mode == 'overwrite':
            overwrite_guard.check_overwritable(self.workload_dir)
        if self.mode == 'resume':
            resume_checks.check_run_dirs(self.workload_dir)
        has_output = bool(self.existing_runs()) or os.path.exists(
            os.path.join(self.workload_dir, METADATA_FILE)
        )
        if (
            self.mode == 'resume'
            and self.existing_runs()
            and not os.path.exists(os.path.join(self.workload_dir, METADATA_FILE))
        ):
            raise LogDirError(
                f'{self.workload_dir} holds runs but no {METADATA_FILE}, so its seed and '
                'search space are unknown and it cannot be resumed; use --overwrite or '
                'another --log_dir'
            )
        if self.mode == 'new' and has_output:
            raise LogDirError(
                f'{self.workload_dir} already holds runs of {self.workload_name}; '
                'pass --resume to continue that sweep, --overwrite to start afresh, or '
                'choose another --log_dir'
            )

    def prepare(self) -> set[int]:
        """Applies the mode to the directory; returns the finished trials to skip."""
        self.check()
        if self.mode == 'overwrite' and os.path.isdir(self.workload_dir):
            # The contents, not the directory: the lock is on the directory itself.
            for name in os.listdir(self.workload_dir):
                path = os.path.join(self.workload_dir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        os.makedirs(self.workload_dir, exist_ok=True)
        if self.mode != 'resume':
            return set()
        return resume_checks.finished_trials(self.workload_dir, self.existing_runs())

    def trial_info(self, run_idx: int) -> dict[str, Any] | None:
        return resume_checks.read_trial_json(os.path.join(self.run_dir(run_idx), TRIAL_FILE))

    # --- Sweep files.
    def write_metadata(self, metadata: dict[str, Any]) -> None:
        path = os.path.join(self.workload_dir, METADATA_FILE)
        previous = self.previous_metadata() if self.mode == 'resume' else None
        if previous is not None:
            # The sweep's identity stays the original's; note when it was resumed.
            previous.setdefault('resumed_at', []).append(metadata.get('datetime'))
            # A sweep grown with a larger --num_tuning_trials plans the new count.
            planned = metadata.get('num_tuning_trials')
            if isinstance(planned, int) and planned > (previous.get('num_tuning_trials') or 0):
                previous['num_tuning_trials'] = planned
                if isinstance(previous.get('flags'), dict):
                    previous['flags']['num_tuning_trials'] = planned
            metadata = previous
        files.write_json(path, files.strict_json(metadata))

    def write_packages(self) -> None:
        path = os.path.join(self.workload_dir, PACKAGES_FILE)
        if self.mode == 'resume' and os.path.exists(path):
            return
        files.write_text(path, sysinfo.packages_text())

    # --- Trials.
    def _set_aside_previous_attempt(self, run_dir: str) -> int | None:
        """A re-run trial keeps its earlier files under numbered names, never deleted.

        Returns the attempt number they were set aside as (None: nothing to set aside).
        """
        names = [
            n
            for n in (METRICS_FILE, TRIAL_FILE, ERROR_FILE, SUBMISSION_METRICS_FILE)
            if os.path.exists(os.path.join(run_dir, n))
        ]
        if not names:
            return None
        attempt = 1
        while any(os.path.exists(os.path.join(run_dir, f'attempt-{attempt}.{n}')) for n in names):
            attempt += 1
        for n in names:
            os.replace(os.path.join(run_dir, n), os.path.join(run_dir, f'attempt-{attempt}.{n}'))
        return attempt

    def start_trial(
        self,
        run_idx: int,
        hyperparameters: dict[str, Any] | None,
        seed: int,
        remote: bool = False,
    ) -> TrialRecorder:
        """Opens trial `run_idx`: sets an earlier attempt's files aside, writes trial.json.

        Args:
          remote: the trial runs in another process (a Ray task with
            ``--ray_storage=driver``) whose rows arrive complete, telemetry and
            extra columns included: no sampler here, nothing added, and the
            trial is not made this process's current trial.
        """
        run_dir = self.run_dir(run_idx)
        os.makedirs(run_dir, exist_ok=True)
        attempt = self._set_aside_previous_attempt(run_dir)
        keep_through = self.keep_rows_through.pop(run_idx, None)
        if keep_through is not None and attempt is not None:
            previous = os.path.join(run_dir, f'attempt-{attempt}.{METRICS_FILE}')
            csv_rows.copy_rows_through_step(previous, os.path.join(run_dir, METRICS_FILE),
                                            keep_through)
        info = {
            'run_idx': run_idx,
            'status': spec.TrialStatus.RUNNING,
            'hyperparameters': hyperparameters,
            'seed': seed,
            'started': time.time(),
            # Who runs it: status tells a live trial from a killed one (stale) by these.
            'host_id': layout.host_id(salt=self._host_salt),  # keyed hash: names no machine
            'host_salt': self._host_salt,
            'pid': os.getpid(),
            'heartbeat_interval_sec': HEARTBEAT_INTERVAL_SEC,
        }
        files.write_json(os.path.join(run_dir, TRIAL_FILE), info)
        sinks: list[writers.MetricWriter] = [
            writers.csv_writer(os.path.join(run_dir, METRICS_FILE), fsync=self.fsync)
        ]
        if self.tensorboard_hparams is not None:
            # After trial.json: the writer takes the trial's start time from it.
            sinks.append(
                writers.tensorboard_writer(run_dir, hyperparameters, self.tensorboard_hparams)
            )
        if remote:
            return TrialRecorder(run_dir, writers.MultiWriter(sinks), None, {}, current=False,
                                 info=info)
        sampler = telemetry.Sampler(self.telemetry_interval_sec).start()
        metrics_logger = SubmissionMetricsLogger(
            run_dir, tensorboard=self.tensorboard_hparams is not None, fsync=self.fsync
        )
        return TrialRecorder(run_dir, writers.MultiWriter(sinks), sampler, self.extra_metadata,
                             energy=energy_meter.EnergyMeter(self.rapl_root), info=info,
                             metrics_logger=metrics_logger)

    def finish_trial(self, trial: TrialRecorder, result: Any) -> None:
        """Closes the trial's writers and records how it ended (``result``: a TrialResult)."""
        trial.set_status(result.status)
        trial.close()
        info = self.trial_info(result.run_idx) or {}
        final = result.final_eval
        info.update(
            {
                'status': result.status,
                'stop_reason': result.stop_reason,
                'global_step': result.global_step,
                'accumulated_submission_time': result.accumulated_submission_time,
                'time_to_target': result.time_to_target,
                'num_evals': len(result.evals),
                'final_loss': final.get('loss'),
                'final_accuracy': final.get('accuracy'),
                'error': result.error,
                'finished': time.time(),
            }
        )
        if not result.evals:  # ended by someone else (a lost task): the rows tell where it got
            info = trial_end.from_rows(trial.run_dir, info)
        # Strict JSON: a diverged trial's NaN loss is null (with its text beside it).
        files.write_json(os.path.join(trial.run_dir, TRIAL_FILE), files.strict_json(info))
        if result.traceback:
            # Paths in the traceback without the user's home directory, like metadata.json's.
            files.write_text(
                os.path.join(trial.run_dir, ERROR_FILE), redact.redact_paths(result.traceback)
            )
