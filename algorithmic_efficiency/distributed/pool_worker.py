"""A local pool's worker process: caps set, imports done once, then trial after trial.

Started by ``distributed.local_pool`` with the ``spawn`` method (a fresh
interpreter: no JAX/PyTorch state of the driver's, and nothing imported yet,
so the caps below apply to the framework's thread pools). It:

1. pins itself to its slot's CPUs and sets the thread variables and the JAX
   compilation cache (``compute_caps.apply_before_import``);
2. imports the submission and the workload and reads the data, once;
3. runs each trial the driver sends (``(trial, attempt, launch time)``),
   writing that trial's ``run_<N>/`` itself (the only process that writes
   it), until the driver sends ``None``.

Messages to the driver (tuples, over a ``multiprocessing`` pipe):
``('started', run_idx, time)``, ``('progress', line)``,
``('finished', result_dict, rss_bytes)``, ``('stopped', result_dict)`` for a
trial ended by Ctrl-C or preemption (recorded ``interrupted``/``preempted``)
and, when a trial could not run at all, ``('error', message, traceback)``;
after these last two the worker exits (the driver starts a fresh one for the
next trial).

A worker is the leader of its own process group: a terminal's Ctrl-C reaches
the driver only, which passes it on to the busy workers once. On Linux it also
asks for SIGTERM when the driver dies (``PR_SET_PDEATHSIG``): a driver killed
outright leaves no worker training on, and the worker's trial checkpoints and
ends ``preempted`` instead.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from algorithmic_efficiency.distributed import compute_caps, task
from algorithmic_efficiency.training import checkpointing, trials
from algorithmic_efficiency.training.results import TrialInterrupted
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialSpec
from algorithmic_efficiency.workloads import registry  # names only: no framework import


@dataclasses.dataclass(frozen=True)
class WorkerSetup:
    """What every worker of a sweep needs (picklable).

    Attributes:
      caps: the worker's slot.
      sweep_trial: the sweep-wide spec (workload, framework, submission, data).
      load_submission: the sweep's submission loader, ``(path) -> module``.
      num_devices: ``--num_devices``.
      compilation_cache_dir: the JAX compilation cache the sweep's trials share.
    """

    caps: compute_caps.ComputeCaps
    sweep_trial: TrialSpec
    load_submission: Callable[..., Any]
    num_devices: int | None = None
    compilation_cache_dir: str | None = None


def _error(e: BaseException) -> tuple[str, str, str]:
    first = (str(e).strip().splitlines() or [''])[0]
    return ('error', f'{type(e).__name__}: {first}' if first else type(e).__name__,
            traceback.format_exc())


# prctl(2)'s option: the signal this process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def _detach_from_terminal_signals() -> None:
    """Own process group; SIGTERM when the driver dies (Linux; elsewhere skipped)."""
    os.setpgid(0, 0)
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _next_trial(conn: Any) -> Any:
    """The driver's next message; None (exit) when it is gone or we are interrupted idle."""
    try:
        return conn.recv()
    except (EOFError, OSError, KeyboardInterrupt):
        return None


def _send(conn: Any, message: tuple) -> None:
    """To the driver, if it is still there (a killed driver's trials still end recorded)."""
    try:
        conn.send(message)
    except (BrokenPipeError, OSError):
        pass


def main(conn: Any, setup: WorkerSetup) -> None:
    """The worker's body (the ``multiprocessing.Process`` target)."""
    _detach_from_terminal_signals()
    checkpointing.redeliver_swallowed_interrupts()  # the driver passes Ctrl-C on only once
    caps, sweep_trial = setup.caps, setup.sweep_trial
    framework = sweep_trial.framework
    # Before anything imports the framework: its pools are sized once, at start-up.
    compute_caps.apply_before_import(caps, framework)
    task.prepare_environment(framework)
    if framework == 'jax' and setup.compilation_cache_dir:
        compute_caps.set_compilation_cache(os.environ, setup.compilation_cache_dir)
    try:
        submission = setup.load_submission(sweep_trial.submission_path)
        workload = registry.load_workload(sweep_trial.workload_name, framework)
        workload.use_devices(setup.num_devices)
        workload.prepare_data(sweep_trial.data_dir)
        compute_caps.apply_after_import(caps, framework)
    except BaseException as e:  # noqa: BLE001  (reported to the driver, which decides)
        _send(conn, _error(e))
        return
    served = 0
    while True:
        message = _next_trial(conn)
        if message is None:
            return
        trial, attempt, launched = message
        served += 1
        info = {**compute_caps.record(caps), 'worker.pid': os.getpid(),
                'worker.trials_served': served, 'attempt': attempt, 'launched': launched}
        recorder = None
        if trial.log_dir is not None:
            recorder = task.shared_recorder(
                trial, {**trial.recording.extra_metadata, **compute_caps.row_columns(caps)}, info)
        _send(conn, ('started', trial.run_idx, time.time()))
        hooks = TrialHooks(progress=lambda line: _send(conn, ('progress', line)))
        try:
            result = trials.run_trial(workload, submission, trial, recorder, hooks)
        except TrialInterrupted as stopped:  # Ctrl-C or preemption, passed on by the driver
            _send(conn, ('stopped', dataclasses.asdict(stopped.result)))
            return
        except BaseException as e:  # noqa: BLE001  (a crash outside the trial's own handling)
            _send(conn, _error(e))
            return
        _send(conn, ('finished', dataclasses.asdict(result), compute_caps.rss_bytes()))
