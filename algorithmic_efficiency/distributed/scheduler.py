"""The driver: trials fanned out to long-lived Ray actors, one per concurrent slot.

:class:`RayExecutor` (a ``training.executors.TrialExecutor``) connects to Ray
(``with RayExecutor(options, num_trials, load_submission) as executor:``),
describes the cluster's nodes for ``metadata.json`` and runs the trial specs
it is given on ``concurrency`` actors (``task.TrialActor``, each asking for
one trial's resources): an idle actor gets the next trial as soon as its
last one ends (``ray.wait`` over the trials' event streams, not fixed waves).
An actor imports the framework and reads the data once and serves trial
after trial; it is replaced by a fresh one after a failed trial and when its
resident memory after a trial is above the limit. A trial whose actor or
node died is submitted again to a fresh actor (``--trial_retries``), its
earlier files kept as ``attempt-K.*``; after the last retry it is marked
failed and the sweep goes on. Ctrl-C kills the actors, marks their trials
interrupted and re-raises (the runner exits 130; ``--resume`` re-runs them).
The driver alone writes ``metadata.json``; with ``--ray_storage=driver`` it
also writes every trial's files from the rows the actors stream back.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import logging
import os
import shutil
import time
import uuid
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
RETRYABLE_ERRORS = ('WorkerCrashedError', 'NodeDiedError', 'OutOfMemoryError',
                    'ActorDiedError', 'RayActorError', 'ActorUnavailableError')


@dataclasses.dataclass
class _Job:
    """A trial in flight: which attempt, where it runs, its driver-side recording."""

    trial: TrialSpec
    attempt: int = 1
    submitted: float = 0.0
    node_id: str | None = None
    task_started: float | None = None
    trial_log: Any = None  # --ray_storage=driver: the driver's TrialRecorder
    stream: Any = None  # the actor's event stream for this trial

    @property
    def run_idx(self) -> int:
        return self.trial.run_idx

    @property
    def hyperparameters(self) -> dict[str, Any] | None:
        return self.trial.hyperparameters

    @property
    def seed(self) -> int:
        return self.trial.seed


@dataclasses.dataclass
class _Slot:
    """One concurrent slot: its actor (None until needed, or after it was let go) and trial."""

    actor: Any = None
    job: _Job | None = None


class RayExecutor:
    """A sweep's Ray session: a ``training.executors.TrialExecutor`` (see the module docstring).

    Args:
      ray_options: the checked Ray flags.
      num_trials: the sweep's trials (resources and concurrency are planned for them).
      load_submission: the sweep's submission loader, ``(path) -> module``, run in
        each task (the sweep's own, so that ``distributed`` does not import ``sweep``).
      recorder: the driver's ``Recorder`` (None: nothing recorded).
      progress: receives the driver's and the actors' progress lines.
    """

    # An actor whose resident memory after a trial is above this is replaced;
    # None: the actor's node's default (half its memory shared among its slots,
    # as in the local pool). No flag: tests set it tiny to replace every actor.
    max_worker_rss_bytes: int | None = None

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
        # Names the sweep's slot lock files (task.slot_lock_dir) on every node.
        self.sweep_id = uuid.uuid4().hex[:12]
        # Per-trial timings (seconds), for benchmarks: submit -> the worker began the trial.
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
        # This machine's slot lock files (other nodes keep theirs, a few empty files).
        for folder in glob.glob(task.slot_lock_prefix(self.sweep_id) + '*'):
            shutil.rmtree(folder, ignore_errors=True)

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
    """The event loop of one :meth:`RayExecutor.results`: its actors and the trials in flight."""

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
        self.running: dict[Any, _Slot] = {}  # event stream -> the slot running its trial
        self.results: dict[int, TrialResult] = {}
        self.slots = [_Slot() for _ in range(session.concurrency)]
        self.setup: task.ActorSetup | None = None
        resources = options.ray_resources(session.resources)
        # max_restarts=0, max_task_retries=0: retries are the driver's, on a fresh
        # actor, so that each attempt's files are kept apart.
        self.actor_class = self.ray.remote(max_restarts=0, max_task_retries=0,
                                           **resources)(task.TrialActor)

    def run(self) -> dict[int, TrialResult]:
        try:
            while self.pending or self.running:
                for slot in self.slots:
                    if slot.job is None and self.pending:
                        self._submit(slot, self.pending.popleft())
                ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=1.0)
                for stream in ready:
                    self._next_event(stream)
        except KeyboardInterrupt:
            self._interrupt()
            raise
        finally:
            for slot in self.slots:
                self._let_go(slot)
        return self.results

    def _submit(self, slot: _Slot, job: _Job) -> None:
        if slot.actor is None:
            if self.setup is None:  # the sweep's spec, from its first trial
                session = self.session
                self.setup = task.ActorSetup(
                    job.trial, session.options.storage, session.load_submission,
                    session.sweep_id, options.ray_resources(session.resources)['num_cpus'],
                    session.concurrency)
            slot.actor = self.actor_class.remote(self.setup)
        job.submitted, job.node_id, job.task_started = time.time(), None, None
        self.progress(
            f'{job.trial.workload_name} trial {job.run_idx}/{self.num_trials}: submitted to Ray '
            f'(attempt {job.attempt}), seed {job.seed}, hyperparameters {job.hyperparameters}'
        )
        job.stream = slot.actor.run.remote(task.TrialTask(job.trial, job.attempt, job.submitted))
        slot.job = job
        self.running[job.stream] = slot

    def _let_go(self, slot: _Slot) -> None:
        """Ends the slot's actor (its process, its slot lock); the next trial gets a fresh one."""
        actor, slot.actor = slot.actor, None
        if actor is not None:
            try:
                self.ray.kill(actor)
            except Exception as e:  # noqa: BLE001  (it may be gone already)
                logging.debug('kill actor: %s', e)

    def _next_event(self, stream: Any) -> None:
        slot = self.running[stream]
        try:
            event = self.ray.get(next(stream))
        except StopIteration:  # ended without its last event: treat as lost
            self._lost(slot, 'the trial ended without a result')
            return
        except Exception as e:  # noqa: BLE001  (Ray's errors: which ones is decided below)
            name = type(e).__name__
            retry = isinstance(e, self.ray.exceptions.RayError) and name in RETRYABLE_ERRORS
            self._lost(slot, f'{name}: {_first_line(e)}', retry=retry)
            return
        getattr(self, f'_on_{event["kind"]}')(slot, slot.job, event)

    # --- Events.
    def _on_started(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        job.node_id, job.task_started = event[NODE_ID_COLUMN], event['time']
        self.session.start_latency[job.run_idx] = event['time'] - job.submitted
        compute = event.get('compute', {})
        self.progress(
            f'{job.trial.workload_name} trial {job.run_idx}: started on {job.node_id} '
            f"(worker {event['pid']}, its trial {compute.get('worker.trials_served')}; "
            f"CPUs {_cpus(compute.get('compute.cpus'))}, {event['threads']} thread(s), "
            f"GPUs {event['gpus'] or 'none'})"
        )
        if self.session.options.storage == task.STORAGE_DRIVER and self.recorder is not None:
            job.trial_log = self.recorder.start_trial(
                job.run_idx, job.hyperparameters, job.seed, remote=True
            )
            self._update_trial_file(
                job, {**task.trial_info(job.node_id, job.attempt, job.task_started), **compute}
            )

    def _on_progress(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        self.progress(event['line'])

    def _on_row(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        if job.trial_log is not None:
            job.trial_log.record_eval(event['row'])

    def _on_heartbeat(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        if job.trial_log is not None:
            job.trial_log.heartbeat(event['state'])

    def _on_finished(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        result = TrialResult(**event['result'])
        if job.trial_log is not None:
            self.recorder.finish_trial(job.trial_log, result)
        limit = self.session.max_worker_rss_bytes or event['rss_limit_bytes']
        if result.status == spec.TrialStatus.FAILED or event['rss_bytes'] > limit:
            self._let_go(slot)  # a crash or a leak cannot reach the next trial
        self._done(slot, result)

    def _on_error(self, slot: _Slot, job: _Job, event: dict[str, Any]) -> None:
        self._let_go(slot)
        self._fail(slot, event['error'], event['traceback'])

    # --- Ends.
    def _done(self, slot: _Slot, result: TrialResult) -> None:
        del self.running[slot.job.stream]
        slot.job = None
        self.results[result.run_idx] = result

    def _lost(self, slot: _Slot, error: str, retry: bool = False) -> None:
        """The actor died under the trial: retry it (same seed) on a fresh actor, or fail it."""
        job = slot.job
        self._let_go(slot)
        if retry and job.attempt <= self.session.options.trial_retries:
            self.progress(
                f'{job.trial.workload_name} trial {job.run_idx}: lost ({error}); '
                f'retrying (attempt {job.attempt + 1} of {self.session.options.trial_retries + 1})'
            )
            self._close_trial_log(job)
            del self.running[job.stream]
            slot.job = None
            job.attempt += 1
            self.pending.appendleft(job)  # keeps its place: next to start
            return
        self._fail(slot, error, error + '\n')

    def _fail(self, slot: _Slot, error: str, traceback: str) -> None:
        job = slot.job
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
        self._done(slot, result)

    def _interrupt(self) -> None:
        """Ctrl-C: kill every actor and mark its running trial interrupted."""
        for slot in list(self.running.values()):
            job = slot.job
            self._let_go(slot)
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
            del self.running[job.stream]
            slot.job = None
        self.pending.clear()

    # --- trial.json for trials whose actor could not write it.
    def _close_trial_log(self, job: _Job) -> None:
        if job.trial_log is not None:
            job.trial_log.close()
            job.trial_log = None

    def _record_end(self, job: _Job, result: TrialResult) -> None:
        """Writes how a trial ended when its actor could not (it died, or never started)."""
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
        """The actor's writers are closed already: nothing to tell them."""


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [''])[0]


def _cpus(cpus: list[int] | None) -> str:
    return ','.join(map(str, cpus)) if cpus else 'unpinned'
