"""What --resume trusts (recording.resume_checks): rows behind a 'complete' trial.json, a
trial.json that is not an object, and a trial whose process keeps dying."""

import json
import os
import signal
import subprocess
import sys

import pytest
from hostile import args, config, submission, trial_json
from sweeps import ROOT

from algorithmic_efficiency import sweep
from algorithmic_efficiency.recording import resume_checks
from algorithmic_efficiency.storage import csv_io

HEADER = 'framework,workload,run_idx,accumulated_submission_time,global_step\n'
CORRUPTIONS = {
    'missing': None,
    'empty': '',
    'header-only': HEADER,
    'garbage': 'garbage\x00\x01 not a csv\n',
    'directory': 'DIR',
}


def _corrupt(run_dir, how):
    path = os.path.join(run_dir, 'metrics.csv')
    os.remove(path)
    content = CORRUPTIONS[how]
    if content == 'DIR':
        os.mkdir(path)
    elif content is not None:
        with open(path, 'w') as f:
            f.write(content)


@pytest.mark.parametrize('how', sorted(CORRUPTIONS))
def test_metrics_problem_names_each_corruption(tmp_path, how):
    (tmp_path / 'metrics.csv').write_text(HEADER + 'pytorch,mnist_pytorch,1,0.1,1\n')
    assert resume_checks.metrics_problem(str(tmp_path)) is None
    _corrupt(str(tmp_path), how)
    assert resume_checks.metrics_problem(str(tmp_path)) is not None


def test_resume_reruns_complete_trials_whose_rows_are_gone(tmp_path, caplog):
    log_dir = tmp_path / 'logs'
    n = len(CORRUPTIONS)
    assert sweep.run(config(log_dir, num_tuning_trials=n, max_global_steps=1)) == 0
    wdir = log_dir / 'mnist_pytorch'
    for idx, how in enumerate(sorted(CORRUPTIONS), start=1):
        _corrupt(str(wdir / f'run_{idx}'), how)
    assert sweep.run(config(log_dir, num_tuning_trials=n, max_global_steps=1, resume=True)) == 0
    for idx in range(1, n + 1):
        assert trial_json(log_dir, idx)['status'] == 'complete'
        assert len(csv_io.read_metrics_csv(wdir / f'run_{idx}' / 'metrics.csv')) >= 1
        assert (wdir / f'run_{idx}' / 'attempt-1.trial.json').exists()  # re-run, set aside
    warned = [r.getMessage() for r in caplog.records if 're-running the trial' in r.getMessage()]
    assert len(warned) == n


def test_resume_with_a_trial_json_that_is_a_list_reruns_it(tmp_path):
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir)) == 0
    (log_dir / 'mnist_pytorch' / 'run_1' / 'trial.json').write_text('[1, 2]')
    assert sweep.run(config(log_dir, resume=True)) == 0
    assert trial_json(log_dir, 1)['status'] == 'complete'


def test_a_trial_that_died_twice_is_marked_failed_and_skipped(tmp_path):
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir)) == 0
    run1 = log_dir / 'mnist_pytorch' / 'run_1'
    dead = {**trial_json(log_dir, 1), 'status': 'running'}
    (run1 / 'attempt-1.trial.json').write_text(json.dumps(dead))
    (run1 / 'trial.json').write_text(json.dumps(dead))
    rows = (run1 / 'metrics.csv').read_bytes()
    assert sweep.run(config(log_dir, resume=True)) == 1  # a failed trial: exit 1
    info = trial_json(log_dir, 1)
    assert info['status'] == 'failed' and 'died 2 times' in info['error']
    assert (run1 / 'metrics.csv').read_bytes() == rows  # not re-run, nothing set aside
    assert not (run1 / 'attempt-2.trial.json').exists()


# A real process death (os._exit is turned into a failed trial by training.exit_guard).
DIES_IN_TRIAL_1 = '''
import os as _os
import signal as _signal
from algorithmic_efficiency.recording import trial_context as _tc
_update = update_params

def update_params(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                  step, rng):
    if _tc.current_trial_dir().endswith('run_1'):
        _os.kill(_os.getpid(), _signal.SIGKILL)
    return _update(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                   step, rng)
'''


def test_sigkill_in_a_trial_twice_then_resume_finishes_the_sweep(tmp_path):
    log_dir = tmp_path / 'logs'
    path = submission(tmp_path, DIES_IN_TRIAL_1)
    cmd = [sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
           *args(log_dir, submission_path=path)]

    def run(*extra):
        return subprocess.run([*cmd, *extra], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)

    assert run().returncode == -signal.SIGKILL
    assert run('--resume').returncode == -signal.SIGKILL  # the second death
    proc = run('--resume')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'died 2 times' in proc.stderr
    assert trial_json(log_dir, 1)['status'] == 'failed'
    assert trial_json(log_dir, 2)['status'] == 'complete'
