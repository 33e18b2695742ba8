"""The runner end to end: real JAX and PyTorch sweeps on the embedded MNIST sample.

Sweeps run through the command line (both spellings of the guide's command)
into one shared --log_dir (conftest's ``guide_sweeps``), and the files they
leave are checked column by column against the guide
(reference/runner-experiments-guide.md).
"""

import csv
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import psutil
import pytest
from sweeps import ROOT, SECRET, SPACE, run_cli, runner_env, sweep_args

from algorithmic_efficiency.storage import csv_io

# The guide's metrics.csv columns, with the disk counters under their
# corrected names (the guide called them mem.*).
GUIDE_COLUMNS = [
    'framework', 'workload', 'run_idx', 'accumulated_submission_time', 'global_step',
        'epoch', 'accuracy',
    'loss', 'batch_size', 'hparam.learning_rate', 'hparam.one_minus_beta_1', 'hparam.epsilon',
    'workload.eval_period_time_sec', 'workload.max_allowed_runtime_sec',
    'workload.num_eval_examples', 'workload.num_train_examples', 'workload.target_value',
    'workload.train_mean', 'workload.train_stddev', 'steps_per_epoch', 'global_start_time',
    'goal_reached', 'cpu.util.avg_percent_since_last', 'mem.total', 'mem.available',
    'mem.used', 'mem.percent_used', 'disk.read_bytes_since_boot', 'disk.write_bytes_since_boot',
    'net.bytes_sent_since_boot', 'net.bytes_recv_since_boot', 'gpu.count'
]
GUIDE_METADATA_KEYS = [
    'workload', 'log_dir', 'datetime', 'python_version', 'python_compiler', 'os_platform',
    'git_branch', 'git_commit_hash', 'cpu_model_name', 'cpu_count', 'gpu_count',
    'workload.eval_period_time_sec', 'workload.max_allowed_runtime_sec',
    'workload.num_eval_examples', 'workload.num_train_examples', 'workload.target_value',
    'workload.train_mean', 'workload.train_stddev'
]


@pytest.fixture(scope='module')
def sweep_dir(guide_sweeps):
    """conftest's guide sweeps: both frameworks, 2 trials each, into one --log_dir."""
    return guide_sweeps


def metrics(log_dir, fw, run):
    return pd.read_csv(os.path.join(log_dir, f'mnist_{fw}', f'run_{run}', 'metrics.csv'))


