"""When a running trial checkpoints, what it saves of the loop, and how it continues from one.

:class:`TrialCheckpoints` is the trial loop's one collaborator for this
(``trainer`` calls it only where the submission timer is stopped, so the
time spent here is never submission time; it is counted in the rows'
``checkpoint.seconds``):

* every ``checkpoint_interval_sec`` of wall time (looked at on the loop's
  untimed ticks and evals), at every eval with ``checkpoint_at_eval``, and on
  SIGTERM/SIGUSR1 (preemption: checkpoint, then the trial ends ``preempted``);
* :func:`prepare` (before the trial's recording starts) decides whether the
  trial continues from a checkpoint: only a trial whose last attempt was
  ``running`` (killed, stale, its node lost), ``interrupted`` or ``preempted``.
  A checkpoint that cannot be read is one warning naming the file; the trial
  then starts afresh and the old checkpoints are kept as ``attempt-K.checkpoints``.

The files are :mod:`.checkpoint`'s.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from algorithmic_efficiency import layout, spec
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training import checkpoint as ckpt

# Preemption: the cloud's SIGTERM (SIGKILL follows ~30 s later), or SIGUSR1 (SLURM's --signal).
PREEMPTION_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
# A trial whose last attempt ended so continues from its checkpoint (running: killed or lost).
RESUMABLE_STATUSES = (spec.TrialStatus.RUNNING, spec.TrialStatus.INTERRUPTED,
                      spec.TrialStatus.PREEMPTED)
# Set by the signal handler; stays set for the rest of the process (the sweep is ending).
_preempt_requested = threading.Event()


class Preempted(Exception):
    """Raised by the loop after the preemption checkpoint (``trainer`` records ``preempted``)."""


def preemption_requested() -> bool:
    return _preempt_requested.is_set()


def install_signal_handlers(schedule: Any) -> list[tuple[int, Any]]:
    """SIGTERM/SIGUSR1 set the preemption flag and make the loop look at once.

    Returns the previous handlers (for :func:`restore_signal_handlers`); none
    outside the main thread (a Ray worker's trial thread), where Python
    cannot set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return []

    def handler(signum: int, frame: Any) -> None:
        del frame
        logging.warning('received %s: checkpointing, then stopping (preempted)',
                        signal.Signals(signum).name)
        _preempt_requested.set()
        schedule.look_now()  # the next step's unsynchronised look goes to the checks

    if _preempt_requested.is_set():
        schedule.look_now()  # signalled between trials: this one stops at its first step
    return [(s, signal.signal(s, handler)) for s in PREEMPTION_SIGNALS]


# How long after a swallowed Ctrl-C it is sent again (redeliver_swallowed_interrupts).
REDELIVER_DELAY_SEC = 0.05


def redeliver_swallowed_interrupts() -> None:
    """Ctrl-C that lands in a finaliser is raised again instead of lost.

    Python delivers SIGINT as a ``KeyboardInterrupt`` wherever the main thread
    is; inside a finaliser (a ``__del__``, a weakref callback run by the
    garbage collector) it can only print "Exception ignored" and the run goes
    on. Seen in a pool worker: its trial trained to the end after the runner
    passed Ctrl-C on. This process-wide hook sends SIGINT again from a helper
    thread, so that Python handles it once the main thread has left the
    finaliser (sent from the hook itself, it would land in the hook and be
    swallowed too); other unraisable errors are printed as before.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if (isinstance(unraisable.exc_value, KeyboardInterrupt)
                and threading.current_thread() is threading.main_thread()):
            try:
                # After a moment: the main thread must be out of the hook by then
                # (a few instructions); if it is in another finaliser, this repeats.
                timer = threading.Timer(REDELIVER_DELAY_SEC, os.kill,
                                        args=(os.getpid(), signal.SIGINT))
                timer.daemon = True
                timer.start()
                return
            except RuntimeError:  # the interpreter is shutting down: nothing to stop
                pass
        previous(unraisable)

    sys.unraisablehook = hook


def restore_signal_handlers(previous: list[tuple[int, Any]]) -> None:
    for signum, old in previous:
        signal.signal(signum, old)


class TrialCheckpoints:
    """One trial's checkpoint policy and state (see the module docstring).

    Args:
      run_dir: the trial's directory (checkpoints under ``run_dir/checkpoints``).
      framework: ``jax`` or ``pytorch``.
      interval_sec: wall seconds between checkpoints (0: none on a timer).
      keep: how many checkpoints to keep (the newest).
      at_eval: also after every eval.
      resume_from: the checkpoint to continue from (None: from step 0).
    """

    def __init__(self, run_dir: str, framework: str, interval_sec: float, keep: int = 1,
                 at_eval: bool = False, resume_from: str | None = None):
        self.run_dir = run_dir
        self.framework = framework
        self.interval_sec = interval_sec
        self.keep = keep
        self.at_eval = at_eval
        self.resume_from = resume_from
        self.resumed_from_step: int | None = None
        self.seconds = 0.0  # spent checkpointing (and restoring) in this trial, all attempts
        self.last_step: int | None = None
        self._last_wall = time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.interval_sec > 0 or self.at_eval

    def due(self, at_eval: bool) -> bool:
        """A checkpoint is due now (untimed points of the loop only)."""
        if not self.enabled:
            return False
        if at_eval and self.at_eval:
            return True
        return self.interval_sec > 0 and time.monotonic() - self._last_wall >= self.interval_sec

    # --- Saving.
    def save(self, running: Any, inputs: Any, schedule: Any, timer: Any,
             optimizer_state: Any) -> None:
        """Writes a checkpoint of the running trial (``trainer._Trial``) at its current step."""
        start = time.perf_counter()
        state, result = running.state, running.result
        loop = {
            'step': state.step,
            'batches_drawn': inputs.input_queue.drawn,
            'schedule': {'next_eval_at': schedule.next_eval_at,
                         'next_tick_at': schedule.next_tick_at},
            'accumulated_submission_time': timer.accumulated,
            'eval_results': list(state.eval_results),
            'result': {'evals': list(result.evals), 'time_to_target': result.time_to_target,
                       'global_step': result.global_step,
                       'accumulated_submission_time': result.accumulated_submission_time},
            'train_state': dict(inputs.train_state.view) if inputs.train_state else None,
            'host_rngs': ckpt.host_rngs(),
            'counters': _counters(running.log),
            'wall_time': time.time(),
        }
        model = (state.params, state.model_state, optimizer_state)
        self.seconds += time.perf_counter() - start  # before the write: saved with it
        loop['checkpoint_seconds'] = self.seconds
        write_start = time.perf_counter()
        ckpt.write(self.run_dir, state.step, self.framework, model, loop, self.keep)
        self.seconds += time.perf_counter() - write_start
        self.last_step = state.step
        self._last_wall = time.monotonic()

    # --- Restoring.
    def restore(self, running: Any, inputs: Any, schedule: Any, timer: Any) -> None:
        """Puts the trial where checkpoint ``resume_from`` left it (after set-up).

        Raises:
          CheckpointError: the checkpoint cannot be read.
        """
        start = time.perf_counter()
        path = self.resume_from
        loop = ckpt.read_loop(path)
        state, result = running.state, running.result
        try:
            state.params, state.model_state, state.optimizer_state = ckpt.load_model(
                self.framework, path, state.params, state.model_state, state.optimizer_state)
        except Exception as e:  # noqa: BLE001  a damaged file reads as "not usable"
            raise ckpt.CheckpointError(f'{path}: {type(e).__name__}: {e}') from e
        state.step = loop['step']
        state.eval_results[:] = loop['eval_results']
        inputs.input_queue.skip(loop['batches_drawn'])
        schedule.restore(loop['schedule']['next_eval_at'], loop['schedule']['next_tick_at'])
        timer.accumulated = loop['accumulated_submission_time']
        saved = loop['result']
        result.evals[:] = saved['evals']
        result.time_to_target = saved['time_to_target']
        result.global_step = saved['global_step']
        result.accumulated_submission_time = saved['accumulated_submission_time']
        if inputs.train_state is not None and loop['train_state'] is not None:
            inputs.train_state.restore(loop['train_state'])
        ckpt.set_host_rngs(loop['host_rngs'])
        _set_counters(running.log, loop['counters'])
        self.resumed_from_step = state.step
        self.last_step = state.step
        self.seconds = loop.get('checkpoint_seconds', 0.0) + time.perf_counter() - start
        self._last_wall = time.monotonic()


def _counters(log: Any) -> dict[str, Any]:
    """The recorder's cumulative counters (energy so far), if it keeps any."""
    get = getattr(log, 'checkpoint_counters', None)
    return get() if get is not None else {}


def _set_counters(log: Any, counters: dict[str, Any]) -> None:
    set_ = getattr(log, 'restore_checkpoint_counters', None)
    if set_ is not None and counters:
        set_(counters)


def prepare(recorder: Any, trial: Any) -> tuple[TrialCheckpoints | None, int | None]:
    """The trial's checkpoints (None: not checkpointed) and the step whose rows to keep.

    Called before the recorder opens the trial: a trial that continues keeps
    its rows up to the checkpoint's step (the later ones are in
    ``attempt-K.metrics.csv``); a trial that starts afresh has its old
    checkpoints set aside. Only a recorder that writes the trial's own
    directory here (not ``--ray_storage=driver``'s) gets checkpoints.
    """
    limits = trial.limits
    run_dir_of = getattr(recorder, 'run_dir', None)
    if recorder is None or not callable(run_dir_of):
        return None, None
    run_dir = run_dir_of(trial.run_idx)
    checkpoints = TrialCheckpoints(run_dir, trial.framework, limits.checkpoint_interval_sec,
                                   limits.keep_checkpoints, limits.checkpoint_at_eval)
    latest = ckpt.latest(run_dir)
    if latest is None:
        return checkpoints, None
    status = (recorder.trial_info(trial.run_idx) or {}).get('status')
    if status not in RESUMABLE_STATUSES:
        ckpt.set_aside(run_dir)  # e.g. a failed trial re-run: from step 0, as before
        return checkpoints, None
    try:
        loop = ckpt.read_loop(latest)
        ckpt.check_model_files(trial.framework, latest)
    except ckpt.CheckpointError as e:
        return _start_afresh(checkpoints, run_dir, e), None
    checkpoints.resume_from = latest
    return checkpoints, int(loop['step'])


def _start_afresh(checkpoints: TrialCheckpoints, run_dir: str, error: Exception) -> Any:
    logging.warning('checkpoint not usable (%s); trial restarts from step 0, its earlier '
                    'rows kept as attempt-K.metrics.csv', error)
    ckpt.set_aside(run_dir)
    checkpoints.resume_from = None
    return checkpoints


def note_resume(run_dir: str, step: int) -> None:
    """Adds the resume to trial.json: ``resumed_from_step`` and the list of ``resumes``.

    Each resume records the checkpoint's step and wall time and when the trial
    continued: the wall time lost to the kill is ``resumed_at - checkpoint_wall_time``
    (submission time never counts it: the clock continues from the checkpoint's).
    """
    path = os.path.join(run_dir, layout.TRIAL_FILE)
    try:
        info = files.read_json(path)
        loop = ckpt.read_loop(ckpt.step_dir(run_dir, step))
    except (OSError, ValueError, ckpt.CheckpointError):
        return
    attempt_files = sorted((n for n in os.listdir(run_dir)
                            if n.startswith('attempt-') and n.endswith('.' + layout.TRIAL_FILE)),
                           key=lambda n: int(n.split('.')[0].removeprefix('attempt-') or 0))
    resumes = []
    if attempt_files:  # the previous attempt's resumes, if it was itself resumed
        try:
            resumes = files.read_json(os.path.join(run_dir, attempt_files[-1])).get('resumes', [])
        except (OSError, ValueError, AttributeError):
            resumes = []
    resumes.append({'from_step': step, 'checkpoint_wall_time': loop.get('wall_time'),
                    'resumed_at': time.time()})
    info.update(resumed_from_step=step, resumes=resumes)
    files.write_json(path, info)
