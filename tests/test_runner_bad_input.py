"""Hostile input, concurrency and failure: the runner refuses in one line, never loses a row.

One test (or a few) per item of issue 11. Most run in process against the
library (cheap on a loaded 2-core machine); the command-line checks run the
runner only where its exit code and stderr line are the point.
"""

import errno
import json
import logging
import math
import os
import signal
import struct
import subprocess
import sys

import pandas as pd
import pytest
from pyrun import run_module
from sweeps import ROOT, SPACE, run_cli

from algorithmic_efficiency import layout, spec, sweep
from algorithmic_efficiency.recording import lock as sweep_lock
from algorithmic_efficiency.recording import recorder as recorder_lib
from algorithmic_efficiency.recording import redact, sysinfo
from algorithmic_efficiency.search import parsing
from algorithmic_efficiency.storage import csv_io, files
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter
from algorithmic_efficiency.sweep import flag_checks
from algorithmic_efficiency.training.results import TrialResult, trial_from_info
from algorithmic_efficiency.workloads.mnist import data as mnist_data

PT_SUBMISSION = os.path.join(ROOT, 'baselines', 'mnist', 'mnist_pytorch', 'submission.py')


def config(log_dir, **overrides):
    """A small PyTorch sweep's RunConfig (2 trials of 3 steps, seed 7)."""
    base = dict(workload='mnist_pytorch', submission_path=PT_SUBMISSION,
                tuning_search_space=SPACE, num_tuning_trials=2, max_global_steps=3,
                log_dir=str(log_dir), rng_seed=7, summary=False)
    return sweep.RunConfig(**{**base, **overrides})


def tree(path):
    """Every file below `path` with its bytes: to prove a refused run touched nothing."""
    out = {}
    for dirpath, _, names in os.walk(path):
        for n in names:
            full = os.path.join(dirpath, n)
            out[os.path.relpath(full, path)] = open(full, 'rb').read()
    return out


# --- 1. One writer per sweep directory.
@pytest.fixture(scope='module')
def finished_sweep(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('locked') / 'logs'
    assert sweep.run(config(log_dir)) == 0
    return log_dir


@pytest.mark.parametrize('mode', [{}, {'resume': True}, {'overwrite': True}])
def test_lock_refuses_a_second_runner_in_every_mode_and_touches_nothing(finished_sweep, mode):
    wdir = os.path.join(finished_sweep, 'mnist_pytorch')
    before = tree(wdir)
    with sweep_lock.SweepLock(wdir):
        with pytest.raises(sweep_lock.SweepLockedError) as e:
            sweep.run(config(finished_sweep, **mode))
    assert f'{wdir} is in use by another runner (PID {os.getpid()})' in str(e.value)
    assert tree(wdir) == before


def test_lock_refusal_is_one_line_exit_2_from_the_cli(finished_sweep):
    wdir = os.path.join(finished_sweep, 'mnist_pytorch')
    with sweep_lock.SweepLock(wdir):
        proc = run_cli(['--workload=mnist_pytorch', f'--submission_path={PT_SUBMISSION}',
                        f'--tuning_search_space={SPACE}', f'--log_dir={finished_sweep}',
                        '--resume'], check_rc=2)
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'submission_runner: error: {wdir} is in use by another runner (PID {os.getpid()}); '
        'one runner per sweep directory: wait for it to end (or stop it), or choose another '
        '--log_dir')


def test_lock_dies_with_its_holder_under_kill_9(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\n'
         'from algorithmic_efficiency.recording.lock import SweepLock\n'
         f'SweepLock({str(tmp_path)!r}).acquire(); print("held", flush=True); time.sleep(600)'],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        assert sweep_lock.lock_holder(str(tmp_path)) == holder.pid
        with pytest.raises(sweep_lock.SweepLockedError, match=f'PID {holder.pid}'):
            sweep_lock.SweepLock(str(tmp_path)).acquire()
    finally:
        holder.kill()
        holder.wait()
    with sweep_lock.SweepLock(str(tmp_path)) as lock:  # no stale lock
        assert lock.held
    assert os.listdir(tmp_path) == []  # and no lock file


