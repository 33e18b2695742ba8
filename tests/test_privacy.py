"""No output names the machine or the user (issue 29 items 12, 13): host_id is a keyed,
salted hash (host_identity), TensorBoard's default folder has no host name."""

import hashlib
import json
import os
import socket
import subprocess
import sys

import pytest
from hostile import config, trial_json

from algorithmic_efficiency import host_identity, layout, sweep
from algorithmic_efficiency.analysis import liveness

# A distinctive host name (this machine's may be 2 letters, found in any file by chance).
HOST = 'alice-thinkpad-x1'


@pytest.fixture(scope='module')
def sweep_dir(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('privacy') / 'logs'
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, 'gethostname', lambda: HOST)
        assert sweep.run(config(log_dir)) == 0
    return log_dir


def test_host_id_cannot_be_matched_to_a_guessed_host_name(sweep_dir):
    info = trial_json(sweep_dir, 1)
    hostname = HOST
    # The attack of the issue: hash candidate names until one matches.
    for guess in (hostname, hostname.lower(), hostname.split('.')[0], 'localhost'):
        assert hashlib.sha256(guess.encode()).hexdigest()[:16] != info['host_id']
        assert info['host_id'] != hashlib.sha256(
            f"{info['host_salt']}\0{guess}".encode()).hexdigest()[:16]
    assert len(info['host_id']) == 16 and len(info['host_salt']) == 16


def test_host_id_is_per_sweep_run_and_still_tells_a_live_local_trial(sweep_dir, tmp_path):
    first = trial_json(sweep_dir, 1)
    assert trial_json(sweep_dir, 2)['host_id'] == first['host_id']  # one sweep run: one id
    other = tmp_path / 'other'
    assert sweep.run(config(other, num_tuning_trials=1, max_global_steps=1)) == 0
    assert trial_json(other, 1)['host_id'] != first['host_id']  # unlinkable across sweeps
    alive = {**trial_json(other, 1), 'pid': os.getpid()}  # recorded under the real name
    assert liveness.is_stale(alive) is False
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    assert liveness.is_stale({**alive, 'pid': gone.pid}) is True


def test_the_key_is_private_to_this_user_and_in_no_output(sweep_dir):
    path = host_identity.key_path()
    assert os.stat(path).st_mode & 0o077 == 0
    key = open(path, 'rb').read()
    for dirpath, _, names in os.walk(sweep_dir):
        for name in names:
            data = open(os.path.join(dirpath, name), 'rb').read()
            assert key not in data and key.hex().encode() not in data
            assert HOST.encode() not in data, name


def test_layout_host_id_keeps_its_signature():
    assert layout.host_id('elsewhere') != layout.host_id()
    assert layout.host_id('x', salt='a') != layout.host_id('x', salt='b')
    assert layout.host_id('x', salt='a') == layout.host_id('x', salt='a')


def test_metadata_json_names_no_host(sweep_dir):
    text = (sweep_dir / 'mnist_pytorch' / 'metadata.json').read_text()
    assert HOST not in text
    json.loads(text)


# --- Item 13: no user name from a git branch or a home path.
def test_a_branch_named_after_its_user_is_recorded_without_the_name(tmp_path, monkeypatch):
    from algorithmic_efficiency.recording import sysinfo

    repo = tmp_path / 'repo'
    repo.mkdir()
    git = ['git', '-C', str(repo), '-c', 'user.name=x', '-c', 'user.email=x@example.invalid']
    subprocess.run([*git, 'init', '-q', '-b', 'Alice.Smith/lr-warmup'], check=True)
    subprocess.run([*git, 'commit', '-q', '--allow-empty', '-m', 'x'], check=True)
    monkeypatch.setenv('LOGNAME', 'alice.smith')
    monkeypatch.setenv('HOME', str(tmp_path / 'alice.smith'))
    assert sysinfo._git_metadata(str(repo))['git_branch'] == '<user>/lr-warmup'


def test_console_and_errors_show_home_as_tilde(tmp_path):
    from sweeps import ROOT, runner_env

    home = tmp_path / 'home' / 'alice'
    log_dir = home / 'logs'
    (log_dir / 'mnist_pytorch' / 'run_1').mkdir(parents=True)  # "already holds runs"
    env = dict(runner_env(), HOME=str(home))
    from hostile import args

    proc = subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
                           *args(log_dir)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert str(home) not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'submission_runner: error: ~/logs/mnist_pytorch already holds runs')


def test_compact_console_lines_show_home_as_tilde(monkeypatch, tmp_path):
    import logging

    from algorithmic_efficiency.recording import console

    monkeypatch.setenv('HOME', str(tmp_path))
    record = logging.LogRecord('root', logging.INFO, 'x', 1, 'Summary files in %s',
                               (str(tmp_path / 'logs' / 'summary'),), None)
    assert console.CompactFormatter().format(record).endswith('Summary files in ~/logs/summary')