def test_layout_and_console_summary(sweep_dir):
    log_dir, out = sweep_dir
    for fw in ('jax', 'pytorch'):
        wdir = os.path.join(log_dir, f'mnist_{fw}')
        assert sorted(os.listdir(wdir)) == ['metadata.json', 'packages.txt', 'run_1', 'run_2',
                                            'summary']
        # The end-of-sweep summary (analysis.summary) is written by default.
        config = pd.read_csv(os.path.join(wdir, 'summary', 'config_data.csv'))
        assert sorted(config['run_idx']) == [1, 2]
        for run in (1, 2):
            assert sorted(os.listdir(os.path.join(wdir, f'run_{run}'))) == [
                'metrics.csv', 'trial.json']
        assert f'mnist_{fw}: 2 trial(s)' in out[fw].stdout
        assert 'score (fastest time to target): inf' in out[fw].stdout
        # Loud about the data: the 5k sample is not full MNIST.
        assert 'NOT full MNIST' in out[fw].stderr


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_every_guide_column(sweep_dir, fw):
    log_dir, _ = sweep_dir
    meta = json.load(open(os.path.join(log_dir, f'mnist_{fw}', 'metadata.json')))
    for run in (1, 2):
        df = metrics(log_dir, fw, run)
        trial = json.load(open(os.path.join(log_dir, f'mnist_{fw}', f'run_{run}', 'trial.json')))
        missing = [c for c in GUIDE_COLUMNS if c not in df.columns]
        assert not missing
        # The guide's columns keep the guide's order (our additions sit between).
        assert [c for c in df.columns if c in GUIDE_COLUMNS] == GUIDE_COLUMNS
        assert list(df.columns[:8]) == GUIDE_COLUMNS[:8]
        assert [c for c in df.columns if c.startswith('mem.')] == [
            'mem.total', 'mem.available', 'mem.used', 'mem.percent_used']
        # The eval after step 1, the final one, and one every 2 s of submission
        # time between (the embedded sample's period: a slow machine gets more).
        n = len(df)
        assert n >= 2 and n == trial['num_evals']
        assert (df['framework'] == fw).all() and (df['run_idx'] == run).all()
        steps = df['global_step'].tolist()
        assert steps[0] == 1 and steps[-1] == 25 and steps == sorted(set(steps))
        assert df['accumulated_submission_time'].is_monotonic_increasing
        assert (df['accumulated_submission_time'] > 0).all()
        assert df['batch_size'].tolist() == [1024] * n
        assert df['epoch'].tolist() == pytest.approx([s * 1024 / 4000 for s in steps])
        assert df['steps_per_epoch'].tolist() == [3] * n
        assert df['accuracy'].between(0, 1).all() and (df['loss'] > 0).all()
        assert df['loss'].iloc[-1] < df['loss'].iloc[0]  # it trained
        assert df['accuracy'].iloc[-1] > 0.6
        assert df['goal_reached'].tolist() == [False] * n  # 25 steps: short of 0.90
        assert df['status'].tolist() == ['running'] * (n - 1) + ['complete']
        assert (df['eval_time_sec'] >= 0).all()
        assert abs(df['global_start_time'].iloc[0] - trial['started']) < 5
        # Rows carry wall-clock times: after the trial's start, increasing, before its end.
        assert (df['wall_time'] > df['global_start_time']).all()
        assert df['wall_time'].is_monotonic_increasing
        assert df['wall_time'].iloc[-1] <= trial['finished']
        for name, value in trial['hyperparameters'].items():
            assert df[f'hparam.{name}'].tolist() == [value] * n
        for key, value in meta.items():
            if key.startswith('workload.'):
                assert (df[key] == value).all(), key
        assert df['exp'].tolist() == ['guide=1'] * n and df['owner'].tolist() == ['team-a'] * n
        # Telemetry: real readings of this machine.
        assert (df['mem.total'] == psutil.virtual_memory().total).all()
        assert df['mem.percent_used'].between(0, 100).all()
        # Empty only for an interval too short to measure (a few ms: the
        # first, cached step of trial 2); the 24-step interval always has it.
        cpu = df['cpu.util.avg_percent_since_last']
        assert cpu.dropna().between(0, 100).all() and pd.notna(cpu.iloc[-1])
        last = df.iloc[-1]
        assert last['cpu.util.interval_max_percent'] >= last['cpu.util.interval_mean_percent']
        assert (df['proc.rss_bytes'] > 50e6).all()
        for c in ('disk.read_bytes_since_boot', 'net.bytes_recv_since_boot'):
            assert (df[c] >= 0).all() and df[c].is_monotonic_increasing
        assert (df['gpu.count'] == 0).all()  # no GPU here: no gpu.<i> columns
        assert not [c for c in df.columns if c.startswith('gpu.') and c != 'gpu.count']
        # Neither framework keeps allocator statistics on the CPU (documented).
        assert not [c for c in df.columns if c.startswith('framework.')]
        if 'cpu.freq.current' in df:
            assert df['cpu.freq.current'].between(0.1, 10).all()  # GHz
        assert trial['status'] == 'complete' and trial['stop_reason'] == 'max_steps'
        assert trial['final_loss'] == pytest.approx(df['loss'].iloc[-1])


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_metadata_json(sweep_dir, fw):
    log_dir, _ = sweep_dir
    meta = json.load(open(os.path.join(log_dir, f'mnist_{fw}', 'metadata.json')))
    assert not [k for k in GUIDE_METADATA_KEYS if k not in meta]
    assert meta['workload'] == f'mnist_{fw}' and meta['framework'] == fw
    assert meta['log_dir'] == log_dir
    assert meta['workload.num_train_examples'] == 4000
    assert meta['workload.num_eval_examples'] == 1000
    assert meta['workload.target_value'] == 0.9  # the embedded sample's own target
    assert meta['data.comparable_to_full_mnist'] is False
    assert meta['data.source'] == 'embedded'
    assert meta['data.num_train_examples'] == 4000
    assert meta['rng_seed'] == 3
    assert meta['gpu_count'] == 0 and meta['cpu_count'] == os.cpu_count()
    assert meta['search_space']['learning_rate']['scaling'] == 'log'
    assert meta['flags']['num_tuning_trials'] == 2
    assert meta['exp'] == 'guide=1' and meta['owner'] == 'team-a'
    expected = {'jax': {'jax', 'jaxlib', 'flax', 'optax'}, 'pytorch': {'torch'}}[fw]
    assert set(meta['framework_versions']) == expected
    assert len(meta['git_commit_hash']) == 40