def test_overwrite_keeps_the_locked_directory_and_empties_it(tmp_path):
    rec = recorder_lib.Recorder(str(tmp_path), 'w', mode='overwrite')
    os.makedirs(rec.run_dir(1))
    open(os.path.join(rec.workload_dir, 'metadata.json'), 'w').write('{}')
    rec.lock()
    inode = os.stat(rec.workload_dir).st_ino
    rec.prepare()
    assert os.listdir(rec.workload_dir) == [] and os.stat(rec.workload_dir).st_ino == inode
    with pytest.raises(sweep_lock.SweepLockedError):
        sweep_lock.SweepLock(rec.workload_dir).acquire()
    rec.unlock()


# --- 3. A submission that does not import.
IMPORT_ERRORS = [
    ('syntax.py', 'def f(:\n    pass\n', 'syntax.py:1 does not import: SyntaxError: '),
    ('missing.py', 'import os\nimport no_such_module_xyz\n',
     "missing.py:2 does not import: ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    ('raises.py', 'x = 1\n\n\nraise RuntimeError("boom")\n',
     'raises.py:4 does not import: RuntimeError: boom'),
    ('exits.py', 'import sys\nsys.exit(3)\n', 'exits.py:2 does not import: SystemExit: exit(3)'),
    ('binary.bin', '\x00\x01\x02\x7fELF', 'binary.bin does not import: SyntaxError: '),
    ('notes.txt', 'These are notes, not Python.\n', 'notes.txt:1 does not import: SyntaxError'),
]


@pytest.mark.parametrize('name, source, message', IMPORT_ERRORS)
def test_submission_import_error_names_file_line_and_error(tmp_path, name, source, message):
    path = tmp_path / name
    path.write_text(source)
    with pytest.raises(sweep.UsageError) as e:
        sweep.load_submission(str(path))
    assert str(e.value).startswith(f'submission {tmp_path}/{message}'), str(e.value)
    assert '\n' not in str(e.value)


def test_submission_import_error_is_exit_2_one_line_from_the_cli(tmp_path):
    sub = tmp_path / 'sub.py'
    sub.write_text('import sys\nsys.exit(3)\n')
    proc = run_cli(['--workload=mnist_jax', f'--submission_path={sub}',
                    f'--tuning_search_space={SPACE}', f'--log_dir={tmp_path}/logs'], check_rc=2)
    assert proc.stderr.strip().splitlines() == [
        f'submission_runner: error: submission {sub}:2 does not import: SystemExit: exit(3) '
        'at import']
    assert not os.path.exists(tmp_path / 'logs')


# --- 6. Numeric flags, before any file is written.
NUMERIC = [
    ({'max_submission_time_sec': math.nan}, '--max_submission_time_sec must be a finite number'),
    ({'max_submission_time_sec': math.inf}, '--max_submission_time_sec must be a finite number'),
    ({'max_submission_time_sec': 0.0}, '--max_submission_time_sec must be in [0.001, '),
    ({'max_submission_time_sec': -5.0}, '--max_submission_time_sec must be in'),
    ({'telemetry_interval_sec': math.nan}, '--telemetry_interval_sec must be a finite number'),
    ({'telemetry_interval_sec': math.inf}, '--telemetry_interval_sec must be a finite number'),
    ({'telemetry_interval_sec': 1e12}, '--telemetry_interval_sec must be in [0.01, 3600], got'),
    ({'telemetry_interval_sec': 0.001}, '--telemetry_interval_sec must be in [0.01, 3600]'),
    ({'num_tuning_trials': 1_000_000_000}, '--num_tuning_trials must be in [1, 100,000]'),
    ({'num_tuning_trials': -1}, '--num_tuning_trials must be in [1, 100,000], got -1'),
    ({'max_global_steps': 0}, '--max_global_steps must be in [1, '),
    ({'max_global_steps': 10**13}, '--max_global_steps must be in [1, '),
    ({'rng_seed': -1}, '--rng_seed must be in [0, '),
    ({'rng_seed': 2**64}, '--rng_seed must be in [0, '),
    ({'num_devices': 0}, '--num_devices must be in [1, 4,096], got 0'),
    ({'num_devices': 10**9}, '--num_devices must be in [1, 4,096], got 1000000000'),
]


