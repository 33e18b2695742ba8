"""TrialSpec and TrialLimits: built once from the RunConfig, the same wherever the trial runs."""

import dataclasses
import os
import pickle

import pytest

from algorithmic_efficiency.distributed import task
from algorithmic_efficiency.sweep import RunConfig, load_submission
from algorithmic_efficiency.training import trials
from algorithmic_efficiency.training.trial_spec import TrialLimits, TrialRecording, TrialSpec

CONFIG = RunConfig(
    workload='mnist_jax', submission_path='baselines/mnist/mnist_jax/submission.py',
    data_dir='data', log_dir='logs', max_submission_time_sec=30.0, max_global_steps=12,
    progress_interval_sec=0.0, eval_period_time_sec=2.5,
)


def test_every_limit_is_a_flag_and_is_copied_by_name():
    names = {f.name for f in dataclasses.fields(RunConfig)}
    limits = TrialLimits.from_config(CONFIG)
    for field in dataclasses.fields(TrialLimits):
        assert field.name in names
    assert limits == TrialLimits(max_submission_time_sec=30.0, max_global_steps=12,
                                 progress_interval_sec=0.0, eval_period_time_sec=2.5)


def test_trial_specs_number_trials_and_derive_their_seeds():
    base = TrialSpec.for_sweep(CONFIG, 'jax', TrialRecording(fsync=True))
    specs = trials.trial_specs(base, [{'lr': 0.1}, {'lr': 0.2}], rng_seed=5)
    assert [s.run_idx for s in specs] == [1, 2]
    assert [s.hyperparameters for s in specs] == [{'lr': 0.1}, {'lr': 0.2}]
    assert [s.seed for s in specs] == [trials.trial_seed(5, 1), trials.trial_seed(5, 2)]
    assert specs[0].seed != specs[1].seed
    assert all(s.limits == base.limits and s.recording.fsync for s in specs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        specs[0].seed = 1


def test_a_ray_trial_carries_the_spec_with_absolute_paths_and_pickles():
    spec = TrialSpec.for_sweep(CONFIG, 'jax', TrialRecording()).for_trial(3, {'lr': 1.0}, 9)
    setup = task.ActorSetup(spec.with_absolute_paths(), task.STORAGE_SHARED, load_submission,
                            'sweep', 1.0, 2)
    assert pickle.loads(pickle.dumps(setup)).load_submission is load_submission
    sent = task.TrialTask(spec.with_absolute_paths(), 1, 123.0)
    back = pickle.loads(pickle.dumps(sent))
    assert back.launched == 123.0
    assert back.trial.log_dir == os.path.abspath('logs')
    assert back.trial.data_dir == os.path.abspath('data')
    assert back.trial.submission_path == os.path.abspath(CONFIG.submission_path)
    assert (back.trial.run_idx, back.trial.seed, back.trial.limits) == (3, 9, spec.limits)
