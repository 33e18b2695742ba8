"""A submission's get_batch_size is checked (training.submission_api.checked_batch_size):
12.5, "1024", 0, True fail each trial with one clear message, not silently or raw."""

import numpy as np
import pytest
from hostile import config, submission, trial_json

from algorithmic_efficiency import sweep
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.training import submission_api


@pytest.mark.parametrize('value', [12.5, '1024', 0, -5, True, None, 1024.0])
def test_bad_values_are_refused_naming_the_value(value):
    with pytest.raises(UsageError, match=r"get_batch_size\('mnist'\) returned .*; it must "
                                         'return a positive int'):
        submission_api.checked_batch_size(value, 'mnist')


@pytest.mark.parametrize('value', [1, 1024, np.int64(256)])
def test_positive_integers_pass(value):
    assert submission_api.checked_batch_size(value, 'mnist') == int(value)
    assert type(submission_api.checked_batch_size(value, 'mnist')) is int


@pytest.mark.parametrize('value', ['12.5', '"1024"', '0'])
def test_a_sweep_with_a_bad_batch_size_fails_its_trials_with_the_message(tmp_path, value):
    path = submission(tmp_path, f'def get_batch_size(workload_name):\n    return {value}\n')
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir, submission_path=path, num_tuning_trials=1)) == 1
    info = trial_json(log_dir, 1)
    assert info['status'] == 'failed'
    assert info['error'].startswith("UsageError: get_batch_size('mnist_pytorch') returned ")
    assert 'must return a positive int' in info['error']
