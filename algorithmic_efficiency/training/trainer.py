"""One trial's loop: flags never reach here, only explicit arguments.

Timing rules (what users compare, so they are exact):

* Submission time counts only ``data_selection`` + ``update_params`` (and the
  loop's own few instructions between them), and the optional
  ``prepare_for_eval`` before each eval (as on the peer's runner). Evals,
  telemetry and writing rows are untimed.
* The device is synchronised (``workload.sync_device``) before every clock
  reading that is *accounted*. The loop does not synchronise every step: it
  reads the clock unsynchronised only to decide whether an eval or the end of
  the budget is near, then synchronises and reads again. Asynchronous
  dispatch therefore hides nothing and costs nothing (a per-step sync cost
  ~20 % of step time in JAX on this machine).
* The first eval follows the first step; the next one is due
  ``eval_period_time_sec`` of submission time after the previous one (eval
  time excluded). A trial stops at the target, at the budget
  (``max_allowed_runtime_sec`` or a smaller cap), at a step cap, on
  ``TrainingCompleteError``, on a non-finite eval loss (diverged) or on an
  exception (failed). Every trial ends with an eval at its last step.
* Between evals, every few seconds of submission time, the loop stops the
  timer (one synchronisation) for a *tick*: the progress line and the
  recorder's heartbeat (:mod:`.progress`), untimed like an eval. Ctrl-C ends
  the trial as ``interrupted`` (:class:`~.results.TrialInterrupted`).

The schedule and the timer are :mod:`.schedule`'s, the row's layout is
:mod:`.rows`' (from ``layout``'s schema), the results are :mod:`.results`';
the loop over trials is :mod:`.trials`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from algorithmic_efficiency import compat, spec
from algorithmic_efficiency.recording.writers import ConsoleWriter
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.storage import files
from algorithmic_efficiency.training import (
    checkpointing,
    error_text,
    rows,
    submission_api,
    throughput,
    watchdog,
)
from algorithmic_efficiency.training.checkpoint import CountingQueue
from algorithmic_efficiency.training.processes import SingleProcess, make_timer
from algorithmic_efficiency.training.progress import Progress
from algorithmic_efficiency.training.results import TrialInterrupted, TrialPreempted, TrialResult
from algorithmic_efficiency.training.schedule import EvalSchedule, SubmissionTimer
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialSpec

TrialStatus, StopReason = spec.TrialStatus, spec.StopReason
# Submission time between heartbeats (and the longest between progress lines' looks).
HEARTBEAT_INTERVAL_SEC = 5.0


class NullTrialLog:
    """Records nothing: the loop's recording hooks when there is no --log_dir."""

    def begin_interval(self) -> None:
        pass

    def before_eval(self) -> None:
        pass

    def record_eval(self, row: dict[str, Any]) -> None:
        pass

    def heartbeat(self, state: dict[str, Any]) -> None:
        pass


def _final_status(stop_reason: str) -> TrialStatus:
    return TrialStatus.DIVERGED if stop_reason == StopReason.DIVERGED else TrialStatus.COMPLETE


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


@dataclasses.dataclass
class _State:
    """What the submission updates step by step (and the step reached, should it fail)."""

    params: Any = None
    model_state: Any = None
    optimizer_state: Any = None
    step: int = 0
    eval_results: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Inputs:
    """What the loop feeds the submission, fixed for the trial."""

    params_types: Any
    batch_size: int
    input_queue: Iterator[spec.Batch]
    update_rng: Any
    data_rng: Any
    eval_rng: Any
    # The peer's optional API: train_state for an update_params that declares it
    # (else None), prepare_for_eval (else None), and which exceptions end a trial cleanly.
    train_state: submission_api.TrainState | None
    prepare_for_eval: Callable | None
    prepare_rng: Any
    complete_errors: tuple


