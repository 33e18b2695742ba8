"""One trial as a Ray task: runs in a fresh worker process and streams events to the driver.

The task (a Ray streaming generator, ``max_calls=1`` so every trial gets a
new process: no JAX/PyTorch state, compiled code or device memory carries
over) sets its thread counts from its CPU share, imports the submission and
the workload, and runs the trial exactly as the in-process loop does, from
the seed the driver derived. It yields plain dicts, in this order:

* ``{'kind': 'started', 'node.id', 'pid', 'time', 'threads', 'gpus', 'compute'}`` first;
* ``{'kind': 'progress', 'line'}`` for every progress line of the trial;
* ``{'kind': 'row', 'row'}`` for every eval row and ``{'kind': 'heartbeat', 'state'}``
  for every heartbeat, only with ``--ray_storage=driver`` (with shared storage
  the task writes ``run_<N>/`` itself);
* last, ``{'kind': 'finished', 'result'}`` (a ``TrialResult`` as a dict) or
  ``{'kind': 'error', 'error', 'traceback'}`` when the trial could not even start.
"""

from __future__ import annotations

import dataclasses
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

# Variables the BLAS/OpenMP runtimes read at load time; set before the
# submission imports its framework (the worker process is fresh).
THREAD_ENV_VARS = (
    'OMP_NUM_THREADS',
    'MKL_NUM_THREADS',
    'OPENBLAS_NUM_THREADS',
    'NUMEXPR_NUM_THREADS',
    'VECLIB_MAXIMUM_THREADS',
)
STORAGE_SHARED, STORAGE_DRIVER = 'shared', 'driver'


@dataclasses.dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run one trial (picklable, no live objects).

    Attributes:
      trial: the trial, its paths absolute (a worker's working directory is Ray's).
      attempt: 1, or the retry's number after the worker or its node died.
      storage: who writes ``run_<N>/`` (``shared``: the task; ``driver``: the driver).
      load_submission: the sweep's submission loader, ``(path, framework) -> module``;
        given by the sweep (pickled by reference) so that this package needs no
        import of ``sweep``.
    """

    trial: TrialSpec
    attempt: int
    storage: str
    load_submission: Callable[..., Any]


def thread_count(cpus: float) -> int:
    """Threads for a CPU share: its whole CPUs, at least one."""
    return max(1, int(cpus))


def set_thread_counts(threads: int, framework: str) -> None:
    """The trial's thread counts: the BLAS/OpenMP variables (Ray sets only OMP's, to 1)."""
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    if framework == 'jax':  # XLA's CPU pools ignore OMP_NUM_THREADS (distributed.compute_caps)
        os.environ.setdefault(compute_caps.XLA_THREADS_ENV, str(threads))
    if framework == 'pytorch':
        # pylint: disable=import-outside-toplevel
        from algorithmic_efficiency.workloads import pytorch_utils  # torch: this trial's anyway

        pytorch_utils.set_num_threads(threads)


def prepare_environment(framework: str) -> None:
    """What the in-process sweep sets before the framework loads (see ``sweep``)."""
    os.environ.setdefault('CUDA_DEVICE_ORDER', 'PCI_BUS_ID')
    if framework == 'jax':
        os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')
        # Every trial is a fresh worker: its compiles come from the sweep's shared cache.
        compute_caps.set_compilation_cache(os.environ, compute_caps.compilation_cache_dir())


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
    """Shared storage: the task writes ``run_<N>/`` itself, ``info`` added to its trial.json."""
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
    """What a Ray trial adds to its ``trial.json``: where, which attempt, when its task started."""
    return {NODE_ID_COLUMN: node_id, 'attempt': attempt, 'task_started': task_started}


def _trial(task: TrialTask, node_id: str, started: float, events: queue.Queue) -> dict[str, Any]:
    """Imports, recording and the trial; returns the ``finished`` event."""
    trial = task.trial
    submission = task.load_submission(trial.submission_path)
    workload = registry.load_workload(trial.workload_name, trial.framework)
    workload.prepare_data(trial.data_dir)
    extra = {NODE_ID_COLUMN: node_id, **trial.recording.extra_metadata}
    recorder: Any = None
    if trial.log_dir is not None and task.storage == STORAGE_DRIVER:
        recorder = _StreamingRecorder(trial, extra, events)
    elif trial.log_dir is not None:
        info = {**trial_info(node_id, task.attempt, started), **compute_caps.this_process()}
        recorder = _shared_recorder(trial, extra, info)
    hooks = TrialHooks(progress=lambda line: events.put({'kind': 'progress', 'line': line}))
    result = trials.run_trial(workload, submission, trial, recorder, hooks)
    return {'kind': 'finished', 'result': dataclasses.asdict(result)}


def _run(task: TrialTask, node_id: str, started: float, events: queue.Queue) -> None:
    """The trial, in a thread of the worker: its last event is ``finished`` or ``error``."""
    try:
        events.put(_trial(task, node_id, started, events))
    except BaseException as e:  # noqa: BLE001  (reported to the driver, which decides)
        first = (str(e).strip().splitlines() or [''])[0]
        events.put(
            {
                'kind': 'error',
                'error': f'{type(e).__name__}: {first}' if first else type(e).__name__,
                'traceback': traceback.format_exc(),
            }
        )


def run_trial_task(task: TrialTask) -> Iterator[dict[str, Any]]:
    """The body of the Ray task (see the module docstring for the events)."""
    import ray  # noqa: PLC0415  (an optional package: imported in a Ray worker only)

    started = time.time()
    context = ray.get_runtime_context()
    node_id = anonymous_node_id(context.get_node_id())
    assigned = context.get_assigned_resources()
    threads = thread_count(assigned.get('CPU', 1.0))
    prepare_environment(task.trial.framework)
    set_thread_counts(threads, task.trial.framework)
    yield {
        'kind': 'started',
        NODE_ID_COLUMN: node_id,
        'pid': os.getpid(),
        'time': started,
        'threads': threads,
        'gpus': [str(g) for g in ray.get_gpu_ids()],
        'compute': compute_caps.this_process(),  # for trial.json, whoever writes it
    }
    events: queue.Queue = queue.Queue()
    worker = threading.Thread(target=_run, args=(task, node_id, started, events), daemon=True)
    worker.start()
    while True:
        event = events.get()
        yield event
        if event['kind'] in ('finished', 'error'):
            break
    worker.join()
