"""The trial loop's side of the AlgoPerf API, with an injected clock.

``prepare_for_eval`` (timed), ``train_state``, attribute hyperparameters, the
framework-free ``get_batch_size`` name and ``workload.metrics_logger``, on a
toy workload whose steps cost a known number of seconds of a fake clock.
"""

import types

import pytest

from algorithmic_efficiency import spec
from algorithmic_efficiency.compat.algoperf import spec as algoperf_spec
from algorithmic_efficiency.training import trainer
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialLimits, TrialSpec


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class ToyWorkload(spec.Workload):
    """Steps cost ``step_cost`` s of the clock; evals cost 5 s (never counted)."""

    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    target_value = 2.0  # never reached
    num_train_examples = 1000
    num_eval_examples = 10
    train_mean = 0.0
    train_stddev = 1.0
    max_allowed_runtime_sec = 40.0
    eval_period_time_sec = 10.0

    def __init__(self, clock):
        self.clock = clock
        self.evaluated_params = []
        self.logger_during_trial = 'unset'

    def prepare_data(self, data_dir):
        return {}

    def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
        while True:
            yield {'inputs': None}

    def init_model_fn(self, rng):
        self._param_shapes = {'w': spec.ShapeTuple((1,))}
        self._param_types = {'w': spec.ParameterType.WEIGHT}
        return {'w': 0, 'prepared': 0}, None

    def model_fn(self, *args, **kwargs):
        raise NotImplementedError

    def loss_fn(self, *args, **kwargs):
        raise NotImplementedError

    def eval_model(self, params, model_state, rng):
        self.logger_during_trial = self.metrics_logger
        self.evaluated_params.append(dict(params))
        self.clock.now += 5.0
        return {'loss': 1.0, 'accuracy': 0.5}


def make_submission(step_cost=1.0, prepare_cost=None, batch_sizes=None, complete_at=None):
    seen = {'train_state': [], 'types': [], 'hp': [], 'batch_size_names': []}

    def get_batch_size(workload_name):
        seen['batch_size_names'].append(workload_name)
        return (batch_sizes or {'toy': 10})[workload_name]

    def update_params(workload, current_param_container, current_params_types, model_state,  # noqa: PLR0913  the submission API
                      hyperparameters, batch, loss_type, optimizer_state, eval_results,
                      global_step, rng, train_state=None):
        if complete_at is not None and global_step == complete_at:
            raise algoperf_spec.TrainingCompleteError()
        seen['train_state'].append(train_state)
        seen['types'].append(current_params_types)
        seen['hp'].append((hyperparameters.lr, hyperparameters['lr'],
                           hasattr(hyperparameters, 'label_smoothing')))
        workload.clock.now += step_cost
        params = dict(current_param_container, w=current_param_container['w'] + 1)
        return optimizer_state, params, model_state

    def prepare_for_eval(workload, current_param_container, current_params_types, model_state,  # noqa: PLR0913  the submission API
                         hyperparameters, loss_type, optimizer_state, eval_results, global_step,
                         rng):
        workload.clock.now += prepare_cost
        params = dict(current_param_container,
                      prepared=current_param_container['prepared'] + 1)
        return optimizer_state, params, model_state

    submission = types.SimpleNamespace(
        get_batch_size=get_batch_size,
        init_optimizer_state=lambda *a: {},
        data_selection=lambda workload, queue, *a: next(queue),
        update_params=update_params,
    )
    if prepare_cost is not None:
        submission.prepare_for_eval = prepare_for_eval
    return submission, seen


def run(workload, submission, name='toy_jax', trial_log=None, **limits):
    trial = TrialSpec(name, 'jax', run_idx=1, hyperparameters={'lr': 0.1}, seed=7,
                      limits=TrialLimits(**limits))
    return trainer.train_once(workload, submission, trial, trial_log,
                              TrialHooks(clock=workload.clock, progress=lambda msg: None))


def test_prepare_for_eval_runs_before_every_eval_and_is_timed():
    w = ToyWorkload(Clock())
    submission, _ = make_submission(step_cost=1.0, prepare_cost=3.0)
    r = run(w, submission)
    assert r.status == 'complete' and r.stop_reason == 'budget', r.error
    n = len(r.evals)
    # Once before each eval, and what it returned was evaluated...
    assert [p['prepared'] for p in w.evaluated_params] == list(range(1, n + 1))
    # ...and trained on afterwards (update_params got the prepared params).
    assert w.evaluated_params[-1]['w'] == r.global_step
    # Its 3 s count as submission time: steps at 1 s each plus 3 s per prepare so far.
    for i, row in enumerate(r.evals, start=1):
        assert row['accumulated_submission_time'] == pytest.approx(row['global_step'] + 3.0 * i)
    # The 5 s evals do not count.
    assert w.clock.now == pytest.approx(r.accumulated_submission_time + 5.0 * n)


def test_a_prepare_for_eval_that_spends_the_budget_ends_the_trial():
    w = ToyWorkload(Clock())
    submission, _ = make_submission(step_cost=1.0, prepare_cost=50.0)
    r = run(w, submission)
    # The first eval (after step 1) is prepared at a cost of 50 s > the 40 s budget.
    assert r.stop_reason == 'budget' and r.global_step == 1 and len(r.evals) == 1
    assert r.evals[0]['accumulated_submission_time'] == pytest.approx(51.0)


