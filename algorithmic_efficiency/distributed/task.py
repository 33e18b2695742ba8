"""A Ray actor that serves several trials of one sweep and streams each trial's events.

The driver (``distributed.scheduler``) keeps one :class:`TrialActor` per
concurrent slot. Its ``__init__`` runs once per worker process, before
anything imports JAX or PyTorch: it claims a node-local slot (an ``flock``
on a lock file per slot index, :func:`compute_caps.claim_slot`; the lock
goes with the process), pins the process to that slot's CPUs and sets the
thread variables from them (``compute_caps.apply_before_import``: XLA and
BLAS size their pools at import), then imports the submission and the
workload and reads the data, once. Every trial after that runs in the same
process, exactly as the in-process loop runs it, from the seed the driver
derived. The driver replaces the actor after a failed trial and when its
resident memory after a trial is above a limit, so a crash or a leak cannot
reach the next trial.

:meth:`TrialActor.run` is a streaming generator; it yields plain dicts, in this order:

* ``{'kind': 'started', 'node.id', 'pid', 'time', 'threads', 'gpus', 'compute'}`` first
  (``compute``: the keys the trial adds to ``trial.json``, whoever writes it);
* ``{'kind': 'progress', 'line'}`` for every progress line of the trial;
* ``{'kind': 'row', 'row'}`` for every eval row and ``{'kind': 'heartbeat', 'state'}``
  for every heartbeat, only with ``--ray_storage=driver`` (with shared storage
  the actor writes ``run_<N>/`` itself);
* last, ``{'kind': 'finished', 'result', 'rss_bytes', 'rss_limit_bytes'}`` (a
  ``TrialResult`` as a dict; the process's resident memory after the trial and
  the node's default limit for it) or ``{'kind': 'error', 'error', 'traceback'}``
  when the trial could not even start (e.g. the submission does not import).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from algorithmic_efficiency.distributed import compute_caps
from algorithmic_efficiency.distributed.cluster import NODE_ID_COLUMN, anonymous_node_id
from algorithmic_efficiency.layout import TRIAL_FILE
from algorithmic_efficiency.recording.recorder import Recorder, TrialRecorder
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.telemetry import energy as energy_meter
from algorithmic_efficiency.telemetry import sampler as telemetry
from algorithmic_efficiency.training import trials
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialSpec
from algorithmic_efficiency.workloads import registry  # names only: no framework import

STORAGE_SHARED, STORAGE_DRIVER = 'shared', 'driver'
# A replacement actor may start before the one it replaces has exited and
# released its slot: it waits this long for a free slot before running unpinned.
SLOT_WAIT_SEC = 5.0


@dataclasses.dataclass(frozen=True)
class ActorSetup:
    """What every actor of a sweep needs (picklable, no live objects).

    Attributes:
      sweep_trial: the sweep-wide spec (workload, framework, submission, data), paths
        absolute (a worker's working directory is Ray's).
      storage: who writes ``run_<N>/`` (``shared``: the actor; ``driver``: the driver).
      load_submission: the sweep's submission loader, ``(path) -> module``; given by
        the sweep (pickled by reference) so that this package needs no import of ``sweep``.
      sweep_id: names the sweep's slot lock files on every node.
      cpus_per_trial: the CPUs each trial asks Ray for (0: no CPU share).
      concurrent_trials: the sweep's actors (trials running at once).
    """

    sweep_trial: TrialSpec
    storage: str
    load_submission: Callable[..., Any]
    sweep_id: str
    cpus_per_trial: float
    concurrent_trials: int


@dataclasses.dataclass(frozen=True)
class TrialTask:
    """One trial for an actor: the trial, which attempt, when the driver submitted it.

    Attributes:
      trial: the trial, its paths absolute.
      attempt: 1, or the retry's number after the actor or its node died.
      launched: Unix s when the driver submitted it (``trial.json``'s ``launched``).
    """

    trial: TrialSpec
    attempt: int
    launched: float


def thread_count(cpus: float) -> int:
    """Threads for a CPU share: its whole CPUs, at least one."""
    return max(1, int(cpus))


def prepare_environment(framework: str) -> None:
    """What the in-process sweep sets before the framework loads (see ``sweep``)."""
    os.environ.setdefault('CUDA_DEVICE_ORDER', 'PCI_BUS_ID')
    if framework == 'jax':
        os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')
        # Workers share the compiles of the sweep (and earlier sweeps) through this cache.
        compute_caps.set_compilation_cache(os.environ, compute_caps.compilation_cache_dir())


def slot_lock_prefix(sweep_id: str) -> str:
    """Where a sweep's slot lock folders start (in the system's temporary folder)."""
    return os.path.join(tempfile.gettempdir(), f'algoperf-ray-slots-{sweep_id}-')


def slot_lock_dir(sweep_id: str, ray_node_id: str) -> str:
    """The folder of a sweep's slot lock files on one node.

    The node is part of the name because simulated nodes can share a machine.
    """
    return slot_lock_prefix(sweep_id) + hashlib.sha256(ray_node_id.encode('ascii')).hexdigest()[:10]


def node_caps(setup: ActorSetup, node_cpus: float, lock_dir: str,
              gpus: tuple[str, ...] | None) -> tuple[compute_caps.ComputeCaps, int | None, int]:
    """This actor's slot on its node: ``(caps, lock fd, slots on the node)``.

    The node holds ``node_cpus // cpus_per_trial`` slots; the actor takes the
    first free one and its share of the CPUs (``compute_caps.plan_slots``). No
    free slot (or no CPU share): unpinned, with threads from the CPU share.
    """
    cpus = setup.cpus_per_trial
    slots = max(1, int(node_cpus // cpus + 1e-9)) if cpus > 0 else 1
    index, fd = compute_caps.claim_slot(lock_dir, slots, SLOT_WAIT_SEC) if cpus > 0 else (None,
                                                                                           None)
    if index is None:
        caps = compute_caps.ComputeCaps(None, None, thread_count(cpus), gpus,
                                        setup.concurrent_trials)
        return caps, None, slots
    planned = compute_caps.plan_slots(slots, compute_caps.available_cpus())[index]
    caps = dataclasses.replace(planned, gpus=gpus, concurrent_trials=setup.concurrent_trials)
    return caps, fd, slots


class _QueueWriter:
    """A trial's row sink that sends each full row to the driver (``--ray_storage=driver``)."""

    def __init__(self, events: queue.Queue):
        self._events = events

    def write_row(self, row: Mapping[str, Any]) -> None:
        self._events.put({'kind': 'row', 'row': dict(row)})

    def close(self) -> None:
        """Nothing to release: the rows are gone already."""


