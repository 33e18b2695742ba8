"""A submission that calls os.chdir at import (training.working_dir): a relative --log_dir
still means the directory the user ran the runner in."""

import json
import os
import subprocess
import sys

from hostile import args, submission
from sweeps import ROOT, runner_env

CHDIR_AT_IMPORT = '''
import os as _os
_os.chdir(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), 'elsewhere'))
'''


def test_chdir_at_import_does_not_move_a_relative_log_dir(tmp_path):
    (tmp_path / 'elsewhere').mkdir()
    (tmp_path / 'work').mkdir()
    path = submission(tmp_path, CHDIR_AT_IMPORT)
    env = dict(runner_env(), PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
                           *args('logs', submission_path=path)], cwd=tmp_path / 'work',
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'the submission changed the working directory' in proc.stderr
    wdir = tmp_path / 'work' / 'logs' / 'mnist_pytorch'
    assert sorted(os.listdir(wdir / 'run_1')) >= ['metrics.csv', 'trial.json']
    assert not (tmp_path / 'elsewhere' / 'logs').exists()
    assert json.loads((wdir / 'metadata.json').read_text())['log_dir'] == 'logs'


def test_each_sweep_remembers_its_own_working_directory(tmp_path, monkeypatch):
    from algorithmic_efficiency.training import working_dir

    working_dir.remember()  # an earlier sweep of this program, elsewhere
    monkeypatch.chdir(tmp_path)
    working_dir.remember()  # this sweep's
    assert working_dir.restore() is False
    assert os.getcwd() == str(tmp_path)
