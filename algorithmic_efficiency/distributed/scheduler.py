"""The driver: trials fanned out as Ray tasks, started as resources free up, their ends recorded.

:class:`RayExecutor` (a ``training.executors.TrialExecutor``) connects to Ray
(``with RayExecutor(options, num_trials, load_submission) as executor:``),
describes the cluster's nodes for ``metadata.json`` and runs the trial specs
it is given:
at most ``concurrency`` tasks in flight, the next one submitted as soon as
one ends (``ray.wait`` over the tasks' event streams, not fixed waves).
A trial whose worker or node died is submitted again (``--trial_retries``),
its earlier files kept as ``attempt-K.*``; after the last retry it is marked
failed and the sweep goes on. Ctrl-C cancels the running tasks, marks their
trials interrupted and re-raises (the runner exits 130; ``--resume`` re-runs
them). The driver alone writes ``metadata.json``; with ``--ray_storage=driver``
it also writes every trial's files from the rows the tasks stream back.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.distributed import cluster, options, task
from algorithmic_efficiency.distributed.cluster import NODE_ID_COLUMN
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.layout import TRIAL_FILE
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training.results import TrialResult
from algorithmic_efficiency.training.trial_spec import TrialSpec

# Ray's errors for a trial whose process or node went away (not the trial's own failure).
RETRYABLE_ERRORS = ('WorkerCrashedError', 'NodeDiedError', 'OutOfMemoryError')


@dataclasses.dataclass
class _Job:
    """A trial in flight: which attempt, where it runs, its driver-side recording."""

    trial: TrialSpec
    attempt: int = 1
    submitted: float = 0.0
    node_id: str | None = None
    task_started: float | None = None
    trial_log: Any = None  # --ray_storage=driver: the driver's TrialRecorder

    @property
    def run_idx(self) -> int:
        return self.trial.run_idx

    @property
    def hyperparameters(self) -> dict[str, Any] | None:
        return self.trial.hyperparameters

    @property
    def seed(self) -> int:
        return self.trial.seed


class RayExecutor:
    """A sweep's Ray session: a ``training.executors.TrialExecutor`` (see the module docstring).

    Args:
      ray_options: the checked Ray flags.
      num_trials: the sweep's trials (resources and concurrency are planned for them).
      load_submission: the sweep's submission loader, ``(path) -> module``, run in
        each task (the sweep's own, so that ``distributed`` does not import ``sweep``).
      recorder: the driver's ``Recorder`` (None: nothing recorded).
      progress: receives the driver's and the tasks' progress lines.
    """

    def __init__(
        self,
        ray_options: options.RayOptions,
        num_trials: int,
        load_submission: Callable[..., Any],
        recorder: Any = None,
        progress: Callable[[str], None] = logging.info,
    ):
        self.options = ray_options
        self.num_trials = num_trials
        self.load_submission = load_submission
        self.recorder = recorder
        self.progress = progress
        self._runner: _Runner | None = None
        self.ray: Any = None
        self.resources: dict[str, float] = {}
        self.concurrency = 1
        self.nodes: list[dict[str, Any]] = []
        self._connection = None
        # Per-trial timings (seconds), for benchmarks: submit -> task start.
        self.start_latency: dict[int, float] = {}

    def __enter__(self) -> RayExecutor:
        self._connection = cluster.connect(self.options.address)
        self.ray = self._connection.__enter__()
        try:
            self._plan()
            self.nodes = cluster.probe_nodes(self.ray)
        except BaseException:
            self._connection.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._connection.__exit__(*exc_info)

    def _plan(self) -> None:
        """Resources per trial and trials in flight, checked against the cluster."""
        cpus, gpus = cluster.cluster_totals(self.ray)
        opts = self.options
        self.resources = opts.resources or options.default_resources(
            cpus, gpus, self.num_trials, opts.max_concurrent_trials
        )
        if options.trials_that_fit(self.resources, cpus, gpus) == 0:
            asked = ','.join(f'{k}={v:g}' for k, v in self.resources.items())
            raise UsageError(
                f'--trial_resources {asked} does not fit the Ray cluster ({cpus:g} CPUs, '
                f'{gpus:g} GPUs); ask for less or add nodes'
            )
        self.concurrency = options.concurrency(
            self.resources, cpus, gpus, self.num_trials, opts.max_concurrent_trials
        )
        logging.info(
            'Ray: %g CPUs, %g GPUs; %d trial(s) at once, each %s',
            cpus,
            gpus,
            self.concurrency,
            self.resources,
        )

    def metadata(self) -> dict[str, Any]:
        """``metadata.json``'s Ray part: the nodes by ``node.id`` and what each trial got."""
        return {
            'nodes': self.nodes,
            'ray': {
                'version': getattr(self.ray, '__version__', None),
                'storage': self.options.storage,
                'trial_resources': self.resources,
                'max_concurrent_trials': self.concurrency,
                'trial_retries': self.options.trial_retries,
            },
        }

    # --- Running the trials.
    def submit(self, trial: TrialSpec) -> None:
        """Queues one trial; it is submitted to Ray when :meth:`results` runs the loop."""
        if self._runner is None:
            self._runner = _Runner(self, self.num_trials, self.recorder, self.progress)
        # Absolute paths: a worker's working directory is Ray's, not the driver's.
        self._runner.pending.append(_Job(trial.with_absolute_paths()))

    def results(self) -> dict[int, TrialResult]:
        """Runs every queued trial on Ray; returns their results by ``run_idx``."""
        if self._runner is None:
            return {}
        runner, self._runner = self._runner, None
        return runner.run()


class _Runner:
    """The event loop of one :meth:`RayExecutor.results`."""

    def __init__(
        self,
        session: RayExecutor,
        num_trials: int,
        recorder: Any,
        progress: Callable[[str], None],
    ):
        self.session = session
        self.ray = session.ray
        self.num_trials = num_trials
        self.recorder = recorder
        self.progress = progress
        self.pending: collections.deque[_Job] = collections.deque()
        self.running: dict[Any, _Job] = {}
        self.results: dict[int, TrialResult] = {}
        resources = options.ray_resources(session.resources)
        # max_calls=1: a fresh worker process per trial. max_retries=0: retries are
        # the driver's, so that each attempt's files are kept apart.
        self.remote = self.ray.remote(max_calls=1, max_retries=0, **resources)(task.run_trial_task)

    def run(self) -> dict[int, TrialResult]:
        try:
            while self.pending or self.running:
                while self.pending and len(self.running) < self.session.concurrency:
                    self._submit(self.pending.popleft())
                ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=1.0)
                for stream in ready:
                    self._next_event(stream)
        except KeyboardInterrupt:
            self._interrupt()
            raise
        return self.results

    def _submit(self, job: _Job) -> None:
        trial_task = task.TrialTask(job.trial, job.attempt, self.session.options.storage,
                                    self.session.load_submission)
        job.submitted, job.node_id, job.task_started = time.time(), None, None
        self.progress(
            f'{job.trial.workload_name} trial {job.run_idx}/{self.num_trials}: submitted to Ray '
            f'(attempt {job.attempt}), seed {job.seed}, hyperparameters {job.hyperparameters}'
        )
        self.running[self.remote.remote(trial_task)] = job

    def _next_event(self, stream: Any) -> None:
        job = self.running[stream]
        try:
            event = self.ray.get(next(stream))
        except StopIteration:  # ended without its last event: treat as lost
            self._lost(stream, job, 'the trial task ended without a result')
            return
        except Exception as e:  # noqa: BLE001  (Ray's errors: which ones is decided below)
            name = type(e).__name__
            if isinstance(e, self.ray.exceptions.RayError) and name in RETRYABLE_ERRORS:
                self._lost(stream, job, f'{name}: {_first_line(e)}', retry=True)
            else:
                self._lost(stream, job, f'{name}: {_first_line(e)}')
            return
        getattr(self, f'_on_{event["kind"]}')(stream, job, event)

    # --- Events.
    def _on_started(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        job.node_id, job.task_started = event[NODE_ID_COLUMN], event['time']
        self.session.start_latency[job.run_idx] = event['time'] - job.submitted
        self.progress(
            f'{job.trial.workload_name} trial {job.run_idx}: started on {job.node_id} '
            f"({event['threads']} thread(s), GPUs {event['gpus'] or 'none'})"
        )
        if self.session.options.storage == task.STORAGE_DRIVER and self.recorder is not None:
            job.trial_log = self.recorder.start_trial(
                job.run_idx, job.hyperparameters, job.seed, remote=True
            )
            self._update_trial_file(
                job, {**task.trial_info(job.node_id, job.attempt, job.task_started),
                      **event.get('compute', {})}
            )

    def _on_progress(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        self.progress(event['line'])

    def _on_row(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        if job.trial_log is not None:
            job.trial_log.record_eval(event['row'])

    def _on_heartbeat(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        if job.trial_log is not None:
            job.trial_log.heartbeat(event['state'])

    def _on_finished(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        result = TrialResult(**event['result'])
        if job.trial_log is not None:
            self.recorder.finish_trial(job.trial_log, result)
        self._done(stream, job, result)

    def _on_error(self, stream: Any, job: _Job, event: dict[str, Any]) -> None:
        self._fail(stream, job, event['error'], event['traceback'])

    # --- Ends.
    def _done(self, stream: Any, job: _Job, result: TrialResult) -> None:
        del self.running[stream]
        self.results[job.run_idx] = result

    def _lost(self, stream: Any, job: _Job, error: str, retry: bool = False) -> None:
        """The task died under the trial: retry it (same seed), or mark it failed."""
        if retry and job.attempt <= self.session.options.trial_retries:
            self.progress(
                f'{job.trial.workload_name} trial {job.run_idx}: lost ({error}); '
                f'retrying (attempt {job.attempt + 1} of {self.session.options.trial_retries + 1})'
            )
            self._close_trial_log(job)
            del self.running[stream]
            job.attempt += 1
            self.pending.appendleft(job)  # keeps its place: next to start
            return
        self._fail(stream, job, error, error + '\n')

    def _fail(self, stream: Any, job: _Job, error: str, traceback: str) -> None:
        self.progress(f'{job.trial.workload_name} trial {job.run_idx} FAILED: {error}')
        result = TrialResult(
            run_idx=job.run_idx,
            hyperparameters=job.hyperparameters,
            seed=job.seed,
            status=spec.TrialStatus.FAILED,
            stop_reason=spec.StopReason.ERROR,
            error=error,
            traceback=traceback,
        )
        self._record_end(job, result)
        self._done(stream, job, result)

    def _interrupt(self) -> None:
        """Ctrl-C: cancel every running task and mark its trial interrupted."""
        for stream, job in list(self.running.items()):
            try:
                self.ray.cancel(stream, force=True)
            except Exception as e:  # noqa: BLE001  (it may have ended meanwhile)
                logging.debug('cancel trial %d: %s', job.run_idx, e)
            if self.recorder is not None:
                self._close_trial_log(job)
                os.makedirs(self.recorder.run_dir(job.run_idx), exist_ok=True)
                # Rows and results so far stay as they are; --resume re-runs the trial.
                self._update_trial_file(
                    job,
                    {
                        'run_idx': job.run_idx,
                        'hyperparameters': job.hyperparameters,
                        'seed': job.seed,
                        **task.trial_info(job.node_id, job.attempt, job.task_started),
                        'status': spec.TrialStatus.INTERRUPTED,
                    },
                    keep_existing=False,
                )
            del self.running[stream]
        self.pending.clear()

    # --- trial.json for trials whose task could not write it.
    def _close_trial_log(self, job: _Job) -> None:
        if job.trial_log is not None:
            job.trial_log.close()
            job.trial_log = None

    def _record_end(self, job: _Job, result: TrialResult) -> None:
        """Writes how a trial ended when its task could not (it died, or never started)."""
        if self.recorder is None:
            return
        self._close_trial_log(job)
        run_dir = self.recorder.run_dir(job.run_idx)
        os.makedirs(run_dir, exist_ok=True)
        base = {
            'run_idx': job.run_idx,
            'hyperparameters': job.hyperparameters,
            'seed': job.seed,
            **task.trial_info(job.node_id, job.attempt, job.task_started),
        }
        self._update_trial_file(job, base, keep_existing=True)
        self.recorder.finish_trial(_EndedTrial(run_dir), result)

    def _update_trial_file(
        self, job: _Job, info: dict[str, Any], keep_existing: bool = False
    ) -> None:
        path = os.path.join(self.recorder.run_dir(job.run_idx), TRIAL_FILE)
        try:
            existing = files.read_json(path)
        except (OSError, ValueError):
            existing = {}
        merged = {**info, **existing} if keep_existing else {**existing, **info}
        files.write_json(path, merged)


class _EndedTrial:
    """What ``Recorder.finish_trial`` needs of a trial whose recording is already closed."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir

    def close(self) -> None:
        """Nothing left open."""

    def set_status(self, status: str) -> None:
        """The task's writers are closed already: nothing to tell them."""


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [''])[0]