def test_secrets_and_hostname_never_written(sweep_dir):
    log_dir, _ = sweep_dir
    hostname = socket.gethostname()
    for dirpath, _, files in os.walk(log_dir):
        for name in files:
            text = open(os.path.join(dirpath, name), errors='replace').read()
            assert SECRET not in text, name
            if len(hostname) > 3:
                assert hostname not in text, name


def test_packages_txt(sweep_dir):
    log_dir, _ = sweep_dir
    text = open(os.path.join(log_dir, 'mnist_jax', 'packages.txt')).read()
    assert text.startswith('# Python packages')
    import importlib.metadata
    assert f"jax=={importlib.metadata.version('jax')}" in text
    assert f"psutil=={importlib.metadata.version('psutil')}" in text


def test_guide_concatenate_one_liner(sweep_dir):
    log_dir, _ = sweep_dir
    subprocess.run([
        sys.executable, '-c', 'from algorithmic_efficiency import logging_utils; '
        f"logging_utils.concatenate_csvs('{log_dir}')"
    ], check=True, cwd=ROOT)
    df = pd.read_csv(os.path.join(log_dir, 'all_metrics.csv'))
    assert len(df) == sum(len(metrics(log_dir, fw, run))
                          for fw in ('jax', 'pytorch') for run in (1, 2))
    assert sorted(set(zip(df['framework'], df['run_idx'], strict=True))) == [('jax', 1), ('jax', 2),
                                                               ('pytorch', 1), ('pytorch', 2)]
    assert not [c for c in GUIDE_COLUMNS if c not in df.columns]


def test_same_seed_same_trials_in_both_frameworks(sweep_dir):
    log_dir, _ = sweep_dir
    for run in (1, 2):
        a = json.load(open(os.path.join(log_dir, 'mnist_jax', f'run_{run}', 'trial.json')))
        b = json.load(open(os.path.join(log_dir, 'mnist_pytorch', f'run_{run}', 'trial.json')))
        assert a['hyperparameters'] == b['hyperparameters'] and a['seed'] == b['seed']
    one = json.load(open(os.path.join(log_dir, 'mnist_jax', 'run_1', 'trial.json')))
    two = json.load(open(os.path.join(log_dir, 'mnist_jax', 'run_2', 'trial.json')))
    assert one['seed'] != two['seed']
    # Same seed, same initial network: the first evals agree across frameworks.
    assert metrics(log_dir, 'jax', 1)['loss'][0] == pytest.approx(
        metrics(log_dir, 'pytorch', 1)['loss'][0], rel=1e-3)


def test_existing_output_is_refused_without_resume_or_overwrite(sweep_dir):
    log_dir, _ = sweep_dir
    before = open(os.path.join(log_dir, 'mnist_jax', 'run_1', 'metrics.csv')).read()
    proc = run_cli(sweep_args('jax', log_dir), check_rc=2)
    assert proc.stderr.strip().splitlines()[-1] == (
        f'submission_runner: error: {log_dir}/mnist_jax already holds runs of mnist_jax; pass '
        '--resume to continue that sweep, --overwrite to start afresh, or choose another '
        '--log_dir')
    assert open(os.path.join(log_dir, 'mnist_jax', 'run_1', 'metrics.csv')).read() == before