@pytest.mark.parametrize('override, message', NUMERIC)
def test_numeric_flag_out_of_range_is_refused_before_any_file(tmp_path, override, message):
    with pytest.raises(ValueError) as e:
        sweep.run(config(tmp_path / 'logs', **override))
    assert message in str(e.value) and '\n' not in str(e.value)
    assert not os.path.exists(tmp_path / 'logs')


def test_numeric_flag_in_range_passes():
    for flag in flag_checks.NUMERIC_FLAGS:
        flag.check(flag.low)
        flag.check(flag.high)


def test_nan_telemetry_interval_from_the_cli_then_the_corrected_command_runs(tmp_path):
    args = ['--workload=mnist_pytorch', f'--submission_path={PT_SUBMISSION}',
            f'--tuning_search_space={SPACE}', f'--log_dir={tmp_path}/logs',
            '--num_tuning_trials=1', '--max_global_steps=1', '--nosummary']
    proc = run_cli([*args, '--telemetry_interval_sec=nan'], check_rc=2)
    assert proc.stderr.strip().splitlines()[-1] == (
        'submission_runner: error: --telemetry_interval_sec must be a finite number in '
        '[0.01, 3600], got nan')
    assert not os.path.exists(tmp_path / 'logs')
    run_cli([*args, '--telemetry_interval_sec=0.5'], check_rc=0)


