"""--resume: what it refuses, and that it finishes a sweep after a full disk or a SIGKILL
at any of 20 points without losing a logged eval."""

import errno
import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
from helpers.sweep_config import PT_SUBMISSION, config
from sweeps import ROOT, SPACE, run_cli

from algorithmic_efficiency import layout, sweep
from algorithmic_efficiency.storage import csv_io, files
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter


@pytest.mark.parametrize('content, problem', [
    ('', 'is not valid JSON'), ('{"rng_seed": 1', 'is not valid JSON'),
    ('[1, 2]', 'holds a JSON list, not an object'), ('"x"', 'holds a JSON str, not an object'),
])
def test_resume_with_corrupt_metadata_names_the_file_and_the_fix(tmp_path, content, problem):
    wdir = tmp_path / 'logs' / 'mnist_pytorch'
    (wdir / 'run_1').mkdir(parents=True)
    (wdir / 'metadata.json').write_text(content)
    with pytest.raises(layout.LogDirError) as e:
        sweep.run(config(tmp_path / 'logs', resume=True, rng_seed=None))
    msg = str(e.value)
    assert msg.startswith(f'{wdir}/metadata.json {problem}') and '--overwrite' in msg


@pytest.mark.parametrize('flag, value', [('max_global_steps', 4), ('max_submission_time_sec', 9.0),
                                         ('max_global_steps', None)])
def test_resume_refuses_a_different_budget_naming_the_original(finished_sweep, flag, value):
    with pytest.raises(sweep.UsageError) as e:
        sweep.run(config(finished_sweep, resume=True, **{flag: value}))
    original = {'max_global_steps': 3, 'max_submission_time_sec': None}[flag]
    assert f"--{flag}={value} differs from the resumed sweep's {original}" in str(e.value)


def test_resume_growing_the_sweep_updates_trials_planned(tmp_path):
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir, num_tuning_trials=1)) == 0
    assert sweep.run(config(log_dir, num_tuning_trials=2, resume=True, summary=True)) == 0
    meta = json.load(open(log_dir / 'mnist_pytorch' / 'metadata.json'))
    assert meta['num_tuning_trials'] == 2 and meta['flags']['num_tuning_trials'] == 2
    status = (log_dir / 'mnist_pytorch' / 'summary' / 'run_status.csv').read_text()
    assert 'trials_planned,2\n' in status, status


# --- A full disk.
def test_disk_full_fails_the_trial_names_the_file_and_resume_finishes(tmp_path, monkeypatch):
    log_dir = tmp_path / 'logs'
    real = MetricsCsvWriter.write_row
    state = {'rows': 0}

    def write_row(self, row):
        state['rows'] += 1
        if state['rows'] == 3:  # trial 1's rows are 1 and 2: this is trial 2's first
            raise files.with_filename(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                                      self.path)
        return real(self, row)

    monkeypatch.setattr(MetricsCsvWriter, 'write_row', write_row)
    with pytest.raises(OSError) as e:
        sweep.run(config(log_dir, num_tuning_trials=3))
    wdir = log_dir / 'mnist_pytorch'
    assert e.value.errno == errno.ENOSPC
    assert e.value.filename == str(wdir / 'run_2' / 'metrics.csv')
    info = json.load(open(wdir / 'run_2' / 'trial.json'))
    assert info['status'] == 'failed' and info['stop_reason'] == 'disk_full'
    assert info['error'] == f'disk full writing {wdir}/run_2/metrics.csv'
    assert json.load(open(wdir / 'run_1' / 'trial.json'))['status'] == 'complete'
    assert not (wdir / 'run_3').exists()  # the sweep stopped
    run1 = (wdir / 'run_1' / 'metrics.csv').read_bytes()
    monkeypatch.setattr(MetricsCsvWriter, 'write_row', real)
    assert sweep.run(config(log_dir, num_tuning_trials=3, resume=True)) == 0
    assert (wdir / 'run_1' / 'metrics.csv').read_bytes() == run1
    assert [json.load(open(wdir / f'run_{i}' / 'trial.json'))['status'] for i in (1, 2, 3)] == [
        'complete'] * 3


# --- Fault injection: SIGKILL at deterministic points.
KILL_POINTS = 20


def _killer(n):
    """Python run as the runner, killing itself with SIGKILL at the n-th file write."""
    return (
        'import os, signal, runpy, sys\n'
        f'n = {n}\n'
        'real = os.write\n'
        'count = [0]\n'
        'def write(fd, data):\n'
        '    count[0] += 1\n'
        '    if count[0] == n:  # a row formatted, not yet written (a write is atomic to kill)\n'
        '        os.kill(os.getpid(), signal.SIGKILL)\n'
        '    return real(fd, data)\n'
        'os.write = write\n'
        'import io, builtins\n'
        'real_replace = os.replace\n'
        'def replace(a, b):\n'
        '    count[0] += 1\n'
        '    if count[0] == n:  # a whole-file write done but not yet renamed in\n'
        '        os.kill(os.getpid(), signal.SIGKILL)\n'
        '    return real_replace(a, b)\n'
        'os.replace = replace\n'
        "sys.argv = ['submission_runner'] + sys.argv[1:]\n"
        "runpy.run_module('algorithmic_efficiency.submission_runner', run_name='__main__')\n"
    )


def _readable_everywhere(wdir):
    """Every file parses with the project's readers and with plain pandas / json."""
    for dirpath, _, names in os.walk(wdir):
        for name in names:
            path = os.path.join(dirpath, name)
            if name.endswith('metrics.csv'):
                ours = csv_io.read_metrics_csv(path)
                plain = pd.read_csv(path) if os.path.getsize(path) else ours
                assert len(plain) == len(ours), path  # no half row read as a row
            elif name.endswith('.json'):
                json.load(open(path))


@pytest.mark.parametrize('point', range(1, KILL_POINTS + 1))
def test_sigkill_at_deterministic_points_loses_no_eval_and_resume_completes(tmp_path, point):
    log_dir = tmp_path / 'logs'
    args = ['--workload=mnist_pytorch', f'--submission_path={PT_SUBMISSION}',
            f'--tuning_search_space={SPACE}', '--num_tuning_trials=3', '--max_global_steps=2',
            '--rng_seed=11', f'--log_dir={log_dir}', '--telemetry_interval_sec=60']
    proc = subprocess.run([sys.executable, '-c', _killer(point), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    killed = proc.returncode == -signal.SIGKILL
    wdir = log_dir / 'mnist_pytorch'
    if not wdir.exists():
        assert killed
        return
    _readable_everywhere(wdir)
    before = {}
    for run in sorted(wdir.glob('run_*')):
        path = run / 'metrics.csv'
        rows = csv_io.read_metrics_csv(path) if path.exists() else pd.DataFrame()
        if len(rows):  # a file created, killed before its first row, holds none
            before[run.name] = rows
    run_cli([*args, '--resume'] if (wdir / 'metadata.json').exists() else args,
            check_rc=0, timeout=300)
    _readable_everywhere(wdir)
    for name, rows in before.items():  # every logged eval is still there (or set aside)
        kept = [csv_io.read_metrics_csv(p) for p in (wdir / name).glob('*metrics.csv')]
        assert any('loss' in k and k['loss'].head(len(rows)).tolist()
                   == rows['loss'].tolist() for k in kept), name
    statuses = [json.load(open(wdir / f'run_{i}' / 'trial.json'))['status'] for i in (1, 2, 3)]
    assert statuses == ['complete'] * 3
