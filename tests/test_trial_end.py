"""A trial ended by someone else (recording.trial_end): trial.json's global_step and
num_evals come from the rows metrics.csv holds, not 0."""

import json

from hostile import config, trial_json

from algorithmic_efficiency import spec, sweep
from algorithmic_efficiency.recording import recorder as recording
from algorithmic_efficiency.training.results import TrialResult


def test_a_lost_task_s_trial_json_agrees_with_its_rows(tmp_path):
    # What the Ray scheduler does when a worker dies after writing rows (shared storage):
    # it ends the trial with a result of its own, which holds no evals.
    rec = recording.Recorder(str(tmp_path), 'w', mode='new', telemetry_interval_sec=60)
    rec.prepare()
    trial = rec.start_trial(1, {'lr': 0.1}, seed=3)
    for step, loss in ((1, 2.5), (7, 1.25)):
        trial.begin_interval()
        trial.before_eval()
        trial.record_eval({'global_step': step, 'accumulated_submission_time': step / 10,
                           'accuracy': 0.5, 'loss': loss})
    lost = TrialResult(run_idx=1, hyperparameters={'lr': 0.1}, seed=3,
                       status=spec.TrialStatus.FAILED, stop_reason=spec.StopReason.ERROR,
                       error='worker died')
    rec.finish_trial(trial, lost)
    info = json.loads((tmp_path / 'w' / 'run_1' / 'trial.json').read_text())
    assert (info['global_step'], info['num_evals']) == (7, 2)
    assert (info['final_loss'], info['accumulated_submission_time']) == (1.25, 0.7)
    assert info['status'] == 'failed' and info['error'] == 'worker died'


def test_a_trial_given_up_after_two_deaths_keeps_its_rows_numbers(tmp_path):
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir, num_tuning_trials=1)) == 0
    run1 = log_dir / 'mnist_pytorch' / 'run_1'
    dead = {k: v for k, v in trial_json(log_dir, 1).items()
            if k not in ('global_step', 'num_evals', 'final_loss')}
    dead['status'] = 'running'
    (run1 / 'attempt-1.trial.json').write_text(json.dumps(dead))
    (run1 / 'trial.json').write_text(json.dumps(dead))
    assert sweep.run(config(log_dir, num_tuning_trials=1, resume=True)) == 1
    info = trial_json(log_dir, 1)
    assert info['status'] == 'failed'
    assert info['global_step'] == 2 and info['num_evals'] == 2  # steps 1 and 2 were evaluated