class _StreamingRecorder:
    """``--ray_storage=driver``: telemetry sampled here, rows sent to the driver, which writes.

    The trial's own files (a submission's ``Logger``) go to a local scratch folder.
    """

    def __init__(self, trial: TrialSpec, extra: dict[str, Any], events: queue.Queue):
        self._trial, self._extra, self._events = trial, extra, events

    def start_trial(self, run_idx: int, hyperparameters: Any, seed: int) -> Any:
        events = self._events

        class RelayedTrialRecorder(TrialRecorder):
            """Its heartbeat goes to the driver, which keeps trial.json (``status`` reads it)."""

            def heartbeat(self, state: dict[str, Any]) -> None:
                events.put({'kind': 'heartbeat', 'state': dict(state)})

        scratch = tempfile.mkdtemp(prefix=f'ae-run_{run_idx}-')
        sampler = telemetry.Sampler(self._trial.recording.telemetry_interval_sec).start()
        # Energy is this node's (its GPUs, its CPU packages), as with shared storage.
        return RelayedTrialRecorder(
            scratch, _QueueWriter(events), sampler, self._extra,
            energy=energy_meter.EnergyMeter(),
        )

    def finish_trial(self, trial_log: Any, result: Any) -> None:
        trial_log.close()  # trial.json and error.txt: the driver's, from the result


def _shared_recorder(trial: TrialSpec, extra: dict[str, Any], info: dict[str, Any]) -> Any:
    """Shared storage: the worker writes ``run_<N>/`` itself, ``info`` added to its trial.json."""
    class NodeRecorder(Recorder):
        def start_trial(self, run_idx, hyperparameters, seed, remote=False):
            trial_log = super().start_trial(run_idx, hyperparameters, seed, remote)
            path = os.path.join(trial_log.run_dir, TRIAL_FILE)
            files.write_json(path, {**files.read_json(path), **info})
            return trial_log

    recording_options = trial.recording
    return NodeRecorder(
        trial.log_dir,
        trial.workload_name,
        mode='resume',  # opens trials only: the driver prepared the directory
        fsync=recording_options.fsync,
        telemetry_interval_sec=recording_options.telemetry_interval_sec,
        extra_metadata=extra,
        tensorboard_hparams=recording_options.tensorboard_hparams,
    )


shared_recorder = _shared_recorder  # the local pool's workers write their trials the same way