BAD_INPUTS = [
    (['--workload=mnist_jx'],
     "Unknown workload 'mnist_jx'; known: cifar10_jax, cifar10_pytorch, finewebedu_lm_jax, "
     "finewebedu_lm_pytorch, lm_tiny_jax, lm_tiny_pytorch, mnist_jax, mnist_pytorch"),
    (['--framework=pytorch', '--workload=mnist_jax'],
     "Workload 'mnist_jax' is a jax workload but --framework=pytorch"),
    (['--record_extra_metadata=loss=1'], "key 'loss' collides with a built-in column"),
    (['--record_extra_metadata=novalue'], "'novalue' is malformed; use key=value"),
    (['--record_extra_metadata=hparam.x=1'], "key 'hparam.x' collides"),
    (['--overwrite', '--resume'], '--overwrite and --resume exclude each other'),
    (['--submission_path=nope.py'], "--submission_path 'nope.py' is not a file"),
    (['--num_tuning_trials=0'], '--num_tuning_trials must be in [1, 100,000], got 0'),
    (['--tuning_search_space=BAD'], "'learning_rate': 'scaling' must be 'linear' or 'log'"),
    (['--tuning_ruleset=self'], '--tuning_search_space is for --tuning_ruleset=external'),
    (['--data_dir=/nonexistent/mnist'], '/nonexistent/mnist'),
    (['--bogus=1'], "Unknown command line flag 'bogus'; see --helpshort"),
    (['--framework=tf'], 'flag --framework=tf: value should be one of <jax|pytorch>'),
    (['--log_dir=FILE/logs'], 'Not a directory'),
]


@pytest.mark.parametrize('extra, message', BAD_INPUTS)
def test_bad_input_is_one_line_exit_2(tmp_path, extra, message):
    bad_space = tmp_path / 'space.json'
    bad_space.write_text('{"learning_rate": {"min": 1e-4, "max": 1e-2, "scaling": "logarithmic"}}')
    args = ['--workload=mnist_jax', f'--submission_path={ROOT}/baselines/mnist/mnist_jax/'
            'submission.py', f'--tuning_search_space={SPACE}', f'--log_dir={tmp_path}/logs',
            '--max_global_steps=1']
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    extra = [e.replace('BAD', str(bad_space)).replace('FILE', str(a_file)) for e in extra]
    names = {e.split('=')[0] for e in extra}
    args = [a for a in args if a.split('=')[0] not in names] + extra
    if '--tuning_ruleset=self' in extra:
        pass  # keeps --tuning_search_space: that is the error
    proc = run_cli(args, check_rc=2)
    lines = proc.stderr.strip().splitlines()
    assert 'Traceback' not in proc.stderr
    assert lines[-1].startswith('submission_runner: error: ') and message in lines[-1], lines[-1]
    # Nothing was recorded for a refused run.
    assert not os.path.exists(tmp_path / 'logs' / 'mnist_jax' / 'run_1')


TEST_SUBMISSION = '''
"""Wraps the PyTorch baseline; the 'mode' hyperparameter injects failures."""
import os, runpy, time
import torch
_base = runpy.run_path(os.path.join({root!r}, 'baselines/mnist/mnist_pytorch/submission.py'))
get_batch_size = _base['get_batch_size']
data_selection = _base['data_selection']

def init_optimizer_state(workload, params, state, hp, rng):
    return _base['init_optimizer_state'](workload, params, state, {{'learning_rate': 1e-3}}, rng)

def update_params(workload, params, types, state, hp, batch, loss_type, opt, evals, step, rng):
    mode = hp['mode']
    if mode == 'fail' and step == 3:
        raise RuntimeError('injected failure at step 3')
    if mode == 'flaky' and step == 2 and os.path.exists(os.environ['AE_FLAKY_MARKER']):
        raise RuntimeError('flaky failure')
    if mode == 'exit' and step == 2:
        raise SystemExit(0)  # ends this trial only: a failure, not the end of the sweep
    if mode == 'slow' and os.path.exists(os.environ.get('AE_SLOW_MARKER', '')):
        time.sleep(0.1)  # until the marker is removed: a run slow enough to be killed
    if mode == 'nan' and step == 2:
        with torch.no_grad():
            for p in params.parameters():
                p.fill_(float('nan'))
    return _base['update_params'](workload, params, types, state, hp, batch, loss_type, opt,
                                  evals, step, rng)
'''


