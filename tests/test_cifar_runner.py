"""CIFAR-10 end to end: the real ResNet-18 through the runner's command line, in both frameworks.

One trial of two steps at batch 8 per framework (the baseline with a smaller
batch: the real model takes seconds per step on this CPU), into one shared
--log_dir; then the files and every analysis view of them.
"""

import json
import os

import pandas as pd
import pytest
from cifar_files import write_python_version
from pyrun import run_module
from test_runner_e2e import run_cli

from algorithmic_efficiency.storage import csv_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE = os.path.join(ROOT, 'baselines/cifar/tuning_search_space.json')
EVAL_COLUMNS = ['accuracy', 'loss', 'train.accuracy', 'train.loss', 'test.accuracy', 'test.loss']

WRAPPER = '''"""The CIFAR baseline at batch size 8, for tests."""
import importlib.util

_spec = importlib.util.spec_from_file_location('baseline', {path!r})
_baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_baseline)
init_optimizer_state = _baseline.init_optimizer_state
update_params = _baseline.update_params
data_selection = _baseline.data_selection


def get_batch_size(workload_name):
    return 8
'''


def small_batch_submission(tmp_path, fw):
    path = tmp_path / f'cifar_{fw}_batch8.py'
    path.write_text(WRAPPER.format(path=f'{ROOT}/baselines/cifar/cifar_{fw}/submission.py'))
    return str(path)


@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar_e2e')
    data_dir = root / 'data'
    write_python_version(data_dir, 100, 20, seed=2)
    log_dir = root / 'logs'
    procs = {}
    for fw in ('jax', 'pytorch'):
        procs[fw] = run_cli(
            [
                f'--workload=cifar10_{fw}',
                f'--submission_path={small_batch_submission(root, fw)}',
                f'--tuning_search_space={SPACE}',
                '--num_tuning_trials=1',
                '--max_global_steps=2',
                '--rng_seed=5',
                f'--data_dir={data_dir}',
                f'--log_dir={log_dir}',
            ],
            module=fw == 'pytorch',
            check_rc=0,
        )
    return str(log_dir), str(data_dir), procs


def rows(log_dir, fw):
    return csv_io.read_metrics_csv(os.path.join(log_dir, f'cifar10_{fw}', 'run_1', 'metrics.csv'))


def test_both_frameworks_train_and_record_three_splits(sweep):
    log_dir, data_dir, procs = sweep
    for fw in ('jax', 'pytorch'):
        df = rows(log_dir, fw)
        assert df['global_step'].tolist() == [1, 2]
        assert df['status'].tolist() == ['running', 'complete']
        cols = list(df.columns)
        # accuracy, loss (the target split) where the guide puts them, the other splits after.
        start = cols.index('epoch') + 1
        assert cols[start : start + 6] == EVAL_COLUMNS
        for col in EVAL_COLUMNS:
            values = pd.to_numeric(df[col])
            assert values.notna().all(), col
            assert (values.between(0, 1) if 'accuracy' in col else values.between(1.5, 3.5)).all()
        assert (df['workload.target_split'] == 'validation').all()
        assert (df['workload.num_eval_examples'] == 10).all()
        assert (df['workload.num_test_examples'] == 20).all()
        assert (df['workload.target_value'] == 0.85).all()
        assert (df['batch_size'] == 8).all() and (df['workload.num_train_examples'] == 90).all()
        assert set(df.filter(like='hparam.').columns) == {
            'hparam.learning_rate',
            'hparam.one_minus_momentum',
            'hparam.weight_decay',
            'hparam.warmup_fraction',
        }
        meta = json.load(open(os.path.join(log_dir, f'cifar10_{fw}', 'metadata.json')))
        assert meta['workload.target_split'] == 'validation'
        assert meta['workload.step_hint'] == 4883
        assert meta['workload.train_mean'] == [0.49139968, 0.48215827, 0.44653124]
        assert meta['data.source'] == 'python'
        assert meta['data.path'] == os.path.join(data_dir, 'cifar-10-batches-py')
        assert (meta['data.num_eval_examples'], meta['data.num_test_examples']) == (10, 20)
        assert 'test.accuracy' in procs[fw].stderr  # the progress line shows every split