def test_search_space_nested_too_deep_is_one_line(tmp_path):
    path = tmp_path / 'deep.json'
    path.write_text('[' * 100_000 + ']' * 100_000)
    with pytest.raises(parsing.SearchSpaceError, match='nested more than 16 levels deep'):
        parsing.load_search_space(str(path))
    path.write_text(json.dumps({'lr': {'feasible_points': [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}))
    with pytest.raises(parsing.SearchSpaceError, match='nested more than 16'):
        parsing.load_search_space(str(path))


# --- 7. --resume.
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


# --- 4 and 5. No user name, no credential.
@pytest.mark.parametrize('url, expected', [
    ('https://user:p@ss@host.org/x', 'https://***@host.org/x'),
    ('https://u:a:b@c@host.org:8080/x', 'https://***@host.org:8080/x'),
    ('https://host.org/simple?token=abc123&page=2', 'https://host.org/simple?token=***&page=2'),
    ('https://h/x?access_token=a;X-Amz-Signature=b', 'https://h/x?access_token=***;X-Amz-Signature=***'),
    ('https://h/x?api_key=k&sig=s&password=p', 'https://h/x?api_key=***&sig=***&password=***'),
    ('https://h/x#a=1&auth=zzz', 'https://h/x#a=1&auth=***'),
    ('https://h/x?keyboard=1&monkey=2', 'https://h/x?keyboard=1&monkey=2'),
    ('https://h/x#egg=pkg', 'https://h/x#egg=pkg'),
    ('git+https://github.com/x/y@v1.0', 'git+https://github.com/x/y@v1.0'),
])
def test_redact_urls_hides_userinfo_and_secret_parameters(url, expected):
    assert redact.redact_urls(url) == expected
    assert sysinfo.redact_url_credentials(f'pkg @ {url}\n') == f'pkg @ {expected}\n'


def test_paths_are_recorded_relative_to_cwd_or_with_home_as_tilde():
    cwd, home = '/home/ann/proj', '/home/ann'
    assert redact.display_path('/home/ann/proj/sub.py', cwd, home) == 'sub.py'
    assert redact.display_path('/home/ann/data/x', cwd, home) == '~/data/x'
    assert redact.display_path('/tmp/logs', cwd, home) == '/tmp/logs'
    assert redact.display_path(None, cwd, home) is None
    text = 'File "/home/ann/proj/a.py", line 1\nFile "/home/ann/lib/b.py"\n/home/annie/c'
    assert redact.redact_paths(text, cwd, home) == (
        'File "a.py", line 1\nFile "~/lib/b.py"\n/home/annie/c')


def test_metadata_and_error_txt_carry_no_home_directory(tmp_path, monkeypatch):
    home = tmp_path / 'home' / 'zed'
    (home / 'work').mkdir(parents=True)
    sub = home / 'work' / 'sub.py'
    sub.write_text(open(PT_SUBMISSION).read().replace(
        'def update_params(', 'def update_params(*a, **k):\n    raise RuntimeError("x")\n\n'
        'def _unused(', 1))
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.chdir(home / 'work')
    log_dir = home / 'logs'
    assert sweep.run(config(str(log_dir), submission_path=str(sub), num_tuning_trials=1)) == 1
    meta_text = (log_dir / 'mnist_pytorch' / 'metadata.json').read_text()
    error = (log_dir / 'mnist_pytorch' / 'run_1' / 'error.txt').read_text()
    assert str(home) not in meta_text and str(home) not in error
    meta = json.loads(meta_text)
    assert meta['log_dir'] == '~/logs' and meta['flags']['submission_path'] == 'sub.py'
    assert 'File "sub.py", line' in error


# --- 11. Files.
def test_trial_json_is_strict_json_with_the_text_of_non_finite_values(tmp_path):
    rec = recorder_lib.Recorder(str(tmp_path), 'w', telemetry_interval_sec=60)
    rec.prepare()
    trial = rec.start_trial(1, {'lr': 0.1}, 5)
    result = TrialResult(run_idx=1, hyperparameters={'lr': 0.1}, seed=5,
                         status=spec.TrialStatus.DIVERGED, stop_reason=spec.StopReason.DIVERGED,
                         evals=[{'loss': math.nan, 'accuracy': math.inf}])
    rec.finish_trial(trial, result)
    text = open(os.path.join(rec.run_dir(1), 'trial.json')).read()
    info = json.loads(text, parse_constant=lambda c: pytest.fail(f'non-JSON constant {c}'))
    assert info['final_loss'] is None and info['final_loss_text'] == 'nan'
    assert info['final_accuracy'] is None and info['final_accuracy_text'] == 'inf'
    back = trial_from_info(info)
    assert math.isnan(back.final_eval['loss']) and back.final_eval['accuracy'] == math.inf


def test_each_metrics_row_is_one_write(tmp_path, monkeypatch):
    calls = []
    real_write = os.write
    monkeypatch.setattr(os, 'write', lambda fd, data: calls.append(bytes(data)) or real_write(
        fd, data))
    with MetricsCsvWriter(tmp_path / 'metrics.csv') as w:
        for i in range(5):
            w.write_row({'step': i, 'loss': 1 / (i + 1), 'note': 'a,b' * 100})
    assert len(calls) == 5 and all(c.endswith(b'\n') for c in calls)


def test_every_reader_drops_an_unterminated_last_line(tmp_path, caplog):
    path = tmp_path / 'run_1' / 'metrics.csv'
    path.parent.mkdir()
    path.write_text('step,loss\n1,0.5\n2,0.4\n3,0.')
    assert csv_io.read_metrics_csv(path)['step'].tolist() == [1, 2]
    out = csv_io.concatenate_csvs(tmp_path)
    assert pd.read_csv(out)['step'].tolist() == [1, 2]
    MetricsCsvWriter(path).close()  # the writer cuts it on reopening
    assert pd.read_csv(path)['step'].tolist() == [1, 2]


# --- 10. Readers.
def test_duplicated_column_warns_and_keeps_the_first(tmp_path, caplog):
    path = tmp_path / 'metrics.csv'
    path.write_text('step,loss,accuracy,loss\n1,0.5,0.9,0.01\n2,0.4,0.95,0.02\n')
    with caplog.at_level(logging.WARNING):
        df = csv_io.read_metrics_csv(path)
    assert list(df.columns) == ['step', 'loss', 'accuracy']
    assert df['loss'].min() == 0.4
    assert f'{path}: duplicated column(s) loss' in caplog.text


def test_short_and_long_rows_warn_with_file_and_line(tmp_path, caplog):
    path = tmp_path / 'metrics.csv'
    path.write_text('step,loss,accuracy\n1,0.5,0.9\n2,0.4\n3,0.3,0.95,7\n4,0.2,0.97\n')
    with caplog.at_level(logging.WARNING):
        df = csv_io.read_metrics_csv(path)
    assert df['step'].tolist() == [1, 4]
    assert f'{path}: line 3 has 2 fields, the header 3; skipping the row' in caplog.text
    assert f'{path}: line 4 has 4 fields, the header 3; skipping the row' in caplog.text


def test_concatenate_skips_an_unreadable_file_and_writes_with_the_umask(tmp_path, caplog):
    (tmp_path / 'run_1').mkdir()
    (tmp_path / 'run_1' / 'metrics.csv').write_text('step,loss\n1,0.5\n')
    (tmp_path / 'run_2').mkdir()
    os.symlink(tmp_path / 'gone', tmp_path / 'run_2' / 'metrics.csv')  # unreadable
    old = os.umask(0o022)
    try:
        with caplog.at_level(logging.WARNING):
            out = csv_io.concatenate_csvs(tmp_path)
    finally:
        os.umask(old)
    assert pd.read_csv(out)['step'].tolist() == [1]
    assert 'run_2/metrics.csv: unreadable' in caplog.text
    assert os.stat(out).st_mode & 0o777 == 0o644


@pytest.mark.parametrize('args, message', [
    (['plot', 'LOG', '--dpi', '100000'], '--dpi must be in [10, 1200], got 100000'),
    (['plot', 'LOG', '--dpi', '0'], '--dpi must be in [10, 1200], got 0'),
    (['datasets', 'mnist', '--data_dir', 'FILE'], 'is a file, not a directory'),
    (['datasets', 'mnist', '--data_dir', 'LOG', '--timeout', 'nan'],
     '--timeout must be in (0, 86400] seconds, got nan'),
    (['summary', 'LOG/nothing'], 'error: '),
])
def test_cli_bad_usage_is_exit_2_one_line(tmp_path, args, message):
    (tmp_path / 'a_file').write_text('')
    cli, *rest = [a.replace('LOG', str(tmp_path)).replace('FILE', str(tmp_path / 'a_file'))
                  for a in args]
    proc = run_module(f'algorithmic_efficiency.{cli}', *rest)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]


def test_plot_bounds_the_figure_size(finished_sweep, tmp_path):
    pytest.importorskip('matplotlib')
    from algorithmic_efficiency.analysis import loader, plot
    runs = loader.load_runs(str(finished_sweep), metadata=False)
    with pytest.raises(ValueError, match=r'pixels \(more than 20000 a side\) at --dpi 100000'):
        plot.plot_runs(runs, str(tmp_path / 'plots'), dpi=100_000)
    assert not os.listdir(tmp_path / 'plots')


def test_run_directory_beyond_int64_is_not_a_run():
    assert layout.RUN_DIR_RE.match('run_' + '9' * 18)
    assert not layout.RUN_DIR_RE.match('run_' + '9' * 20)


# --- 8. A full disk.
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


def test_disk_full_is_one_line_from_the_cli(monkeypatch, capsys):
    from algorithmic_efficiency import submission_runner

    def full(_config):
        raise OSError(errno.ENOSPC, 'No space left on device', 'logs/w/run_2/metrics.csv')

    monkeypatch.setattr(sweep, 'run', full)
    submission_runner.FLAGS(['submission_runner'])
    assert submission_runner.main(['submission_runner']) == 1
    assert capsys.readouterr().err == (
        'submission_runner: error: the disk is full (writing logs/w/run_2/metrics.csv); free '
        'space, then continue the sweep with --resume\n')


# --- 9. No data.
def _idx(path, magic, dims, payload=b''):
    with open(path, 'wb') as f:
        f.write(struct.pack('>I', magic) + b''.join(struct.pack('>I', d) for d in dims) + payload)


def test_data_with_zero_examples_is_a_data_error_at_load(tmp_path):
    for images, labels in ((mnist_data.TRAIN_IMAGES, mnist_data.TRAIN_LABELS),
                           (mnist_data.TEST_IMAGES, mnist_data.TEST_LABELS)):
        _idx(tmp_path / images, 0x803, (0, 28, 28))
        _idx(tmp_path / labels, 0x801, (0,))
    with pytest.raises(mnist_data.DataError) as e:
        mnist_data.load_mnist(str(tmp_path))
    assert 'holds no examples' in str(e.value) or 'no examples' in str(e.value).lower()


def test_fewer_training_examples_than_one_batch_is_refused(tmp_path):
    class Tiny:
        num_train_examples = 10

    class Sub:
        @staticmethod
        def get_batch_size(_name):
            return 128

    with pytest.raises(sweep.UsageError, match='holds 10 examples, fewer than one batch of 128'):
        sweep._check_one_batch(Tiny(), Sub(), config(tmp_path))


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
