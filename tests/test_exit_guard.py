"""A submission's os._exit (training.exit_guard): at import one line and exit 2, inside a
trial a failed trial and the sweep goes on (it was exit 5/7 with no word, trial stale)."""

import os
import subprocess
import sys

from hostile import args, submission, trial_json
from sweeps import ROOT, runner_env

from algorithmic_efficiency.training import exit_guard

EXIT_AT_IMPORT = '''
import os as _os
_os._exit(5)
'''

EXIT_IN_TRIAL_1 = '''
import os as _os
from algorithmic_efficiency.recording import trial_context as _tc
_update = update_params

def update_params(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                  step, rng):
    if _tc.current_trial_dir().endswith('run_1'):
        _os._exit(7)
    return _update(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                   step, rng)
'''


def _run(log_dir, path):
    return subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
                           *args(log_dir, submission_path=path)], cwd=ROOT, env=runner_env(),
                          capture_output=True, text=True, timeout=300)


def test_os_exit_at_import_is_exit_2_one_line(tmp_path):
    proc = _run(tmp_path / 'logs', submission(tmp_path, EXIT_AT_IMPORT))
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('submission_runner: error: ') and 'does not import' in last
    assert 'SubmissionExit: the submission called os._exit(5)' in last


def test_os_exit_in_a_trial_fails_that_trial_and_the_sweep_goes_on(tmp_path):
    log_dir = tmp_path / 'logs'
    proc = _run(log_dir, submission(tmp_path, EXIT_IN_TRIAL_1))
    assert proc.returncode == 1, proc.stderr[-2000:]
    info = trial_json(log_dir, 1)
    assert info['status'] == 'failed'
    assert info['error'].startswith('SubmissionExit: the submission called os._exit(7)')
    assert trial_json(log_dir, 2)['status'] == 'complete'


def test_a_forked_child_still_exits_and_the_guard_is_lifted():
    real = os._exit
    with exit_guard.guard():
        pid = os.fork()
        if pid == 0:
            os._exit(3)  # the child: the real exit
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 3
    assert os._exit is real
