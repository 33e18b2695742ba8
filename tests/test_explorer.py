"""The explorer's loader on a real small sweep of this project and on a Hydra multirun
tree made by hydra-core itself (a tiny ``@hydra.main`` app run with ``--multirun``).

Expected values are read here independently from the files (metrics.csv with the csv
module, trial.json, the jobs' overrides.yaml with PyYAML), not through the loader.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hydra_multirun import (
    HYDRA_APP,
    HYDRA_CONFIG,
    HYDRA_KEY,
    N_JOBS,
    NO_RESULTS,
    read_overrides,
    sweep_dir_of,
)
from pyrun import run_python
from sweeps import N_TRIALS, SWEEP_KEY, file_trials

from algorithmic_efficiency.analysis import explorer


@pytest.fixture(scope='module')
def log_dir(pytorch_sweep):
    return pytorch_sweep  # conftest's shared sweep (read-only: copy before changing it)


@pytest.fixture(scope='module')
def hydra_root(hydra_multirun):
    return hydra_multirun  # conftest's shared multirun (read-only)


def groups_of(frame):
    return list(dict.fromkeys(frame.index.get_level_values('group')))


# ---------------------------------------------------------------------------
# This project's --log_dir
# ---------------------------------------------------------------------------
def test_log_dir_frame_index_groups_and_values(log_dir):
    frame = explorer.load_folder(log_dir, ['*.csv', 'trial.json'])
    assert frame.columns.names == ['sweep', 'run']
    assert frame.index.names == ['group', 'parameter']
    assert frame.columns.tolist() == [(SWEEP_KEY, n) for n in range(1, N_TRIALS + 1)]
    assert groups_of(frame) == ['hyperparameters', 'metrics', 'dataset', 'other', 'path']
    assert frame.loc['hyperparameters'].index.tolist() == [
        'learning_rate',
        'one_minus_beta_1',
        'epsilon',
    ]
    workload_dir = os.path.join(log_dir, SWEEP_KEY)
    with open(os.path.join(workload_dir, 'metadata.json')) as f:
        meta = json.load(f)
    for run, (rows, info) in file_trials(workload_dir).items():
        col = frame[(SWEEP_KEY, run)]
        for name, value in info['hyperparameters'].items():
            assert col[('hyperparameters', name)] == value
        losses = [float(r['loss']) for r in rows]
        assert col[('metrics', 'best_loss')] == min(losses)
        assert col[('metrics', 'final_loss')] == losses[-1]
        assert col[('metrics', 'final_accuracy')] == float(rows[-1]['accuracy'])
        assert col[('metrics', 'best_accuracy')] == max(float(r['accuracy']) for r in rows)
        assert col[('metrics', 'num_evals')] == len(rows)
        assert col[('metrics', 'global_step')] == info['global_step'] == 20
        assert math.isnan(col[('metrics', 'time_to_target')])  # 20 steps reach no target
        assert col[('dataset', 'source')] == meta['data.source'] == 'embedded'
        assert col[('dataset', 'num_train_examples')] == meta['data.num_train_examples']
        assert col[('dataset', 'num_eval_examples')] == meta['data.num_eval_examples']
        assert col[('other', 'source')] == 'log_dir'
        assert col[('other', 'workload')] == 'mnist_pytorch'
        assert col[('other', 'framework')] == 'pytorch'
        assert col[('other', 'status')] == info['status'] == 'complete'
        assert col[('other', 'seed')] == info['seed']
        assert col[('other', 'batch_size')] == int(rows[0]['batch_size'])
        assert col[('other', 'workload.target_value')] == meta['workload.target_value']
        assert col[('other', 'python_version')] == meta['python_version']
        assert col[('other', 'framework_versions.torch')] == meta['framework_versions']['torch']
        assert col[('other', 'rng_seed')] == 0
        run_dir = os.path.join(workload_dir, f'run_{run}')
        assert col[('path', '*.csv')] == os.path.join(run_dir, 'metrics.csv')
        assert col[('path', 'trial.json')] == os.path.join(run_dir, 'trial.json')
    # The peer's access patterns.
    assert frame.loc['hyperparameters'].shape == (3, N_TRIALS)
    assert frame.loc[:, (SWEEP_KEY, 2)].name == (SWEEP_KEY, 2)
    assert frame.loc[('path', 'trial.json')].tolist() == [
        os.path.join(workload_dir, f'run_{n}', 'trial.json') for n in range(1, N_TRIALS + 1)
    ]
    assert frame.attrs['warnings'] == [] and frame.attrs['notes'] == []


def test_log_dir_agrees_with_analysis_loader_and_workload_dir(log_dir):
    from algorithmic_efficiency.analysis import load_trials

    trials = load_trials(log_dir)
    frame = explorer.load_folder(os.path.join(log_dir, SWEEP_KEY))  # one workload dir
    assert frame.columns.tolist() == [(SWEEP_KEY, n) for n in trials['run_idx']]
    assert 'path' not in groups_of(frame)  # no query, no path rows
    for rec in trials.to_dict('records'):
        col = frame[(SWEEP_KEY, rec['run_idx'])]
        for m in ('best_loss', 'final_loss', 'accumulated_submission_time', 'wallclock_sec'):
            assert col[('metrics', m)] == rec[m]


def test_tidy_and_by_run_views(log_dir):
    frame = explorer.load_folder(log_dir, '*.csv')
    tidy = explorer.to_tidy(frame)
    assert tidy.columns.tolist() == ['sweep', 'run', 'group', 'parameter', 'value']
    assert len(tidy) == int(frame.notna().sum().sum())
    row = tidy[(tidy['run'] == 2) & (tidy['parameter'] == 'learning_rate')]
    assert row['value'].item() == frame.loc[('hyperparameters', 'learning_rate'), (SWEEP_KEY, 2)]
    assert row['group'].item() == 'hyperparameters' and row['sweep'].item() == SWEEP_KEY
    wide = explorer.by_run(frame)
    assert wide.index.names == ['sweep', 'run'] and len(wide) == N_TRIALS
    assert pd.api.types.is_float_dtype(wide[('metrics', 'best_loss')])
    assert pd.api.types.is_float_dtype(wide[('hyperparameters', 'learning_rate')])
    assert wide[('other', 'status')].tolist() == ['complete'] * N_TRIALS


def test_load_gives_eval_rows_with_frame_keys_and_a_time_axis(log_dir):
    loaded = explorer.load([log_dir])
    assert loaded.errors == [] and loaded.warnings == []
    evals = loaded.evals
    total = sum(len(rows) for rows, _ in file_trials(os.path.join(log_dir, SWEEP_KEY)).values())
    assert len(evals) == total
    assert set(zip(evals['sweep'], evals['run'], strict=True)) <= set(loaded.frame.columns)
    t = explorer.wallclock(evals)
    assert t.notna().all()
    for _, g in t.groupby(evals['run']):
        assert g.is_monotonic_increasing
    assert 'cpu.util.interval_mean_percent' in explorer.telemetry_columns(evals)


def test_fingerprint_changes_when_a_row_is_appended(log_dir, tmp_path):
    copy = tmp_path / 'logs'
    shutil.copytree(log_dir, copy)
    before = explorer.fingerprint([str(copy)])
    assert explorer.fingerprint([str(copy)]) == before
    metrics = copy / SWEEP_KEY / 'run_3' / 'metrics.csv'
    lines = metrics.read_text().splitlines(keepends=True)
    metrics.write_text(''.join(lines) + lines[-1])
    assert explorer.fingerprint([str(copy)]) != before


# ---------------------------------------------------------------------------
# Hydra multirun
# ---------------------------------------------------------------------------
def test_hydra_multirun_frame(hydra_root):
    frame = explorer.load_folder(hydra_root, ['*.npy', '*.log'])
    sweep_dir = sweep_dir_of(hydra_root)
    # Jobs numerically: "10" after "2" (a string sort would give 0, 1, 10, 11, 2, ...).
    assert frame.columns.tolist() == [(HYDRA_KEY, n) for n in range(N_JOBS)]
    assert groups_of(frame) == ['hyperparameters', 'metrics', 'dataset', 'other', 'path']
    assert frame.loc['hyperparameters'].index.tolist() == [
        'lr',
        'batch',
        'optimizer',
        'hyperparameters.dropout',
    ]
    assert frame.loc['dataset'].index.tolist() == ['name', 'size']
    no_results = []
    for job in range(N_JOBS):
        job_dir = os.path.join(sweep_dir, str(job))
        col = frame[(HYDRA_KEY, job)]
        overrides = read_overrides(job_dir)
        for k, v in overrides.items():
            assert col[('hyperparameters', k)] == v
            assert type(col[('hyperparameters', k)]) is type(v)
        assert col[('hyperparameters', 'hyperparameters.dropout')] == 0.5
        assert col[('dataset', 'name')] == 'toy' and col[('dataset', 'size')] == 100
        # Resolved where possible; ${hydra:...} and ${now:...} kept as written.
        assert col[('other', 'model.width')] == 2
        assert col[('other', 'out')] == '${hydra:runtime.output_dir}'
        assert col[('other', 'stamp')] == '${now:%Y-%m-%d}'
        assert col[('other', 'source')] == 'hydra'
        assert col[('other', 'workload')] == 'app'
        assert col[('other', 'hydra.job.num')] == job
        assert col[('other', 'hydra.sweep.overrides')] == (
            'lr=0.1,0.01 batch=8,16,32 optimizer=adam,sgd'
        )
        assert col[('path', '*.log')] == os.path.join(job_dir, 'app.log')
        if overrides == NO_RESULTS:
            no_results.append(job)
            assert pd.isna(col[('metrics', 'loss')]) and pd.isna(col[('path', '*.npy')])
            continue
        with open(os.path.join(job_dir, 'result.json')) as f:
            result = json.load(f)
        arr = np.load(os.path.join(job_dir, 'metric.npy'))
        assert col[('metrics', 'loss')] == result['loss']
        assert col[('metrics', 'accuracy')] == result['accuracy']
        assert col[('metrics', 'metric')] == arr[-1]
        assert col[('metrics', 'metric.min')] == arr.min()
        assert col[('metrics', 'metric.max')] == arr.max()
        assert col[('path', '*.npy')] == os.path.join(job_dir, 'metric.npy')
    assert len(no_results) == 1  # the job without results is still listed
    assert frame.attrs['warnings'] == []


def test_hydra_sweep_and_job_folders_directly(hydra_root):
    sweep_dir = sweep_dir_of(hydra_root)
    whole = explorer.load_folder(hydra_root)
    for path in (os.path.join(hydra_root, 'multirun'), sweep_dir):
        frame = explorer.load_folder(path)
        assert frame.columns.tolist() == whole.columns.tolist()
    one = explorer.load_folder(os.path.join(sweep_dir, '10'))
    assert one.columns.tolist() == [(HYDRA_KEY, 10)]
    assert one[(HYDRA_KEY, 10)].equals(whole[(HYDRA_KEY, 10)])
    # The peer tool's spelling.
    peer = explorer.FileLoader(query_string='*.npy').load_folder(hydra_root)
    assert peer.loc[('path', '*.npy')].notna().sum() == N_JOBS - 1


def test_hydra_single_run(tmp_path):
    app_dir = tmp_path / 'app'
    (app_dir / 'conf').mkdir(parents=True)
    (app_dir / 'conf' / 'config.yaml').write_text(HYDRA_CONFIG)
    (app_dir / 'app.py').write_text(HYDRA_APP)
    run_dir = tmp_path / 'outputs' / '2024-02-03' / '04-05-06'
    proc = subprocess.run(
        [sys.executable, 'app.py', 'lr=0.5', 'optimizer=sgd', f'hydra.run.dir={run_dir}'],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=app_dir,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    frame = explorer.load_folder(str(tmp_path / 'outputs'), 'result.json')
    # hydra.job.num is '???' outside a multirun: the run is 0.
    assert frame.columns.tolist() == [('2024-02-03 04-05-06', 0)]
    col = frame[('2024-02-03 04-05-06', 0)]
    assert col[('hyperparameters', 'lr')] == 0.5 and col[('hyperparameters', 'optimizer')] == 'sgd'
    assert col[('metrics', 'loss')] == 0.5 * 8
    assert col[('path', 'result.json')] == str(run_dir / 'result.json')
    assert ('other', 'hydra.sweep.overrides') not in frame.index
    assert frame.attrs['warnings'] == []


def test_mixed_layouts_load_together_with_a_note(log_dir, hydra_root, tmp_path):
    root = tmp_path / 'everything'
    root.mkdir()
    shutil.copytree(log_dir, root / 'logs')
    shutil.copytree(os.path.join(hydra_root, 'multirun'), root / 'multirun')
    frame = explorer.load_folder(str(root))
    sweeps = list(dict.fromkeys(frame.columns.get_level_values('sweep')))
    assert sweeps == [f'logs/{SWEEP_KEY}', HYDRA_KEY]
    assert frame.shape[1] == N_TRIALS + N_JOBS
    assert len(frame.attrs['notes']) == 1 and 'mixed layouts' in frame.attrs['notes'][0]
    # Each kind keeps its own rows; the other's cells are NaN.
    assert pd.isna(frame.loc[('hyperparameters', 'lr'), (f'logs/{SWEEP_KEY}', 1)])
    assert pd.isna(frame.loc[('hyperparameters', 'learning_rate'), (HYDRA_KEY, 0)])
    # Two folders with the same sweep names: the second gets its path as key.
    loaded = explorer.load([log_dir, str(root / 'logs')])
    keys = list(dict.fromkeys(loaded.frame.columns.get_level_values('sweep')))
    assert keys == [SWEEP_KEY, os.path.join(str(root / 'logs'), SWEEP_KEY)]
    assert loaded.evals.groupby('sweep').size().tolist() == [
        len(loaded.evals) // 2,
        len(loaded.evals) // 2,
    ]


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def test_folders_without_runs_are_errors_naming_the_path(log_dir, tmp_path):
    cases = {
        str(tmp_path / 'missing'): 'does not exist',
        str(tmp_path): 'no runs found',
        os.path.join(log_dir, SWEEP_KEY, 'run_1'): "single trial's directory",
    }
    (tmp_path / 'a_file.txt').write_text('x')
    cases[str(tmp_path / 'a_file.txt')] = 'is a file'
    for path, words in cases.items():
        with pytest.raises(explorer.ExplorerError, match=words) as e:
            explorer.load_folder(path)
        assert path in str(e.value)
        assert len(str(e.value).splitlines()) == 1
    loaded = explorer.load([str(tmp_path / 'missing'), log_dir])  # one bad, one good
    assert len(loaded.errors) == 1 and loaded.frame.shape[1] == N_TRIALS
    with pytest.raises(explorer.ExplorerError, match='glob'):
        explorer.load_folder(log_dir, ['*.csv', 3])


def test_damaged_log_dir_files_are_warnings(log_dir, tmp_path):
    copy = tmp_path / 'logs'
    shutil.copytree(log_dir, copy)
    metrics = copy / SWEEP_KEY / 'run_3' / 'metrics.csv'
    with open(metrics, 'a') as f:
        f.write('pytorch,3,1.0')  # a row cut short by a kill
    (copy / SWEEP_KEY / 'run_2' / 'trial.json').write_text('{"status": ')
    loaded = explorer.load([str(copy)])
    assert loaded.errors == [] and loaded.frame.shape[1] == N_TRIALS
    text = '\n'.join(loaded.warnings)
    assert f'{metrics}: dropping a partial last line' in text
    assert f'{copy / SWEEP_KEY / "run_2" / "trial.json"}: unreadable' in text
    rows, _ = file_trials(os.path.join(log_dir, SWEEP_KEY))[3]
    assert loaded.frame.loc[('metrics', 'num_evals'), (SWEEP_KEY, 3)] == len(rows)


def test_damaged_hydra_files_are_warnings_and_jobs_stay_listed(hydra_root, tmp_path):
    copy = tmp_path / 'multirun'
    shutil.copytree(os.path.join(hydra_root, 'multirun'), copy)
    sweep = copy / '2024-01-02' / '03-04-05'
    (sweep / '3' / '.hydra' / 'config.yaml').write_text('lr: [unclosed\n  : bad')
    (sweep / '4' / '.hydra' / 'overrides.yaml').write_text('- lr=0.1\n  bad: [\n')
    (sweep / 'multirun.yaml').write_text('hydra: {overrides: [\n')
    (sweep / '12').mkdir()  # a job folder whose .hydra/ was never written
    (sweep / '5' / 'result.json').write_text('{"loss": 0.')  # half-written result
    frame = explorer.load_folder(str(copy))
    assert frame.columns.tolist() == [(HYDRA_KEY, n) for n in range(N_JOBS + 1)]
    warnings = '\n'.join(frame.attrs['warnings'])
    assert 'config.yaml: unreadable YAML' in warnings
    assert 'overrides.yaml: unreadable YAML' in warnings
    assert 'multirun.yaml: unreadable YAML' in warnings
    assert f'{sweep / "12"}: a job folder of a Hydra multirun without .hydra/' in warnings
    assert f'{sweep / "5" / "result.json"}: unreadable' in warnings
    # Job 3 without its config: the hyperparameters come from overrides.yaml.
    expected = read_overrides(str(sweep / '3'))
    for k, v in expected.items():
        assert frame.loc[('hyperparameters', k), (HYDRA_KEY, 3)] == v
    assert pd.isna(frame.loc[('dataset', 'name'), (HYDRA_KEY, 3)])
    # Job 4 without overrides: its config still read; the sweep-level info is gone.
    assert pd.isna(frame.loc[('hyperparameters', 'lr'), (HYDRA_KEY, 4)])
    import yaml

    config4 = yaml.safe_load((sweep / '4' / '.hydra' / 'config.yaml').read_text())
    assert frame.loc[('other', 'lr'), (HYDRA_KEY, 4)] == config4['lr']
    assert ('other', 'hydra.sweep.overrides') not in frame.index
    assert frame[(HYDRA_KEY, 12)].dropna().index.tolist() == [
        ('other', 'source'),
        ('other', 'run_dir'),
    ]


def test_hydra_is_imported_only_for_hydra_folders_and_no_framework_ever(log_dir, hydra_root):
    code = textwrap.dedent(
        f"""
        import sys
        from algorithmic_efficiency.analysis import explorer
        frameworks = ('jax', 'torch', 'flax', 'optax', 'tensorflow')
        explorer.load([{log_dir!r}], '*.npy')
        print([m for m in frameworks + ('hydra', 'omegaconf', 'yaml') if m in sys.modules])
        explorer.load([{log_dir!r}, {hydra_root!r}], '*.npy')
        print([m for m in frameworks if m in sys.modules])
        print('hydra.core.override_parser.overrides_parser' in sys.modules)
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines() == ['[]', '[]', 'True']