def test_train_state_is_read_only_and_tracks_submission_time():
    w = ToyWorkload(Clock())
    submission, seen = make_submission(step_cost=1.0)
    r = run(w, submission, max_global_steps=25)
    assert r.status == 'complete', r.error
    states = seen['train_state']
    view = states[0]
    assert all(s is view for s in states)  # one live view per trial
    with pytest.raises(TypeError):
        view['accumulated_submission_time'] = 0.0
    assert set(view) == {
        'validation_goal_reached', 'test_goal_reached', 'is_time_remaining', 'last_eval_time',
        'training_complete', 'accumulated_submission_time', 'accumulated_eval_time',
        'accumulated_logging_time', 'last_step_end_time'}
    # After the trial: the last eval's exact values.
    assert view['accumulated_submission_time'] == pytest.approx(25.0)
    assert view['accumulated_eval_time'] == pytest.approx(5.0 * len(r.evals))
    assert view['validation_goal_reached'] is False and view['training_complete'] is True


def test_train_state_is_current_at_every_step():
    w = ToyWorkload(Clock())
    seen_times = []

    def update_params(workload, current_param_container, current_params_types, model_state,  # noqa: PLR0913  the submission API
                      hyperparameters, batch, loss_type, optimizer_state, eval_results,
                      global_step, rng, train_state):
        seen_times.append(train_state['accumulated_submission_time'])
        workload.clock.now += 1.0
        return optimizer_state, current_param_container, model_state

    submission, _ = make_submission()
    submission.update_params = update_params
    run(w, submission, max_global_steps=15)
    # Step k (from 0) sees the k seconds of the k steps before it.
    assert seen_times == pytest.approx(list(range(15)))


def test_update_params_without_train_state_is_called_without_it():
    w = ToyWorkload(Clock())
    calls = []

    def update_params(workload, current_param_container, current_params_types, model_state,  # noqa: PLR0913  the submission API
                      hyperparameters, batch, loss_type, optimizer_state, eval_results,
                      global_step, rng):
        calls.append(global_step)
        workload.clock.now += 1.0
        return optimizer_state, current_param_container, model_state

    submission, _ = make_submission()
    submission.update_params = update_params
    r = run(w, submission, max_global_steps=3)
    assert r.status == 'complete', r.error
    assert calls == [0, 1, 2]


def test_hyperparameters_types_and_batch_size_name():
    w = ToyWorkload(Clock())
    submission, seen = make_submission()
    r = run(w, submission, max_global_steps=2)
    assert r.status == 'complete', r.error
    assert seen['hp'][0] == (0.1, 0.1, False)  # attribute and mapping access
    assert seen['types'][0] == {'w': spec.ParameterType.WEIGHT}  # model_params_types
    assert seen['batch_size_names'] == ['toy']  # the framework-free name
    assert r.hyperparameters == {'lr': 0.1} and type(r.hyperparameters) is dict


def test_get_batch_size_keyed_by_the_full_name_still_works():
    w = ToyWorkload(Clock())
    submission, seen = make_submission(batch_sizes={'toy_jax': 10})
    r = run(w, submission, max_global_steps=2)
    assert r.status == 'complete', r.error
    assert seen['batch_size_names'] == ['toy', 'toy_jax']


def test_training_complete_error_from_the_algoperf_spec_ends_cleanly():
    w = ToyWorkload(Clock())
    submission, _ = make_submission(complete_at=4)
    r = run(w, submission)
    assert r.status == 'complete' and r.stop_reason == 'training_complete'
    assert r.global_step == 4


def test_metrics_logger_is_attached_for_the_trial_only():
    w = ToyWorkload(Clock())
    logger = object()
    log = types.SimpleNamespace(begin_interval=lambda: None, before_eval=lambda: None,
                                record_eval=lambda row: None, metrics_logger=logger)
    submission, _ = make_submission()
    r = run(w, submission, trial_log=log, max_global_steps=2)
    assert r.status == 'complete', r.error
    assert w.logger_during_trial is logger and w.metrics_logger is None
    run(w, submission, max_global_steps=2)  # no recording: None, as on the peer's runner
    assert w.logger_during_trial is None


# --- The AlgoPerf workload API on CIFAR-10 (ResNet-18: conv, batch norm, dense).
@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_cifar_carries_the_peers_properties(fw):
    from algorithmic_efficiency.workloads import registry

    w = type(registry.load_workload(f'cifar10_{fw}', fw))(width=4)  # init needs no data
    params, _ = w.init_model_fn(w.rng_from_seed(0))
    assert w.step_hint == 4883  # the peer's CIFAR-10 value
    if fw == 'jax':
        import jax

        types_, shapes = jax.tree.leaves(w.model_params_types), jax.tree.leaves(w.param_shapes)
        sizes = [p.shape for p in jax.tree.leaves(params)]
    else:
        types_, shapes = list(w.model_params_types.values()), list(w.param_shapes.values())
        sizes = [tuple(p.shape) for p in params.parameters()]
    assert [s.shape_tuple for s in shapes] == sizes
    kinds = spec.ParameterType
    assert set(types_) == {kinds.CONV_WEIGHT, kinds.BATCH_NORM_SCALE, kinds.BATCH_NORM_BIAS,
                           kinds.WEIGHT, kinds.BIAS}
    assert sum(t == kinds.CONV_WEIGHT for t in types_) == 20  # 17 3x3 + 3 projection convs
    assert registry.base_name(f'cifar10_{fw}') == 'cifar'  # what get_batch_size gets