class _Trial:
    """The state and collaborators of one running trial (see :func:`train_once`)."""

    def __init__(
        self,
        workload: spec.Workload,
        submission: Any,
        trial: TrialSpec,
        result: TrialResult,
        log: Any,
        progress: Callable[[str], None],
        reporter: Progress,
    ):
        self.workload = workload
        # Set by train_once when the trial checkpoints (training.checkpointing).
        self.checkpoints: checkpointing.TrialCheckpoints | None = None
        self.name = trial.workload_name
        self.submission = submission
        # The submission reads hyperparameters as attributes or as a mapping; rows and
        # trial.json keep the plain dict.
        self.hyperparameters = compat.as_hyperparameters(trial.hyperparameters)
        self.result = result
        self.log = log
        self.progress = progress
        self.reporter = reporter
        self.console = ConsoleWriter(self.name, emit=progress)  # the per-eval line
        # A trial log made elsewhere (a benchmark's wrapper) may have no heartbeat.
        self._heartbeat = getattr(log, 'heartbeat', None)
        self.state = _State()

    def set_up(self, seed: int, data_dir: str | None) -> _Inputs:
        """The model, the optimizer and the input queue, each from its own derived seed."""
        workload, submission, state = self.workload, self.submission, self.state

        def rng(name: str) -> Any:
            return workload.rng_from_seed(seeds.derive_seed(seed, name))

        state.params, state.model_state = workload.init_model_fn(rng('init'))
        params_types = submission_api.params_types(workload)
        # A submission logs its own scalars through the workload (None: not recorded).
        workload.attach_metrics_logger(getattr(self.log, 'metrics_logger', None))
        state.optimizer_state = submission.init_optimizer_state(
            workload, state.params, state.model_state, self.hyperparameters, rng('optimizer')
        )
        batch_size = submission_api.batch_size(submission, self.name)
        input_queue = workload.build_input_queue(
            seeds.derive_seed(seed, 'data'), 'train', data_dir, batch_size
        )
        if self.checkpoints is not None:  # the data position a checkpoint saves
            input_queue = CountingQueue(input_queue)
        prepare = submission_api.prepare_for_eval(submission)
        train_state = (submission_api.TrainState()
                       if submission_api.accepts_train_state(submission.update_params) else None)
        return _Inputs(params_types, batch_size, input_queue, rng('update'),
                       rng('data_selection'), rng('eval'), train_state, prepare,
                       rng('prepare_for_eval') if prepare else None,
                       compat.training_complete_errors())

    def run(self, inputs: _Inputs, schedule: EvalSchedule, timer: SubmissionTimer,
            columns: rows.TrialColumns) -> str:
        """Steps until a stop rule fires; returns the stop reason."""
        workload, hp, state = self.workload, self.hyperparameters, self.state
        # Locals in the timed loop: it runs the loop's own instructions between
        # the submission's calls, which count as submission time.
        data_selection = self.submission.data_selection
        update_params = self.submission.update_params
        capped, peek, worth_checking = schedule.capped, timer.peek, timer.worth_checking
        queue, params_types, loss_type = inputs.input_queue, inputs.params_types, workload.loss_type
        data_rng, update_rng, eval_results = inputs.data_rng, inputs.update_rng, state.eval_results
        params, model_state = state.params, state.model_state
        optimizer_state = state.optimizer_state
        step, stop_reason = state.step, ''
        complete_errors, prepare = inputs.complete_errors, inputs.prepare_for_eval
        train_state = inputs.train_state
        stepped = train_state.stepped if train_state is not None else None
        update_kwargs = {'train_state': train_state.view} if train_state is not None else {}
        workload.sync_device(params)
        self.log.begin_interval()
        timer.start()
        try:
            while not stop_reason:
                try:
                    batch = data_selection(workload, queue, optimizer_state, params, model_state,
                                           hp, step, data_rng)
                    optimizer_state, params, model_state = update_params(
                        workload, params, params_types, model_state, hp, batch, loss_type,
                        optimizer_state, eval_results, step, update_rng, **update_kwargs,
                    )  # fmt: skip
                    step += 1
                except complete_errors:  # spec.TrainingCompleteError (or the real algoperf's)
                    stop_reason = StopReason.TRAINING_COMPLETE
                if capped(step):
                    stop_reason = stop_reason or StopReason.MAX_STEPS
                # Unsynchronised look: is an eval or the end of the budget near?
                # (Several processes: at a step planned from agreed values.)
                elapsed = peek()
                if stepped is not None:
                    stepped(elapsed)
                if not stop_reason and not worth_checking(schedule, step, elapsed):
                    continue
                accumulated = timer.stop(params)
                if schedule.spent(accumulated):
                    stop_reason = stop_reason or StopReason.BUDGET
                if not stop_reason and not schedule.due(accumulated):
                    if schedule.tick_due(accumulated):  # untimed: the timer is stopped
                        self.tick(self.reporter.tick(step, accumulated))
                        schedule.ticked(accumulated)
                    self.checkpoint_if_due(False, inputs, schedule, timer,
                                           (params, model_state, optimizer_state, step))
                    timer.start()
                    continue
                if prepare is not None:
                    # Timed, as on the peer's runner: it is the submission's work.
                    timer.start()
                    optimizer_state, params, model_state = prepare(
                        workload, params, params_types, model_state, hp, loss_type,
                        optimizer_state, eval_results, step, inputs.prepare_rng,
                    )  # fmt: skip
                    accumulated = timer.stop(params)
                    if schedule.spent(accumulated):
                        stop_reason = stop_reason or StopReason.BUDGET
                state.params, state.model_state, state.step = params, model_state, step
                stop_reason = self.evaluate(inputs, columns, timer.clock, accumulated, stop_reason)
                schedule.evaluated(accumulated)
                self.checkpoint_if_due(True, inputs, schedule, timer,
                                       (params, model_state, optimizer_state, step), stop_reason)
                self.log.begin_interval()
                timer.start()
        finally:  # also on a failure: the step reached is the trial's
            state.params, state.model_state, state.optimizer_state = (
                params, model_state, optimizer_state)
            state.step = step
        return stop_reason

    def checkpoint_if_due(self, at_eval: bool, inputs: _Inputs, schedule: EvalSchedule,  # noqa: PLR0913  the loop's locals, once per look
                          timer: SubmissionTimer, live: tuple, stop_reason: str = '') -> None:
        """Untimed (the timer is stopped, any due eval done): a checkpoint if one is due and
        the trial goes on; after SIGTERM/SIGUSR1 one in any case, then
        ``checkpointing.Preempted``. ``live``: the loop's (params, model_state,
        optimizer_state, step)."""
        if stop_reason:  # the trial ends here anyway: nothing to continue
            return
        checkpoints = self.checkpoints
        if checkpointing.preemption_requested():
            if checkpoints is not None and checkpoints.enabled:
                self._save(inputs, schedule, timer, live)
            self.state.params, self.state.model_state, _, self.state.step = live
            raise checkpointing.Preempted()
        if checkpoints is not None and checkpoints.due(at_eval):
            self._save(inputs, schedule, timer, live)

    def _save(self, inputs: _Inputs, schedule: EvalSchedule, timer: SubmissionTimer,
              live: tuple) -> None:
        state = self.state
        state.params, state.model_state, optimizer_state, state.step = live
        self.checkpoints.save(self, inputs, schedule, timer, optimizer_state)

    def evaluate(self, inputs: _Inputs, columns: rows.TrialColumns, clock: Callable[[], float],
                 accumulated: float, stop_reason: str) -> str:
        """Untimed: telemetry for the interval, the eval, the row; returns the stop reason."""
        workload, state, result = self.workload, self.state, self.result
        self.log.before_eval()
        wall_time = time.time()  # when the interval ended, as the telemetry was read
        framework_memory = workload.memory_stats()
        eval_start = clock()
        metrics = workload.eval_model(state.params, state.model_state, inputs.eval_rng)
        eval_time = clock() - eval_start
        state.eval_results.append((state.step, metrics))
        metrics = rows.order_metrics(metrics)
        goal = workload.has_reached_goal(metrics)
        if goal and result.time_to_target is None:
            result.time_to_target = accumulated
            stop_reason = StopReason.TARGET
        if not _is_finite(metrics.get('loss')):
            stop_reason = StopReason.DIVERGED
        status = _final_status(stop_reason) if stop_reason else TrialStatus.RUNNING
        row = columns.row(step=state.step, accumulated=accumulated, metrics=metrics,
                          wall_time=wall_time, goal_reached=goal, eval_time=eval_time,
                          status=status, framework_memory=framework_memory,
                          checkpoint_seconds=self.checkpoints.seconds if self.checkpoints else 0.0)
        row.update(self.meter.columns(state.step, accumulated))  # throughput.* (last group)
        result.evals.append(row)
        self.log.record_eval(row)
        self.console.write_row(row, stop_reason)
        result.global_step, result.accumulated_submission_time = state.step, accumulated
        self.tick(self.reporter.evaluated(state.step, accumulated, metrics))
        if inputs.train_state is not None:
            inputs.train_state.evaluated(accumulated, eval_time, goal,
                                         budget_left=stop_reason != StopReason.BUDGET,
                                         done=bool(stop_reason))
        return stop_reason

    def tick(self, snapshot: Any) -> None:
        """Hands a progress snapshot to the recorder's heartbeat (if it has one)."""
        if self._heartbeat is not None:
            self._heartbeat(snapshot.as_dict())


