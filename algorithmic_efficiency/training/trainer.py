"""The trial loop and the sweep: flags never reach here, only explicit arguments.

Timing rules (what users compare, so they are exact):

* Submission time counts only ``data_selection`` + ``update_params`` (and the
  loop's own few instructions between them). Evals, telemetry and writing
  rows are untimed.
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
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence

from algorithmic_efficiency import spec

from algorithmic_efficiency.search import seeds as random_utils

TrialStatus, StopReason = spec.TrialStatus, spec.StopReason


@dataclasses.dataclass
class TrialResult:
    run_idx: int
    hyperparameters: Optional[Dict[str, Any]]
    seed: int
    status: str = TrialStatus.RUNNING
    stop_reason: str = ''  # a StopReason once stopped
    global_step: int = 0
    accumulated_submission_time: float = 0.0
    time_to_target: Optional[float] = None
    evals: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    error: Optional[str] = None  # first line of the error, for tables
    traceback: Optional[str] = None

    @property
    def final_eval(self) -> Dict[str, Any]:
        return self.evals[-1] if self.evals else {}


class NullTrialLog:
    """Records nothing: the loop's recording hooks when there is no --log_dir."""

    def begin_interval(self) -> None:
        pass

    def before_eval(self) -> None:
        pass

    def record_eval(self, row: Dict[str, Any]) -> None:
        pass


def _fmt(value: Any) -> str:
    """A metric for the progress line; a non-number must not fail the trial."""
    return f'{value:.4f}' if isinstance(value, (int, float)) else str(value)


def _final_status(stop_reason: str) -> TrialStatus:
    return TrialStatus.DIVERGED if stop_reason == StopReason.DIVERGED else TrialStatus.COMPLETE


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def train_once(
    workload: spec.Workload,
    workload_name: str,
    framework: str,
    submission: Any,
    hyperparameters: Optional[Dict[str, Any]],
    run_idx: int,
    seed: int,
    data_dir: Optional[str] = None,
    trial_log: Any = None,
    max_submission_time_sec: Optional[float] = None,
    max_global_steps: Optional[int] = None,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[str], None] = logging.info,
) -> TrialResult:
    """Runs one trial; never raises for a failure inside the submission or workload.

    Args:
      submission: a module (or object) with the four functions of ``spec``.
      seed: the trial's seed; data order, initial weights and the update RNG
        are derived from it.
      trial_log: receives ``begin_interval``/``before_eval``/``record_eval``
        (see ``logging_utils.TrialRecorder``); ``None`` records nothing.
      max_submission_time_sec: caps the budget below the workload's.
      max_global_steps: stops after this many steps (with a final eval).
      clock: injectable for tests; must be monotonic seconds.
    """
    log = trial_log or NullTrialLog()
    result = TrialResult(run_idx=run_idx, hyperparameters=hyperparameters, seed=seed)
    budget = workload.max_allowed_runtime_sec
    if max_submission_time_sec is not None:
        budget = min(budget, max_submission_time_sec)
    period = workload.eval_period_time_sec
    hparam_cols = {f'hparam.{k}': v for k, v in (hyperparameters or {}).items()}
    properties = workload.properties()
    global_start_time = time.time()
    step = 0
    try:
        rng = lambda name: workload.rng_from_seed(random_utils.derive_seed(seed, name))
        params, model_state = workload.init_model_fn(rng('init'))
        params_types = workload.param_shapes(params)
        optimizer_state = submission.init_optimizer_state(
            workload, params, model_state, hyperparameters, rng('optimizer')
        )
        batch_size = int(submission.get_batch_size(workload_name))
        input_queue = workload.build_input_queue(
            random_utils.derive_seed(seed, 'data'), 'train', data_dir, batch_size
        )
        update_rng, data_rng, eval_rng = rng('update'), rng('data_selection'), rng('eval')
        steps_per_epoch = workload.num_train_examples // batch_size
        eval_results: List = []
        accumulated = 0.0
        next_eval_at = 0.0
        stop_reason = ''

        workload.sync_device(params)
        log.begin_interval()
        interval_start = clock()
        while not stop_reason:
            try:
                batch = submission.data_selection(
                    workload,
                    input_queue,
                    optimizer_state,
                    params,
                    model_state,
                    hyperparameters,
                    step,
                    data_rng,
                )
                optimizer_state, params, model_state = submission.update_params(
                    workload,
                    params,
                    params_types,
                    model_state,
                    hyperparameters,
                    batch,
                    workload.loss_type,
                    optimizer_state,
                    eval_results,
                    step,
                    update_rng,
                )
                step += 1
            except spec.TrainingCompleteError:
                stop_reason = StopReason.TRAINING_COMPLETE
            if max_global_steps is not None and step >= max_global_steps:
                stop_reason = stop_reason or StopReason.MAX_STEPS
            # Unsynchronised look: is an eval or the end of the budget near?
            if not stop_reason and accumulated + (clock() - interval_start) < min(
                next_eval_at, budget
            ):
                continue
            workload.sync_device(params)
            accumulated += clock() - interval_start
            if accumulated >= budget:
                stop_reason = stop_reason or StopReason.BUDGET
            if accumulated < next_eval_at and not stop_reason:
                interval_start = clock()
                continue

            # Untimed: telemetry for the interval, the eval, the row.
            log.before_eval()
            wall_time = time.time()  # when the interval ended, as the telemetry was read
            framework_memory = workload.memory_stats()
            eval_start = clock()
            metrics = workload.eval_model(params, model_state, eval_rng)
            eval_time = clock() - eval_start
            eval_results.append((step, metrics))
            # The guide's order (accuracy, loss) first, then any other metric.
            metrics = {**{k: metrics[k] for k in ('accuracy', 'loss') if k in metrics}, **metrics}
            goal = workload.has_reached_goal(metrics)
            if goal and result.time_to_target is None:
                result.time_to_target = accumulated
                stop_reason = StopReason.TARGET
            if not _is_finite(metrics.get('loss')):
                stop_reason = StopReason.DIVERGED
            status = TrialStatus.RUNNING
            if stop_reason:
                status = _final_status(stop_reason)
            row = {
                'framework': framework,
                'run_idx': run_idx,
                'accumulated_submission_time': accumulated,
                'global_step': step,
                'epoch': step * batch_size / workload.num_train_examples,
                **metrics,
                'batch_size': batch_size,
                **hparam_cols,
                **properties,
                'steps_per_epoch': steps_per_epoch,
                'global_start_time': global_start_time,
                'wall_time': wall_time,
                'goal_reached': goal,
                'eval_time_sec': eval_time,
                'status': status,
                **framework_memory,
            }
            result.evals.append(row)
            log.record_eval(row)
            progress(
                f'{workload_name} trial {run_idx}: step {step}, {accumulated:.1f}s, '
                + ', '.join(f'{k} {_fmt(v)}' for k, v in metrics.items())
                + f' (eval {eval_time:.2f}s){" -> " + stop_reason if stop_reason else ""}'
            )
            result.global_step, result.accumulated_submission_time = step, accumulated
            next_eval_at = accumulated + period
            log.begin_interval()
            interval_start = clock()
        result.status = _final_status(stop_reason)
        result.stop_reason = stop_reason
    except Exception as e:  # pylint: disable=broad-except
        # A trial's failure is data, not a crash: the sweep goes on.
        result.status = TrialStatus.FAILED
        result.stop_reason = StopReason.ERROR
        first_line = (str(e).strip().splitlines() or [''])[0]
        result.error = f'{type(e).__name__}: {first_line}' if first_line else type(e).__name__
        result.traceback = traceback.format_exc()
        result.global_step = step  # the step reached; the time stays as of the last eval
        progress(f'{workload_name} trial {run_idx} FAILED: {result.error}')
    return result


