"""``--max_concurrent_trials=N`` without Ray: N trials at once in local worker processes.

:class:`LocalPoolExecutor` is a ``training.executors.TrialExecutor``. It
splits this machine into N slots (``compute_caps.plan_slots``: disjoint CPUs,
one GPU each where there are GPUs) and keeps one worker process per slot
(``pool_worker``). Why our own small pool and not Ray or
``concurrent.futures``:

* start-up: a local Ray instance costs seconds to start and ~240 MB to
  install; here a worker imports the framework and reads the data once and
  serves trial after trial (Ray's actors, ``distributed.task``, do the same
  across a cluster);
* caps: each worker keeps its slot for life, so its CPU affinity and thread
  pools are set once, before the framework loads; ``ProcessPoolExecutor``
  cannot give a worker an identity;
* failure isolation: a worker that dies (OOM killer, segfault, ``kill``) costs
  only its trial, retried ``--trial_retries`` times like Ray's; with
  ``ProcessPoolExecutor`` it breaks the whole pool. A worker is replaced by a
  fresh one after a failed trial and when its memory after a trial exceeds
  ``max_worker_rss_bytes`` (a leak cannot reach the next trial).

Results are those of the sequential sweep (same specs, same seeds); each
trial's files are written by its worker alone, ``metadata.json`` by the
driver alone. Only a trial whose worker died gets its end written by the driver.

Signals reach the workers through the driver alone (each worker has its own
process group, so a terminal's Ctrl-C is not delivered twice): Ctrl-C
(SIGINT) is passed to the busy workers, whose trials end ``interrupted``, and
re-raised (exit 130); SIGTERM/SIGUSR1 (preemption) are passed on too, the busy
trials checkpoint and end ``preempted``, no queued trial starts, and the sweep
ends with ``TrialPreempted`` (exit 143). ``--resume`` continues either way.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing import connection
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.distributed import compute_caps, pool_worker
from algorithmic_efficiency.distributed.scheduler import TRIAL_FILE, _EndedTrial
from algorithmic_efficiency.recording import redact
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training import checkpointing
from algorithmic_efficiency.training.results import TrialPreempted, TrialResult
from algorithmic_efficiency.training.trial_spec import TrialSpec

# A fresh interpreter per worker: fork would copy the driver's JAX/PyTorch
# threads and state (unsafe), and the caps must be set before the framework loads.
START_METHOD = 'spawn'
# How long the driver waits for signalled workers to record their trials' ends.
STOP_GRACE_SEC = 30.0


@dataclasses.dataclass
class _Slot:
    caps: compute_caps.ComputeCaps
    process: Any = None
    conn: Any = None
    job: tuple[TrialSpec, int] | None = None  # (trial, attempt)
    served: int = 0


class LocalPoolExecutor:
    """Trials on N local worker processes (see the module docstring).

    Args:
      max_concurrent: N, the trials at once (at most one per GPU where there are GPUs).
      num_trials: the sweep's trials (fewer trials: fewer workers).
      load_submission: the sweep's loader, ``(path) -> module``, run in each worker.
      recorder: the driver's ``Recorder`` (None: nothing recorded).
      progress: receives the driver's and the workers' progress lines.
      num_devices: ``--num_devices`` for each worker.
      trial_retries: re-runs of a trial whose worker died.
      gpus: the GPU ids to hand out (None: from ``CUDA_VISIBLE_DEVICES``/NVML).
      max_worker_rss_bytes: a worker above this after a trial is replaced
        (None: half the machine's memory shared among the workers).
    """

    def __init__(self, max_concurrent: int, num_trials: int, load_submission: Callable[..., Any],
                 recorder: Any = None, progress: Callable[[str], None] = logging.info,
                 **options: Any):  # fmt: skip
        self.num_trials, self.load_submission = num_trials, load_submission
        self.recorder, self.progress = recorder, progress
        self.num_devices = options.get('num_devices')
        self.trial_retries = options.get('trial_retries', 1)
        gpus = options.get('gpus')
        gpus = visible_gpus() if gpus is None else gpus
        wanted = max(1, min(max_concurrent, num_trials))
        self.slots = [_Slot(c) for c in compute_caps.plan_slots(
            wanted, compute_caps.available_cpus(), gpus)]
        self.max_worker_rss_bytes = options.get('max_worker_rss_bytes') or _default_rss_limit(
            len(self.slots))
        self.cache_dir = compute_caps.compilation_cache_dir()
        self._pending: collections.deque[tuple[TrialSpec, int]] = collections.deque()
        self._results: dict[int, TrialResult] = {}
        self._context = multiprocessing.get_context(START_METHOD)
        # For benchmarks and tests: run_idx -> (worker pid, trials that worker had served).
        self.served_by: dict[int, tuple[int, int]] = {}
        self._signalled: int | None = None  # SIGTERM/SIGUSR1 received: no new trials

    def __enter__(self) -> LocalPoolExecutor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for slot in self.slots:
            self._stop(slot)

    def metadata(self) -> dict[str, Any]:
        """``metadata.json``'s ``concurrency``: how many trials ran at once, on what."""
        return {'concurrency': {
            'executor': 'local_pool',
            'max_concurrent_trials': len(self.slots),
            'slots': [{'cpus': list(s.caps.cpus or ()), 'threads': s.caps.threads,
                       'gpus': list(s.caps.gpus) if s.caps.gpus is not None else None}
                      for s in self.slots],
            'max_worker_rss_bytes': self.max_worker_rss_bytes,
            'jax_compilation_cache_dir': redact.display_path(self.cache_dir),
        }}

    def submit(self, trial: TrialSpec) -> None:
        """Queues one trial; :meth:`results` runs the queue."""
        self._pending.append((trial.with_absolute_paths(), 1))

    def results(self) -> dict[int, TrialResult]:
        """Runs every queued trial, N at once; their results by ``run_idx``.

        Raises:
          KeyboardInterrupt: Ctrl-C (the busy trials were interrupted and recorded).
          TrialPreempted: SIGTERM/SIGUSR1 (the busy trials checkpointed, recorded ``preempted``).
        """
        previous = self._forward_preemption()
        try:
            while (self._pending and self._signalled is None) or any(s.job for s in self.slots):
                self._step()
        except KeyboardInterrupt:
            self._interrupt()
            raise
        finally:
            checkpointing.restore_signal_handlers(previous)
        errors = [r.disk_error for r in self._results.values() if r.disk_error is not None]
        if errors:
            raise errors[0]  # a full disk: --resume continues, as in the sequential sweep
        preempted = [r for r in self._results.values() if r.status == spec.TrialStatus.PREEMPTED]
        if self._signalled is not None:
            raise TrialPreempted(preempted[0] if preempted else TrialResult(
                run_idx=0, hyperparameters=None, seed=0, status=spec.TrialStatus.PREEMPTED,
                stop_reason=spec.StopReason.PREEMPTED))
        return dict(self._results)

    def _step(self, timeout: float = 1.0) -> None:
        """Hands queued trials to idle workers, then handles what the busy ones sent."""
        for slot in self.slots:
            if slot.job is None and self._pending and self._signalled is None:
                self._dispatch(slot, self._pending.popleft())
        busy = {s.caps.slot: s for s in self.slots if s.job is not None}
        waitables = {w: s for s in busy.values() for w in (s.conn, s.process.sentinel)}
        ready_slots = {waitables[w].caps.slot
                       for w in connection.wait(list(waitables), timeout=timeout)}
        for slot in (busy[i] for i in sorted(ready_slots)):
            self._receive(slot)

    def _signal_busy(self, signum: int) -> None:
        for slot in self.slots:
            if slot.job is not None and slot.process is not None and slot.process.is_alive():
                try:
                    os.kill(slot.process.pid, signum)
                except ProcessLookupError:
                    pass  # it ended meanwhile: its sentinel tells the loop

    def _forward_preemption(self) -> list[tuple[int, Any]]:
        """SIGTERM/SIGUSR1 to the driver: passed to the busy workers; no queued trial starts."""
        if threading.current_thread() is not threading.main_thread():
            return []

        def handler(signum: int, frame: Any) -> None:
            del frame
            logging.warning('received %s: the running trials checkpoint and stop (preempted); '
                            'queued trials are left for --resume', signal.Signals(signum).name)
            self._signalled = signum
            self._signal_busy(signum)

        return [(s, signal.signal(s, handler)) for s in checkpointing.PREEMPTION_SIGNALS]

    # --- Workers.
    def _dispatch(self, slot: _Slot, job: tuple[TrialSpec, int]) -> None:
        if slot.process is None:
            slot.conn, child = self._context.Pipe()
            setup = pool_worker.WorkerSetup(slot.caps, job[0], self.load_submission,
                                            self.num_devices, self.cache_dir)
            slot.process = self._context.Process(target=pool_worker.main, args=(child, setup),
                                                 name=f'trial-slot-{slot.caps.slot}', daemon=True)
            slot.process.start()
            child.close()
            slot.served = 0
        trial, attempt = job
        slot.job, slot.served = job, slot.served + 1
        self.served_by[trial.run_idx] = (slot.process.pid, slot.served)
        cpus = ','.join(map(str, slot.caps.cpus or ()))
        self.progress(f'{trial.workload_name} trial {trial.run_idx}/{self.num_trials}: slot '
                      f'{slot.caps.slot} (CPUs {cpus}), seed {trial.seed}, '
                      f'hyperparameters {trial.hyperparameters}')
        # With its launch time: trial.json's 'launched' (launch -> first step, in benchmarks).
        slot.conn.send((*job, time.time()))

    def _receive(self, slot: _Slot) -> None:
        try:
            message = slot.conn.recv() if slot.conn.poll() else None
        except (EOFError, OSError):
            message = None
        if message is None:
            if not slot.process.is_alive():
                self._lost(slot)
            return
        kind = message[0]
        if kind == 'progress':
            self.progress(message[1])
        elif kind == 'finished':
            result = TrialResult(**message[1])
            self._end(slot, result)
            if result.status == spec.TrialStatus.FAILED or message[2] > self.max_worker_rss_bytes:
                self._stop(slot)  # the next trial gets a fresh worker
        elif kind == 'stopped':  # interrupted or preempted: recorded by the worker
            self._end(slot, TrialResult(**message[1]))
            self._stop(slot, wait=True)
        elif kind == 'error' and self._signalled is not None:
            slot.job = None  # stopped by the signal before its trial began: --resume runs it
            self._stop(slot, wait=True)
        elif kind == 'error':
            self._stop(slot, wait=True)
            self._fail(slot, message[1], message[2])

    def _lost(self, slot: _Slot) -> None:
        """The worker died under its trial: retry it (same seed), or mark it failed."""
        trial, attempt = slot.job
        code = slot.process.exitcode
        self._stop(slot)
        if self._signalled is not None:  # stopped by the signal: --resume continues it
            slot.job = None
            return
        error = f'the worker process died (exit code {code})'
        if attempt <= self.trial_retries:
            self.progress(f'{trial.workload_name} trial {trial.run_idx}: lost ({error}); '
                          f'retrying (attempt {attempt + 1} of {self.trial_retries + 1})')
            slot.job = None
            self._pending.appendleft((trial, attempt + 1))
            return
        self._fail(slot, error, error + '\n', (trial, attempt))

    def _fail(self, slot: _Slot, error: str, traceback: str,
              job: tuple[TrialSpec, int] | None = None) -> None:
        trial, attempt = job or slot.job
        self.progress(f'{trial.workload_name} trial {trial.run_idx} FAILED: {error}')
        result = TrialResult(run_idx=trial.run_idx, hyperparameters=trial.hyperparameters,
                             seed=trial.seed, status=spec.TrialStatus.FAILED,
                             stop_reason=spec.StopReason.ERROR, error=error, traceback=traceback)
        if self.recorder is not None:
            # Its worker is gone: the driver writes how the trial ended.
            run_dir = self.recorder.run_dir(trial.run_idx)
            os.makedirs(run_dir, exist_ok=True)
            path = os.path.join(run_dir, TRIAL_FILE)
            try:
                info = files.read_json(path)
            except (OSError, ValueError):
                info = {'run_idx': trial.run_idx, 'hyperparameters': trial.hyperparameters,
                        'seed': trial.seed}
            files.write_json(path, {**info, 'attempt': attempt})
            self.recorder.finish_trial(_EndedTrial(run_dir), result)
        self._end(slot, result)

    def _end(self, slot: _Slot, result: TrialResult) -> None:
        slot.job = None
        self._results[result.run_idx] = result

    def _stop(self, slot: _Slot, wait: bool = False) -> None:
        """Ends the slot's worker (asked to exit when idle, else terminated)."""
        process, slot.process = slot.process, None
        if process is None:
            return
        if process.is_alive() and (slot.job is None or wait):
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)
        slot.conn.close()

    def _interrupt(self) -> None:
        """Ctrl-C: the busy workers get it and record their trials as interrupted."""
        self._pending.clear()
        self._signalled = signal.SIGINT
        self._signal_busy(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SEC
        try:
            while any(s.job for s in self.slots) and time.monotonic() < deadline:
                self._step(timeout=0.5)
        finally:  # a second Ctrl-C, or workers too slow: stop them now
            for slot in self.slots:
                slot.job = None
                self._stop(slot)


def visible_gpus() -> list[str]:
    """The GPUs trials may use: ``CUDA_VISIBLE_DEVICES`` if set, else NVML's count."""
    env = os.environ.get('CUDA_VISIBLE_DEVICES')
    if env is not None:
        return [g.strip() for g in env.split(',') if g.strip() and g.strip() != '-1']
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.telemetry import nvml  # pynvml only if installed

    handle = nvml.get_nvml()
    try:
        return [str(i) for i in range(handle.nvmlDeviceGetCount())] if handle else []
    except Exception:  # noqa: BLE001  (no driver: no GPUs)
        return []


# Half the machine's memory shared among the workers (a module name: tests shrink it).
_default_rss_limit = compute_caps.default_rss_limit


def from_config(config: Any, processes: Any, num_trials: int,
                load_submission: Callable[..., Any], recorder: Any) -> LocalPoolExecutor:
    """The pool a ``sweep.RunConfig`` asks for (``--max_concurrent_trials``, no Ray).

    Raises:
      ValueError: with ``torchrun``'s several processes (one trial spans them all).
    """
    if processes.world_size > 1:
        raise ValueError(
            f'--max_concurrent_trials={config.max_concurrent_trials} runs trials in local '
            f'worker processes; under torchrun ({processes.world_size} processes) a trial '
            'spans them all: drop --max_concurrent_trials or run without torchrun'
        )
    return LocalPoolExecutor(
        config.max_concurrent_trials, num_trials, load_submission, recorder,
        progress=logging.info, num_devices=config.num_devices,
        trial_retries=config.trial_retries,
    )