def test_first_evals_agree_across_frameworks(sweep):
    """Same seed: same initial network, same batches, same SGD: the same first eval."""
    log_dir, _, _ = sweep
    jax_rows, torch_rows = rows(log_dir, 'jax'), rows(log_dir, 'pytorch')
    for col in EVAL_COLUMNS:
        first_jax, first_torch = float(jax_rows[col].iloc[0]), float(torch_rows[col].iloc[0])
        if 'loss' in col:
            assert first_jax == pytest.approx(first_torch, rel=1e-4), col
        else:
            assert first_jax == pytest.approx(first_torch, abs=0.051), col  # one image in 20
    # The second eval too, after batch-norm statistics passed through two steps.
    assert float(jax_rows['loss'].iloc[1]) == pytest.approx(float(torch_rows['loss'].iloc[1]), 1e-3)


def test_analysis_views_read_the_cifar_sweeps(sweep):
    log_dir, _, _ = sweep
    status = run_module('algorithmic_efficiency.status', log_dir)
    assert status.returncode == 0, status.stderr
    assert 'cifar10_jax' in status.stdout and 'cifar10_pytorch' in status.stdout
    summary = run_module('algorithmic_efficiency.summary', log_dir)
    assert summary.returncode == 0, summary.stderr
    config = pd.read_csv(os.path.join(log_dir, 'cifar10_jax', 'summary', 'config_data.csv'))
    assert config['final_loss'].iloc[0] == pytest.approx(
        float(rows(log_dir, 'jax')['loss'].iloc[1])
    )
    plot = run_module('algorithmic_efficiency.plot', log_dir)
    assert plot.returncode == 0, plot.stderr
    assert os.path.getsize(os.path.join(log_dir, 'plots', 'accuracy_vs_time.png')) > 1000
    tb = run_module('algorithmic_efficiency.tensorboard', log_dir)
    assert tb.returncode == 0, tb.stderr
    assert os.listdir(os.path.join(log_dir, 'cifar10_pytorch', 'run_1', 'eval'))
    from algorithmic_efficiency.analysis import explorer

    frame = explorer.load_folder(log_dir)
    assert frame.loc[('other', 'workload.target_split')].tolist() == ['validation'] * 2


def test_without_data_dir_one_line_says_how_to_get_cifar(tmp_path):
    proc = run_cli(
        [
            '--workload=cifar10_pytorch',
            f'--submission_path={ROOT}/baselines/cifar/cifar_pytorch/submission.py',
            '--tuning_ruleset=self',
            '--max_global_steps=1',
        ],
        check_rc=2,
    )
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == (
        'submission_runner: error: CIFAR-10 needs --data_dir (there is no embedded sample); get '
        'it with `python -m algorithmic_efficiency.datasets cifar10 --data_dir DIR` and pass '
        '--data_dir=DIR'
    )
    assert 'Traceback' not in proc.stderr


def test_a_corrupt_batch_file_is_one_line_naming_it(tmp_path):
    write_python_version(tmp_path, 30, 10)
    bad = tmp_path / 'cifar-10-batches-py' / 'data_batch_3'
    bad.write_bytes(bad.read_bytes()[:1000])
    proc = run_cli(
        [
            '--workload=cifar10_pytorch',
            f'--submission_path={ROOT}/baselines/cifar/cifar_pytorch/submission.py',
            '--tuning_ruleset=self',
            f'--data_dir={tmp_path}',
            f'--log_dir={tmp_path}/logs',
        ],
        check_rc=2,
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'submission_runner: error: {bad}: truncated pickle')
    # Nothing written: the sweep directory exists at most empty (the sweep lock sits on it).
    wdir = tmp_path / 'logs' / 'cifar10_pytorch'
    assert 'Traceback' not in proc.stderr
    assert not os.path.exists(wdir) or os.listdir(wdir) == []