def train_once(
    workload: spec.Workload,
    submission: Any,
    trial: TrialSpec,
    trial_log: Any = None,
    hooks: TrialHooks | None = None,
) -> TrialResult:
    """Runs one trial; never raises for a failure inside the submission or workload.

    Args:
      workload: the workload object, its data prepared.
      submission: a module (or object) with the four functions of ``spec``.
      trial: what runs (workload name, framework, hyperparameters, ``run_idx``,
        seed, data directory) and its limits (``trial.limits``). Data order,
        initial weights and the update RNG are derived from its seed.
      trial_log: receives ``begin_interval``/``before_eval``/``record_eval``
        (see ``recording.recorder.TrialRecorder``); ``None`` records nothing.
      hooks: the progress sink, the clock and the run's processes
        (:class:`~.trial_spec.TrialHooks`; None: the defaults).

    Raises:
      TrialInterrupted: on Ctrl-C (a ``KeyboardInterrupt`` carrying the result,
        its status ``interrupted``).
    """
    hooks = hooks or TrialHooks()
    progress, run_idx = hooks.progress, trial.run_idx
    processes = hooks.processes or SingleProcess()
    result = TrialResult(run_idx=run_idx, hyperparameters=trial.hyperparameters, seed=trial.seed)
    schedule, reporter = _schedule(workload, trial, progress)
    hparams = rows.hparam_columns(trial.hyperparameters)
    properties = workload.properties()
    global_start_time = time.time()
    checkpoints = hooks.checkpoints
    running = _Trial(workload, submission, trial, result, trial_log or NullTrialLog(), progress,
                     reporter)
    running.checkpoints = checkpoints
    handlers = []
    try:
        inputs = running.set_up(trial.seed, trial.data_dir)
        timer = make_timer(processes, workload.sync_device, hooks.clock)
        if checkpoints is not None and checkpoints.resume_from:
            checkpoints.restore(running, inputs, schedule, timer)
            progress(f'{trial.workload_name} trial {run_idx}: continuing from the checkpoint '
                     f'at step {running.state.step}')
        if checkpointing.preemption_requested():  # signalled between trials: not started
            raise checkpointing.Preempted()
        if checkpoints is not None:  # one process with a --log_dir: somewhere to save to
            handlers = checkpointing.install_signal_handlers(schedule)
        columns = rows.TrialColumns(
            framework=trial.framework,
            workload=trial.workload_name,
            run_idx=run_idx,
            batch_size=inputs.batch_size,
            num_train_examples=workload.num_train_examples,
            steps_per_epoch=workload.num_train_examples // inputs.batch_size,
            global_start_time=global_start_time,
            hparams=hparams,
            properties=properties,
            resumed_from_step=checkpoints.resumed_from_step if checkpoints else None,
        )
        running.meter = throughput.Meter(workload, inputs.batch_size)
        with watchdog.watch(timer, schedule.budget_sec) as timer:  # a submission that never returns
            stop_reason = running.run(inputs, schedule, timer, columns)
        result.status = _final_status(stop_reason)
        result.stop_reason = stop_reason
    except checkpointing.Preempted:
        result.status = TrialStatus.PREEMPTED
        result.stop_reason = StopReason.PREEMPTED
        result.global_step = running.state.step
        saved = checkpoints.last_step if checkpoints is not None else None
        progress(f'{trial.workload_name} trial {run_idx} preempted at step {running.state.step}'
                 + (f' (checkpoint at step {saved})' if saved is not None else ''))
        raise TrialPreempted(result) from None
    except KeyboardInterrupt:
        # Ctrl-C (only it ends the sweep): the trial's end is recorded as interrupted.
        result.status = TrialStatus.INTERRUPTED
        result.stop_reason = StopReason.INTERRUPTED
        result.global_step = running.state.step
        progress(f'{trial.workload_name} trial {run_idx} interrupted at step {running.state.step}')
        raise TrialInterrupted(result) from None
    except BaseException as e:  # pylint: disable=broad-except
        # A trial's failure is data, not a crash: the sweep goes on, also
        # after a SystemExit (sys.exit() in a submission) or a GeneratorExit.
        _record_failure(result, e)
        result.global_step = running.state.step  # the step reached; the time as of the last eval
        progress(f'{trial.workload_name} trial {run_idx} FAILED: {result.error}')
    finally:
        checkpointing.restore_signal_handlers(handlers)
        workload.attach_metrics_logger(None)  # the trial's logger closes with its recording
    return result