def trial_info(node_id: str | None, attempt: int, task_started: float | None) -> dict[str, Any]:
    """What a Ray trial adds to its ``trial.json``: where, which attempt, when it began."""
    return {NODE_ID_COLUMN: node_id, 'attempt': attempt, 'task_started': task_started}


def _error_event(e: BaseException) -> dict[str, Any]:
    first = (str(e).strip().splitlines() or [''])[0]
    return {'kind': 'error', 'error': f'{type(e).__name__}: {first}' if first else type(e).__name__,
            'traceback': traceback.format_exc()}


def _node_cpus(ray: Any, ray_node_id: str) -> float:
    """The CPUs Ray counts on this node (the CPUs this process may use if it is not listed)."""
    for node in ray.nodes():
        if node.get('NodeID') == ray_node_id:
            return float(node.get('Resources', {}).get('CPU', 0.0))
    return float(len(compute_caps.available_cpus()))


class TrialActor:
    """A Ray actor serving trial after trial of one sweep (see the module docstring)."""

    def __init__(self, setup: ActorSetup):
        import ray  # noqa: PLC0415  (an optional package: imported in a Ray worker only)

        self.began = time.time()
        self.setup, self.served, self._failed = setup, 0, None
        framework = setup.sweep_trial.framework
        context = ray.get_runtime_context()
        ray_node_id = context.get_node_id()
        self.node_id = anonymous_node_id(ray_node_id)
        gpus = tuple(str(g) for g in ray.get_gpu_ids()) or None
        self.caps, self._slot_fd, slots = node_caps(
            setup, _node_cpus(ray, ray_node_id), slot_lock_dir(setup.sweep_id, ray_node_id), gpus)
        self.rss_limit = compute_caps.default_rss_limit(slots)
        # Before anything imports the framework: its pools are sized once, at start-up.
        compute_caps.apply_before_import(self.caps, framework)
        prepare_environment(framework)
        try:
            trial = setup.sweep_trial
            self.submission = setup.load_submission(trial.submission_path)
            self.workload = registry.load_workload(trial.workload_name, framework)
            self.workload.prepare_data(trial.data_dir)
            compute_caps.apply_after_import(self.caps, framework)
        except BaseException as e:  # noqa: BLE001  (the first trial reports it to the driver)
            self._failed = _error_event(e)

    def run(self, task: TrialTask) -> Iterator[dict[str, Any]]:
        """One trial (a streaming generator: see the module docstring for its events)."""
        # A worker's first trial started with the worker, before the imports.
        started = self.began if self.served == 0 else time.time()
        self.served += 1
        compute = {**compute_caps.record(self.caps), 'worker.pid': os.getpid(),
                   'worker.trials_served': self.served, 'launched': task.launched}
        yield {'kind': 'started', NODE_ID_COLUMN: self.node_id, 'pid': os.getpid(),
               'time': started, 'threads': self.caps.threads,
               'gpus': list(self.caps.gpus or ()), 'compute': compute}
        if self._failed is not None:
            yield self._failed
            return
        events: queue.Queue = queue.Queue()
        info = {**trial_info(self.node_id, task.attempt, started), **compute}
        worker = threading.Thread(target=self._run, args=(task, info, events), daemon=True)
        worker.start()
        while True:
            event = events.get()
            yield event
            if event['kind'] in ('finished', 'error'):
                break
        worker.join()

    def _run(self, task: TrialTask, info: dict[str, Any], events: queue.Queue) -> None:
        """The trial, in a thread of the actor: its last event is ``finished`` or ``error``."""
        try:
            events.put(self._trial(task, info, events))
        except BaseException as e:  # noqa: BLE001  (reported to the driver, which decides)
            events.put(_error_event(e))

    def _trial(self, task: TrialTask, info: dict[str, Any],
               events: queue.Queue) -> dict[str, Any]:
        trial = task.trial
        extra = {NODE_ID_COLUMN: self.node_id, **trial.recording.extra_metadata,
                 **compute_caps.row_columns(self.caps)}
        recorder: Any = None
        if trial.log_dir is not None and self.setup.storage == STORAGE_DRIVER:
            recorder = _StreamingRecorder(trial, extra, events)
        elif trial.log_dir is not None:
            recorder = _shared_recorder(trial, extra, info)
        hooks = TrialHooks(progress=lambda line: events.put({'kind': 'progress', 'line': line}))
        result = trials.run_trial(self.workload, self.submission, trial, recorder, hooks)
        return {'kind': 'finished', 'result': dataclasses.asdict(result),
                'rss_bytes': compute_caps.rss_bytes(), 'rss_limit_bytes': self.rss_limit}