def write_test_submission(tmp_path, modes):
    sub = tmp_path / 'submission.py'
    sub.write_text(TEST_SUBMISSION.format(root=ROOT))
    space = tmp_path / 'space.json'
    space.write_text(json.dumps([{'mode': m} for m in modes]))
    return str(sub), str(space)


def custom_args(sub, space, log_dir, trials, *extra):
    return ['--framework=pytorch', '--workload=mnist_pytorch', f'--submission_path={sub}',
            f'--tuning_search_space={space}', f'--num_tuning_trials={trials}',
            '--max_global_steps=5', f'--log_dir={log_dir}', '--rng_seed=1', *extra]


def trial_json(log_dir, run):
    return json.load(open(os.path.join(log_dir, 'mnist_pytorch', f'run_{run}', 'trial.json')))


def test_failed_and_diverged_trials_are_recorded_and_the_sweep_goes_on(tmp_path):
    sub, space = write_test_submission(tmp_path, ['fail', 'nan', 'ok'])
    log_dir = str(tmp_path / 'logs')
    proc = run_cli(custom_args(sub, space, log_dir, 3), check_rc=1)
    assert [trial_json(log_dir, r)['status'] for r in (1, 2, 3)] == [
        'failed', 'diverged', 'complete']
    failed = trial_json(log_dir, 1)
    assert failed['error'] == 'RuntimeError: injected failure at step 3'
    assert failed['global_step'] == 3
    error_txt = open(os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'error.txt')).read()
    assert 'Traceback' in error_txt and 'injected failure at step 3' in error_txt
    rows = metrics(log_dir, 'pytorch', 2)
    assert rows['status'].tolist()[-1] == 'diverged' and math.isnan(rows['loss'].iloc[-1])
    assert trial_json(log_dir, 2)['stop_reason'] == 'diverged'
    assert 'RuntimeError: injected failure at step 3' in proc.stdout  # the summary table
    assert not os.path.exists(os.path.join(log_dir, 'mnist_pytorch', 'run_2', 'error.txt'))


def test_system_exit_in_a_submission_fails_only_its_trial(tmp_path):
    sub, space = write_test_submission(tmp_path, ['exit', 'ok'])
    log_dir = str(tmp_path / 'logs')
    proc = run_cli(custom_args(sub, space, log_dir, 2), check_rc=1)
    assert [trial_json(log_dir, r)['status'] for r in (1, 2)] == ['failed', 'complete']
    assert trial_json(log_dir, 1)['error'] == 'SystemExit: 0'
    error_txt = open(os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'error.txt')).read()
    assert 'Traceback' in error_txt and 'SystemExit' in error_txt
    assert 'score (fastest time to target)' in proc.stdout  # the sweep ended normally


