"""The trial loop's timing rules, with an injected clock and a simulated async device.

The fake workload here is not a stand-in for a framework: the real JAX and
PyTorch loops are exercised in test_runner_e2e.py. This one makes time
deterministic so the rules themselves can be checked exactly: what is
counted, when evals happen, when a trial stops, and that the device is
synchronised before every accounted clock reading.
"""

import math
import types

import pytest

from algorithmic_efficiency import spec
from algorithmic_efficiency.training import results, trainer, trials
from algorithmic_efficiency.training.executors import InProcessExecutor
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialLimits, TrialSpec


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class AsyncDeviceWorkload(spec.Workload):
    """Steps queue work (like async dispatch); only sync_device lets the clock see it."""

    def __init__(self, clock, eval_cost=5.0, period=10.0, budget=60.0, losses=None, target=0.97):
        self.clock = clock
        self.pending = 0.0
        self.max_queue = 2.5  # seconds of device work the host may run ahead
        self.sync_calls = 0
        self.eval_cost = eval_cost
        self._period = period
        self._budget = budget
        self._target = target
        self.losses = losses  # per eval, else 1.0
        self.accuracies = None
        self.evals = 0

    target_value = property(lambda self: self._target)
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    num_train_examples = 1000
    num_eval_examples = 100
    train_mean = 0.0
    train_stddev = 1.0
    max_allowed_runtime_sec = property(lambda self: self._budget)
    eval_period_time_sec = property(lambda self: self._period)

    def prepare_data(self, data_dir):
        return {}

    def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
        while True:
            yield {'inputs': None}

    def init_model_fn(self, rng):
        return {'w': 0}, None

    def model_fn(self, *args):
        raise NotImplementedError

    def loss_fn(self, *args):
        raise NotImplementedError

    def eval_model(self, params, model_state, rng):
        # The eval must see finished work, and its own cost is wall time
        # that must not count as submission time.
        assert self.pending == 0.0, 'eval ran before the device was synchronised'
        self.clock.now += self.eval_cost
        i = self.evals
        self.evals += 1
        loss = self.losses[i] if self.losses and i < len(self.losses) else 1.0
        acc = self.accuracies[i] if self.accuracies and i < len(self.accuracies) else 0.5
        return {'loss': loss, 'accuracy': acc}

    def sync_device(self, params):
        self.sync_calls += 1
        self.clock.now += self.pending
        self.pending = 0.0


def make_submission(step_cost=1.0, host_cost=0.0, fail_at=None, complete_at=None):
    """Each step queues ``step_cost`` of device work and spends ``host_cost`` on the host."""

    def update_params(workload, params, types_, state, hp, batch, loss_type, opt, evals, step, rng):  # noqa: PLR0913  the submission API
        if fail_at is not None and step == fail_at:
            raise RuntimeError(f'boom at step {step}\nsecond line')
        if complete_at is not None and step == complete_at:
            raise spec.TrainingCompleteError()
        workload.pending += step_cost
        workload.clock.now += host_cost
        # Dispatch blocks once the queue is full, as real runtimes do: the
        # host then waits for the oldest work to finish.
        if workload.pending > workload.max_queue:
            workload.clock.now += workload.pending - workload.max_queue
            workload.pending = workload.max_queue
        return opt, params, state

    return types.SimpleNamespace(
        get_batch_size=lambda name: 100,
        init_optimizer_state=lambda *a: {},
        data_selection=lambda workload, queue, *a: next(queue),
        update_params=update_params,
    )


def run(workload, submission, **limits):
    trial = TrialSpec('fake', 'jax', run_idx=1, hyperparameters={'lr': 0.1}, seed=7,
                      limits=TrialLimits(**limits))
    return trainer.train_once(workload, submission, trial,
                              hooks=TrialHooks(clock=workload.clock, progress=lambda msg: None))


def test_async_work_is_counted_and_evals_are_not():
    clock = FakeClock()
    w = AsyncDeviceWorkload(clock, eval_cost=5.0, period=10.0, budget=60.0)
    r = run(w, make_submission(step_cost=1.0))
    assert r.stop_reason == 'budget' and r.status == 'complete'
    # Every step's device work is counted, however far the host ran ahead:
    # 1 s per step exactly, and the 5 s evals add wall time but none of it.
    assert r.accumulated_submission_time == pytest.approx(r.global_step * 1.0)
    # The budget ends the trial within the host's run-ahead (queue) of 60 s.
    assert 60 <= r.global_step <= 60 + w.max_queue + 1
    for row in r.evals:
        assert row['accumulated_submission_time'] == pytest.approx(row['global_step'] * 1.0)
    steps = [e['global_step'] for e in r.evals]
    assert steps[0] == 1  # first eval right after the first step
    gaps = [b - a for a, b in zip(steps, steps[1:], strict=False)]
    assert all(10 <= g <= 10 + w.max_queue + 1 for g in gaps[:-1]), steps
    assert clock.now == pytest.approx(r.global_step + 5.0 * len(r.evals))
    # Not synchronised every step: only around evals and the budget.
    assert w.sync_calls <= 2 * len(r.evals) + 1