def test_hydra_overrides_mean_what_they_meant_to_hydra(tmp_path):
    """Values of overrides whose key the job's config.yaml lacks come from hydra-core's
    parser: the same typed values Hydra put in the config of a real run."""
    app_dir = tmp_path / 'app'
    (app_dir / 'conf').mkdir(parents=True)
    (app_dir / 'conf' / 'config.yaml').write_text(HYDRA_CONFIG)
    (app_dir / 'app.py').write_text(HYDRA_APP)
    run_dir = tmp_path / 'outputs' / '2024-02-03' / '04-05-06'
    added = ['+extra=1e-3', '+flag=yes', '+hex=0x10', "+q='a b'", '+none=null', '+n=1_000']
    proc = subprocess.run(
        [sys.executable, 'app.py', 'lr=0.5', *added, f'hydra.run.dir={run_dir}'],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=app_dir,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import yaml

    config_path = run_dir / '.hydra' / 'config.yaml'
    config = yaml.safe_load(config_path.read_text())
    names = [a.split('=', 1)[0].lstrip('+') for a in added]
    hydra_values = {n: config.pop(n) for n in names}
    assert hydra_values == {
        'extra': 0.001, 'flag': 'yes', 'hex': '0x10', 'q': 'a b', 'none': None, 'n': 1000
    }  # fmt: skip
    # A config.yaml without them (an older or edited file): only overrides.yaml has them.
    config_path.write_text(yaml.safe_dump(config))
    overrides_path = run_dir / '.hydra' / 'overrides.yaml'
    overrides = yaml.safe_load(overrides_path.read_text())
    overrides += ['~gone', '+lst=[1, 2]', 'bad key=1']
    overrides_path.write_text(yaml.safe_dump(overrides))
    frame = explorer.load_folder(str(tmp_path / 'outputs'))
    col = frame[('2024-02-03 04-05-06', 0)]
    for name, value in hydra_values.items():
        assert col[('hyperparameters', name)] == value, name
        assert type(col[('hyperparameters', name)]) is type(value), name
    assert col[('hyperparameters', 'lr')] == 0.5  # in the config: its typed value
    assert col[('hyperparameters', 'gone')] is None  # a deletion
    assert col[('hyperparameters', 'lst')] == '[1, 2]'  # not a scalar: the text as written
    assert ('hyperparameters', 'bad key') not in frame.index
    (warning,) = frame.attrs['warnings']
    assert warning.startswith(f"{run_dir / '.hydra'}/overrides.yaml: override 'bad key=1' ")
    assert warning.endswith('; ignored')
