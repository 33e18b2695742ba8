"""Bad input to the runner and the analysis commands: one line naming the value and the fix, exit 2.

Bad input is an ``errors.AEError`` (a flag, a search space, a submission that
does not import, no data, a path that can't be used); anything else is a bug
of ours and keeps its traceback (exit 1); ``--help`` exits 0. Most checks run
in process against the library (cheap on a loaded 2-core machine); the
command-line checks run a command only where its exit code and stderr line
are the point.
"""

import errno
import json
import math
import os
import struct

import pytest
from helpers.sweep_config import PT_SUBMISSION, config
from pyrun import run_module, run_python
from sweeps import SPACE, run_cli

from algorithmic_efficiency import errors, sweep
from algorithmic_efficiency.analysis import run_cli as analysis_run_cli
from algorithmic_efficiency.search import parsing
from algorithmic_efficiency.sweep import flag_checks
from algorithmic_efficiency.workloads.mnist import data as mnist_data

# --- A submission that does not import.
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


# --- The analysis commands and datasets.
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


# --- A full disk is no bad input, and not a bug either.
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


# --- No data.
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


# --- Only bad input is exit 2: a bug is a traceback and exit 1; --help is no error.
def test_help_exits_0_and_lists_the_flags():
    proc = run_cli(['--help'])
    assert proc.returncode == 0, proc.stderr
    assert '--workload' in proc.stdout and '--tuning_search_space' in proc.stdout


def test_a_bug_of_ours_is_a_traceback_and_exit_1_not_bad_input():
    # A ValueError that is no AEError (before the hierarchy: exit 2 "bad input").
    code = ('import sys\n'
            'from absl import app\n'
            'from algorithmic_efficiency import submission_runner as runner\n'
            'def bug(config):\n'
            '    raise ValueError("a bug of ours")\n'
            'runner.sweep.run = bug\n'
            "sys.argv = ['submission_runner', '--workload=mnist_jax']\n"
            'app.run(runner.main, flags_parser=runner.parse_flags)\n')
    proc = run_python(code)
    assert proc.returncode == 1
    assert 'Traceback' in proc.stderr and 'ValueError: a bug of ours' in proc.stderr
    assert 'submission_runner: error' not in proc.stderr


def test_the_analysis_commands_turn_only_bad_input_into_exit_2(capsys):
    def no_runs():
        raise errors.LogDirError('logs holds no runs; give the --log_dir of a sweep')

    def bug():
        raise ValueError('a bug of ours')

    assert analysis_run_cli('summary', no_runs) == 2
    assert capsys.readouterr().err == (
        'summary: error: logs holds no runs; give the --log_dir of a sweep\n')
    with pytest.raises(ValueError, match='a bug of ours'):
        analysis_run_cli('summary', bug)


@pytest.mark.parametrize('error', [errors.UsageError, errors.SearchSpaceError, errors.DataError,
                                   errors.LogDirError, errors.UserPathError])
def test_every_bad_input_error_is_an_aeerror_and_still_a_valueerror(error):
    assert issubclass(error, errors.AEError) and issubclass(error, ValueError)


# --- A path the user named that can't be used: bad input where it is opened.
def test_a_log_dir_below_a_file_is_one_line_naming_it(tmp_path):
    (tmp_path / 'file').write_text('')
    log_dir = tmp_path / 'file' / 'logs'
    with pytest.raises(errors.UserPathError) as e:
        sweep.run(config(log_dir))
    assert str(e.value) == (
        f'--log_dir {log_dir}/mnist_pytorch ({log_dir}): Not a directory; a part of the path '
        'is a file, not a directory')
    proc = run_cli(['--workload=mnist_pytorch', f'--submission_path={PT_SUBMISSION}',
                    f'--tuning_search_space={SPACE}', f'--log_dir={log_dir}'], check_rc=2)
    assert proc.stderr.strip().splitlines()[-1] == f'submission_runner: error: {e.value}'
    assert 'Traceback' not in proc.stderr


def test_plot_out_below_a_file_is_exit_2_one_line(finished_sweep, tmp_path):
    pytest.importorskip('matplotlib')
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / 'plots'
    proc = run_module('algorithmic_efficiency.plot', str(finished_sweep), '--out', str(out))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'plot: error: --out {out}: Not a directory; a part of the path is a file, not a '
        'directory')


def test_path_error_names_the_part_that_failed_when_it_is_not_the_path_itself():
    error = OSError(errno.EACCES, 'Permission denied', '/data/locked')
    assert str(errors.path_error('--out /data/locked/plots', error)) == (
        '--out /data/locked/plots (/data/locked): Permission denied; check its permissions')
    assert str(errors.path_error('--out /x', OSError(errno.EROFS, 'Read-only file system',
                                                     '/x'))) == (
        '--out /x: Read-only file system; the file system is read-only: choose a writable path')


def test_tensorboard_into_a_read_only_sweep_is_exit_2_before_any_file(
        finished_sweep, tmp_path, monkeypatch, capsys):
    pytest.importorskip('tensorboard')
    import shutil

    from algorithmic_efficiency import tensorboard as tb_cli
    from algorithmic_efficiency.storage import files

    log_dir = tmp_path / 'logs'
    shutil.copytree(finished_sweep, log_dir)
    wdir = str(log_dir / 'mnist_pytorch')
    # The tests run as root, for whom every directory is writable: fake the permission bit.
    real_access = os.access
    monkeypatch.setattr(files.os, 'access',
                        lambda p, mode: False if str(p) == wdir else real_access(p, mode))
    assert tb_cli.main([str(log_dir)]) == 2
    assert capsys.readouterr().err == (
        f'tensorboard: error: the sweep directory {wdir}: not writable; check its permissions\n')
    assert not list((log_dir / 'mnist_pytorch').rglob('*tfevents*'))
