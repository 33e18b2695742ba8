"""A Ray retry (shared storage) continues from the lost attempt's checkpoint, exactly.

A local Ray instance (127.0.0.1, 2 CPUs); the worker is SIGKILLed at step 3
(tests/ray_helpers.py's misbehaving submission: the kill is a cue, by step, so
nothing depends on this machine's speed).
"""

import os

import pytest
import ray_helpers as h

from algorithmic_efficiency import sweep
from algorithmic_efficiency.distributed import cluster

EVERY_STEP = 1e-9  # --eval_period_time_sec: an eval (and a checkpoint) after every step


@pytest.fixture(scope='module')
def ray_address():
    ray = cluster.start_local(num_cpus=2)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_a_retried_trial_continues_from_its_checkpoint(tmp_path, ray_address):
    killed = tmp_path / 'killed'
    killed.mkdir()
    reference = tmp_path / 'reference'
    reference.mkdir()
    common = {'trials': 1, 'steps': 6, 'eval_period_time_sec': EVERY_STEP,
              'checkpoint_at_eval': True}
    # The same submission, no kill cue, in this process: the uninterrupted trial.
    assert sweep.run(h.config(reference / 'logs', **common,
                              submission_path=h.write_submission(reference, {}))) == 0
    assert sweep.run(h.config(killed / 'logs', **common,
                              submission_path=h.write_submission(killed, {'kill': {'run_1': 1}}),
                              ray_address='local', trial_resources='cpu=1',
                              trial_retries=1)) == 0
    info = h.trial_json(killed / 'logs', 1)
    assert (info['status'], info['attempt'], info['resumed_from_step']) == ('complete', 2, 3)
    got, want = h.rows(killed / 'logs', 1), h.rows(reference / 'logs', 1)
    assert got['global_step'].tolist() == want['global_step'].tolist() == [1, 2, 3, 4, 5, 6]
    assert got['loss'].tolist() == pytest.approx(want['loss'].tolist(), abs=1e-6)
    assert got['accuracy'].tolist() == pytest.approx(want['accuracy'].tolist(), abs=1e-6)
    assert got['trial.resumed_from_step'].tolist()[3:] == [3, 3, 3]
    assert os.path.exists(os.path.join(h.run_dir(killed / 'logs', 1), 'attempt-1.metrics.csv'))