def sweep_score(trials: Sequence[TrialResult]) -> float:
    """The sweep's score: the fastest time-to-target of any trial, ``inf`` if none reached it."""
    times = [t.time_to_target for t in trials if t.time_to_target is not None]
    return min(times) if times else math.inf


@dataclasses.dataclass
class SweepResult:
    trials: List[TrialResult]

    @property
    def score(self) -> float:
        return sweep_score(self.trials)

    @property
    def failed(self) -> List[TrialResult]:
        return [t for t in self.trials if t.status == TrialStatus.FAILED]


def trial_from_info(info: Dict[str, Any]) -> TrialResult:
    """A finished trial read back from its trial.json (for --resume)."""
    result = TrialResult(
        run_idx=info['run_idx'],
        hyperparameters=info.get('hyperparameters'),
        seed=info.get('seed', 0),
        status=info.get('status', ''),
        stop_reason=info.get('stop_reason', ''),
        global_step=info.get('global_step', 0),
        accumulated_submission_time=info.get('accumulated_submission_time', 0.0),
        time_to_target=info.get('time_to_target'),
        error=info.get('error'),
    )
    result.evals = [{'loss': info.get('final_loss'), 'accuracy': info.get('final_accuracy')}]
    return result


def score_submission_on_workload(
    workload: spec.Workload,
    workload_name: str,
    framework: str,
    submission: Any,
    trials: Sequence[Optional[Dict[str, Any]]],
    rng_seed: int,
    data_dir: Optional[str] = None,
    recorder: Any = None,
    skip: Sequence[int] = (),
    progress: Callable[[str], None] = logging.info,
    **train_kwargs: Any,
) -> SweepResult:
    """Runs every trial (``run_idx`` from 1) and scores the sweep.

    Args:
      trials: one hyperparameter dict per trial (``None`` for self-tuning).
      rng_seed: the sweep's seed; trial ``i`` gets ``derive_seed(rng_seed, 'trial', i)``.
      recorder: a ``logging_utils.Recorder`` or ``None`` (record nothing).
      skip: trials already finished (``--resume``); read back from the recorder.
      **train_kwargs: passed to :func:`train_once` (caps, clock).
    """
    results: List[TrialResult] = []
    for run_idx, hyperparameters in enumerate(trials, start=1):
        if run_idx in skip:
            progress(f'{workload_name} trial {run_idx}/{len(trials)}: finished earlier, skipped')
            results.append(trial_from_info(recorder.trial_info(run_idx)))
            continue
        seed = random_utils.derive_seed(rng_seed, 'trial', run_idx)
        progress(
            f'{workload_name} trial {run_idx}/{len(trials)}: seed {seed}, '
            f'hyperparameters {hyperparameters}'
        )
        trial_log = recorder.start_trial(run_idx, hyperparameters, seed) if recorder else None
        try:
            result = train_once(
                workload,
                workload_name,
                framework,
                submission,
                hyperparameters,
                run_idx,
                seed,
                data_dir=data_dir,
                trial_log=trial_log,
                progress=progress,
                **train_kwargs,
            )
        except BaseException:  # Ctrl-C: stop the sampler; trial.json stays 'running'.
            if trial_log is not None:
                trial_log.close()
            raise
        if recorder:
            recorder.finish_trial(trial_log, result)
        results.append(result)
    return SweepResult(results)