def test_resume_reruns_unfinished_trials_and_overwrite_starts_afresh(tmp_path, monkeypatch):
    sub, space = write_test_submission(tmp_path, ['ok', 'flaky', 'ok'])
    log_dir = str(tmp_path / 'logs')
    marker = tmp_path / 'marker'
    marker.write_text('fail')
    monkeypatch.setenv('AE_FLAKY_MARKER', str(marker))
    run_cli(custom_args(sub, space, log_dir, 2), check_rc=1)
    wdir = os.path.join(log_dir, 'mnist_pytorch')
    run1 = open(os.path.join(wdir, 'run_1', 'metrics.csv')).read()
    failed_rows = open(os.path.join(wdir, 'run_2', 'metrics.csv')).read()
    marker.unlink()

    # --resume with one more trial: run 1 is kept as it was, run 2 is re-run
    # (its failed attempt set aside, not lost), run 3 continues the numbering.
    proc = run_cli(custom_args(sub, space, log_dir, 3, '--resume'), check_rc=0)
    assert 'trial 1/3: finished earlier, skipped' in proc.stderr
    assert open(os.path.join(wdir, 'run_1', 'metrics.csv')).read() == run1
    assert [trial_json(log_dir, r)['status'] for r in (1, 2, 3)] == ['complete'] * 3
    assert open(os.path.join(wdir, 'run_2', 'attempt-1.metrics.csv')).read() == failed_rows
    assert 'flaky failure' in open(os.path.join(wdir, 'run_2', 'attempt-1.error.txt')).read()
    assert json.load(open(os.path.join(wdir, 'run_2', 'attempt-1.trial.json')))['status'] == (
        'failed')
    meta = json.load(open(os.path.join(wdir, 'metadata.json')))
    assert len(meta['resumed_at']) == 1 and meta['rng_seed'] == 1
    # The set-aside attempt is not concatenated with the real runs.
    csv_io.concatenate_csvs(log_dir)
    assert len(pd.read_csv(os.path.join(log_dir, 'all_metrics.csv'))) == 6

    # A different seed can't resume this sweep.
    proc = run_cli(custom_args(sub, space, log_dir, 3, '--resume', '--rng_seed=2'), check_rc=2)
    assert "--rng_seed=2 differs from the resumed sweep's 1" in proc.stderr

    run_cli(custom_args(sub, space, log_dir, 1, '--overwrite'), check_rc=0)
    assert sorted(os.listdir(wdir)) == ['metadata.json', 'packages.txt', 'run_1', 'summary']
    assert sorted(os.listdir(os.path.join(wdir, 'run_1'))) == ['metrics.csv', 'trial.json']


def test_kill_9_mid_trial_keeps_every_written_row(tmp_path, monkeypatch):
    log_dir = str(tmp_path / 'logs')
    # Slow steps while the marker exists; --resume (same cap: one sweep, one budget) is fast.
    sub, space = write_test_submission(tmp_path, ['slow'])
    marker = tmp_path / 'slow'
    marker.write_text('')
    monkeypatch.setenv('AE_SLOW_MARKER', str(marker))
    args = custom_args(sub, space, log_dir, 1, '--max_global_steps=60')
    proc = subprocess.Popen([sys.executable, '-m', 'algorithmic_efficiency.submission_runner'] +
                            args, cwd=ROOT, env=runner_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    path = os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'metrics.csv')
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if os.path.exists(path) and open(path).read().count('\n') >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail('no eval row written within 120 s')
        time.sleep(0.5)  # let it train on a little after the row
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    df = pd.read_csv(path)
    assert len(df) >= 1 and df['global_step'].iloc[0] == 1
    assert not df[['loss', 'accuracy', 'mem.total']].isna().any().any()
    assert trial_json(log_dir, 1)['status'] == 'running'  # visibly unfinished
    out = csv_io.concatenate_csvs(log_dir)
    assert len(pd.read_csv(out)) == len(df)
    # --resume re-runs the killed trial; the killed attempt's rows are kept aside.
    marker.unlink()
    run_cli(custom_args(sub, space, log_dir, 1, '--max_global_steps=60', '--resume',
                        '--nosummary'), check_rc=0)
    assert trial_json(log_dir, 1)['status'] == 'complete'
    assert 'summary' not in os.listdir(os.path.join(log_dir, 'mnist_pytorch'))
    aside = pd.read_csv(os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'attempt-1.metrics.csv'))
    assert aside['loss'].tolist() == df['loss'].tolist()