def test_next_eval_is_due_a_period_after_the_previous_eval():
    clock = FakeClock()
    w = AsyncDeviceWorkload(clock, eval_cost=100.0, period=4.0, budget=20.0)
    r = run(w, make_submission(step_cost=1.5))
    times = [e['accumulated_submission_time'] for e in r.evals]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= 4.0 for g in gaps[:-1]), gaps
    # Due at the first step past the period, give or take the host's run-ahead.
    assert all(g <= 4.0 + w.max_queue + 1.5 for g in gaps[:-1]), gaps
    assert r.evals[-1]['accumulated_submission_time'] >= 20.0


def test_host_time_between_steps_counts_too():
    clock = FakeClock()
    w = AsyncDeviceWorkload(clock, eval_cost=0.0, period=1000.0, budget=50.0)
    r = run(w, make_submission(step_cost=0.5, host_cost=0.5))
    # The host's half of each step is as real as the device's.
    assert r.accumulated_submission_time == pytest.approx(r.global_step * 1.0)
    assert 50 <= r.global_step <= 50 + 2 * w.max_queue + 1


def test_max_submission_time_cap_and_max_steps_cap():
    clock = FakeClock()
    w = AsyncDeviceWorkload(clock, period=1000.0)
    r = run(w, make_submission(), max_submission_time_sec=7.0)
    assert r.stop_reason == 'budget' and 7 <= r.global_step <= 7 + w.max_queue + 1
    assert r.accumulated_submission_time == pytest.approx(r.global_step)
    w = AsyncDeviceWorkload(FakeClock(), period=1000.0)
    r = run(w, make_submission(), max_global_steps=13)
    assert (r.stop_reason, r.global_step) == ('max_steps', 13)
    assert [e['global_step'] for e in r.evals] == [1, 13]  # first eval, final eval
    assert r.evals[-1]['status'] == 'complete' and r.evals[0]['status'] == 'running'


def test_target_reached_stops_and_records_time_to_target():
    clock = FakeClock()
    w = AsyncDeviceWorkload(clock, period=5.0)
    w.max_queue = 0.0  # a synchronous device: evals land exactly on schedule
    w.accuracies = [0.5, 0.8, 0.975, 0.99]
    r = run(w, make_submission())
    assert r.stop_reason == 'target'
    assert r.time_to_target == pytest.approx(11.0)  # evals at 1, 6, 11 s
    assert [e['goal_reached'] for e in r.evals] == [False, False, True]


def test_training_complete_error_ends_cleanly_with_a_final_eval():
    w = AsyncDeviceWorkload(FakeClock(), period=1000.0)
    r = run(w, make_submission(complete_at=5))
    assert (r.status, r.stop_reason, r.global_step) == ('complete', 'training_complete', 5)
    assert r.evals[-1]['global_step'] == 5


def test_nan_loss_is_diverged_and_exception_is_failed():
    w = AsyncDeviceWorkload(FakeClock(), period=2.0, losses=[2.0, float('nan')])
    r = run(w, make_submission())
    assert (r.status, r.stop_reason) == ('diverged', 'diverged')
    assert r.evals[-1]['status'] == 'diverged' and math.isnan(r.evals[-1]['loss'])

    w = AsyncDeviceWorkload(FakeClock(), period=2.0)
    r = run(w, make_submission(fail_at=4))
    assert r.status == 'failed' and r.stop_reason == 'error'
    assert r.error == 'RuntimeError: boom at step 4'
    assert 'Traceback' in r.traceback and 'second line' in r.traceback
    assert r.global_step == 4  # steps 0-3 ran; step 4 raised
    assert r.evals[-1]['global_step'] < 4


def test_score_is_fastest_time_to_target_not_an_index():
    def make(idx, ttt):
        return results.TrialResult(run_idx=idx, hyperparameters=None, seed=0,
                                                    time_to_target=ttt)
    assert results.sweep_score([make(1, None), make(2, 30.0), make(3, 12.5)]) == 12.5
    assert results.sweep_score([make(1, None), make(2, None)]) == math.inf
    assert results.sweep_score([]) == math.inf


def test_trial_seeds_differ_and_are_reproducible():
    seen = []

    class Recorder:
        def start_trial(self, run_idx, hp, seed):
            seen.append(seed)
            return None

        def finish_trial(self, log, result):
            pass

    for _ in range(2):
        w = AsyncDeviceWorkload(FakeClock(), period=1000.0)
        hooks = TrialHooks(clock=w.clock, progress=lambda m: None)
        sweep_spec = TrialSpec('fake', 'jax', limits=TrialLimits(max_global_steps=2))
        specs = trials.trial_specs(sweep_spec, [{}, {}, {}], rng_seed=42)
        with InProcessExecutor(w, make_submission(), 3, Recorder(), hooks) as executor:
            trials.run_sweep(executor, specs, Recorder(), progress=lambda m: None)
    assert seen[:3] == seen[3:] and len(set(seen[:3])) == 3