def _schedule(workload: spec.Workload, trial: TrialSpec,
              progress: Callable[[str], None]) -> tuple[EvalSchedule, Progress]:
    """The trial's eval schedule (budget, period, caps) and its progress reporter."""
    limits = trial.limits
    budget = workload.max_allowed_runtime_sec
    if limits.max_submission_time_sec is not None:
        budget = min(budget, limits.max_submission_time_sec)
    period = limits.eval_period_time_sec
    if period is None:
        period = workload.eval_period_time_sec
    tick_sec = HEARTBEAT_INTERVAL_SEC
    if limits.progress_interval_sec > 0:
        tick_sec = min(tick_sec, limits.progress_interval_sec)
    schedule = EvalSchedule(period, budget, limits.max_global_steps, tick_sec=tick_sec)
    step_hints = [n for n in (limits.max_global_steps, getattr(workload, 'step_hint', None)) if n]
    reporter = Progress(
        trial.workload_name, trial.run_idx, budget, min(step_hints) if step_hints else None,
        workload.target_metric_name, workload.target_value, progress,
        limits.progress_interval_sec,
    )  # fmt: skip
    return schedule, reporter


def _record_failure(result: TrialResult, e: BaseException) -> None:
    """A failed trial's status, stop reason, error line and traceback (disk full: its own)."""
    result.status = TrialStatus.FAILED
    result.stop_reason = StopReason.ERROR
    result.error = error_text.describe(e)  # never raises, whatever str(e) does
    if files.is_disk_full(e):  # the sweep stops after this trial (training.trials)
        result.stop_reason = StopReason.DISK_FULL
        result.error = f'disk full writing {e.filename or "a file"}'
        result.disk_error = e
    result.traceback = error_text.format_traceback(e)
