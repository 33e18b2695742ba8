"""A submission that closes stdout (recording.std_streams): the sweep prints its end table,
exits 0, and no later file takes descriptor 1 (console output never lands in a metrics.csv)."""

import os
import subprocess
import sys

import pandas as pd
from hostile import args, submission, trial_json
from sweeps import ROOT, runner_env

CLOSES_STDOUT = '''
import os as _os
_update = update_params

def update_params(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                  step, rng):
    try:
        _os.close(1)
    except OSError:
        pass
    try:  # fails while descriptor 1 is closed; lands wherever 1 points once reused
        print('printed by the submission after closing stdout', flush=True)
    except OSError:
        pass
    return _update(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                   step, rng)
'''


def test_a_submission_closing_stdout_leaves_the_sweep_intact(tmp_path):
    log_dir = tmp_path / 'logs'
    path = submission(tmp_path, CLOSES_STDOUT)
    proc = subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
                           *args(log_dir, submission_path=path)], cwd=ROOT, env=runner_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'the submission closed stdout (descriptor 1); the runner restored it' in proc.stderr
    assert 'mnist_pytorch' in proc.stdout  # the end table reached the real stdout
    for n in (1, 2):
        assert trial_json(log_dir, n)['status'] == 'complete'
        for name in os.listdir(log_dir / 'mnist_pytorch' / f'run_{n}'):
            data = (log_dir / 'mnist_pytorch' / f'run_{n}' / name).read_bytes()
            assert b'printed by the submission' not in data, name
        assert len(pd.read_csv(log_dir / 'mnist_pytorch' / f'run_{n}' / 'metrics.csv')) >= 1


def test_restore_puts_back_a_closed_descriptor(tmp_path):
    code = (
        'import os, sys\n'
        'from algorithmic_efficiency.recording import std_streams\n'
        'std_streams.protect()\n'
        'os.close(1)\n'
        'fd = os.open(os.devnull, os.O_RDONLY)\n'  # takes 1: restore must not clobber it
        'os.close(fd)\n'
        'print(std_streams.restore(), file=sys.stderr)\n'
        'print("back on stdout", flush=True)\n'
    )
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout == 'back on stdout\n'
    assert proc.stderr.strip().splitlines()[-1] == '[1]'