def test_self_tuning_ruleset_and_no_log_dir(tmp_path):
    args = ['--workload=mnist_jax', f'--submission_path={ROOT}/baselines/mnist/mnist_jax/'
            'submission.py', '--tuning_ruleset=self', '--max_global_steps=3']
    proc = run_cli(args, check_rc=0, cwd=str(tmp_path))
    assert 'mnist_jax: 1 trial(s)' in proc.stdout
    assert "hyperparameters None" in proc.stderr
    assert os.listdir(tmp_path) == []  # no --log_dir: nothing recorded anywhere


def test_ctrl_c_stops_cleanly_and_can_be_resumed(tmp_path):
    log_dir = str(tmp_path / 'logs')
    args = sweep_args('pytorch', log_dir, '--rng_seed=5', '--progress_interval_sec=0.5',
                      trials=2, steps=100000)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'algorithmic_efficiency.submission_runner'] + args, cwd=ROOT,
        env=runner_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A background child inherits an ignored SIGINT from non-interactive shells.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    path = os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'metrics.csv')
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.exists(path) and
                                          open(path).read().count('\n') >= 2):
        time.sleep(0.2)
    # While it runs: the heartbeat (every 5 s of training) carries the live step past
    # the first eval's, and status shows it.
    first_eval_step = int(pd.read_csv(path)['global_step'].iloc[0])
    beat = {}
    while time.time() < deadline and not beat.get('step', 0) > first_eval_step:
        time.sleep(0.2)
        beat = (trial_json(log_dir, 1) or {}).get('heartbeat') or {}
    assert beat.get('step', 0) > first_eval_step, beat
    from algorithmic_efficiency.analysis import status

    table = status.format_status(log_dir).split('  note\n')[1].splitlines()
    line = next(ln for ln in table if ln.split()[0] == '1')
    assert line.split()[1] == 'running' and int(line.split()[2]) >= beat['step']
    assert 'steps/s' in line and 'ETA' in line and 'heartbeat' in line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert 'Traceback' not in err
    assert err.strip().splitlines()[-1] == (
        'submission_runner: interrupted; continue the sweep with --resume')
    # Progress lines between evals: plain lines (no carriage return) on a non-TTY stream.
    assert '\r' not in err
    assert re.search(r'mnist_pytorch trial 1: step \d+, [\d.]+ steps/s, ', err), err[-2000:]
    info = trial_json(log_dir, 1)
    assert info['status'] == 'interrupted' and info['stop_reason'] == 'interrupted'
    assert info['global_step'] >= beat['step']
    text = status.format_status(log_dir)
    assert '1 interrupted' in text and 'stopped by Ctrl-C' in text
    st = {r['description']: r['value'] for r in
          csv.DictReader(open(os.path.join(log_dir, 'mnist_pytorch', 'summary', 'run_status.csv')))}
    assert st['trials_interrupted'] == '1'
    assert len(pd.read_csv(path)) >= 1


def test_a_killed_trial_is_stale_and_resume_reruns_it(tmp_path):
    log_dir = str(tmp_path / 'logs')
    args = sweep_args('pytorch', log_dir, '--rng_seed=5', '--nosummary', trials=1, steps=100000)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'algorithmic_efficiency.submission_runner'] + args, cwd=ROOT,
        env=runner_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(log_dir, 'mnist_pytorch', 'run_1', 'metrics.csv')
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(path):
        time.sleep(0.2)
    from algorithmic_efficiency.analysis import loader, status

    assert 'running' in status.format_status(log_dir)
    proc.kill()  # SIGKILL: nothing runs on the way out
    proc.wait(timeout=60)
    assert trial_json(log_dir, 1)['status'] == 'running'  # as the kill left it
    out = status.format_status(log_dir)
    assert '1 stale' in out and 'process is gone' in out
    assert loader.load_trials(log_dir)['status'].tolist() == ['stale']
    # The same budget as the killed run (a resumed sweep keeps its budget); the
    # re-run stops at the embedded sample's target.
    run_cli(sweep_args('pytorch', log_dir, '--resume', '--nosummary', trials=1, steps=100000),
            check_rc=0)
    assert trial_json(log_dir, 1)['status'] == 'complete'

