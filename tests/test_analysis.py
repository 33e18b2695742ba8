"""Analysis end to end: a real sweep in both frameworks (one trial made to fail), and
hand-made log directories for what a short real run cannot produce (a target reached, a
diverged trial, a run killed mid-row, a trial with no evals, several workloads).

The summary files are checked against the metrics.csv and trial.json they were computed
from, read independently here with csv_io.read_metrics_csv.
"""

import csv
import json
import math
import os
import struct
import subprocess
import sys

import pyrun
import pytest
from pyrun import run_python

from algorithmic_efficiency import plot as plot_cli
from algorithmic_efficiency import status as status_cli
from algorithmic_efficiency import summary as summary_cli
from algorithmic_efficiency.analysis import load_runs, load_trials, loader, summary
from algorithmic_efficiency.storage import csv_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'algorithmic_efficiency', 'submission_runner.py')
SPACE = os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json')
FAILING_SUBMISSION = f"""
import runpy
_base = runpy.run_path({os.path.join(ROOT, 'baselines/mnist/mnist_pytorch/submission.py')!r})
get_batch_size = _base['get_batch_size']
data_selection = _base['data_selection']
init_optimizer_state = _base['init_optimizer_state']


def update_params(workload, params, types, state, hp, batch, loss_type, opt, evals, step, rng):
    if hp['learning_rate'] > 0.01 and step == 3:
        raise RuntimeError('injected failure')
    return _base['update_params'](workload, params, types, state, hp, batch, loss_type, opt,
                                  evals, step, rng)
"""
FIXED_TRIALS = [
    {'learning_rate': 0.002, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8},
    {'learning_rate': 0.02, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8},  # fails at step 3
    {'learning_rate': 0.005, 'one_minus_beta_1': 0.05, 'epsilon': 1e-6},
]
PLOTS = ['loss_vs_step.png', 'accuracy_vs_time.png', 'best_loss_vs_evals.png', 'hardware.png']
FRAMEWORK_MODULES = ('jax', 'jaxlib', 'flax', 'optax', 'torch', 'tensorflow')


def run_module(module, *args, timeout=120):
    return pyrun.run_module(f'algorithmic_efficiency.{module}', *args, timeout=timeout)


@pytest.fixture(scope='module')
def log_dir(tmp_path_factory):
    """A real sweep: JAX 3 Halton trials; PyTorch 3 fixed trials, the second one failing."""
    tmp = tmp_path_factory.mktemp('analysis')
    logs = str(tmp / 'logs')
    sub = tmp / 'failing_submission.py'
    sub.write_text(FAILING_SUBMISSION)
    space = tmp / 'fixed_trials.json'
    space.write_text(json.dumps(FIXED_TRIALS))
    common = ['--num_tuning_trials=3', '--rng_seed=0', f'--log_dir={logs}']
    runs = [
        (
            [
                '--framework=jax',
                '--workload=mnist_jax',
                '--max_global_steps=20',
                f'--submission_path={ROOT}/baselines/mnist/mnist_jax/submission.py',
                f'--tuning_search_space={SPACE}',
            ],
            0,
        ),
        (
            [
                '--framework=pytorch',
                '--workload=mnist_pytorch',
                '--max_global_steps=8',
                f'--submission_path={sub}',
                f'--tuning_search_space={space}',
            ],
            1,
        ),  # 1: a trial failed
    ]
    for args, rc in runs:
        proc = subprocess.run(
            [sys.executable, RUNNER, *args, *common],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert proc.returncode == rc, proc.stderr[-3000:]
    return logs


# ---------------------------------------------------------------------------
# Expected values, computed here from the files the runner wrote.
# ---------------------------------------------------------------------------
def file_trials(workload_dir):
    """run_idx -> (metrics DataFrame, trial.json dict), read independently of the loader."""
    out = {}
    for name in os.listdir(workload_dir):
        if name.startswith('run_'):
            run = os.path.join(workload_dir, name)
            df = csv_io.read_metrics_csv(os.path.join(run, 'metrics.csv'))
            with open(os.path.join(run, 'trial.json')) as f:
                out[int(name[4:])] = (df, json.load(f))
    return out


def read_csv_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def expected_config(df, info):
    losses = [v for v in df['loss'] if math.isfinite(v)]
    hit = df[df['goal_reached']]
    return {
        'run_idx': str(info['run_idx']),
        'status': info['status'],
        'best_loss': repr(min(losses)),
        'final_loss': repr(float(df['loss'].iloc[-1])),
        'best_accuracy': repr(float(df['accuracy'].max())),
        'final_accuracy': repr(float(df['accuracy'].iloc[-1])),
        'global_step': str(info['global_step']),
        'num_evals': str(len(df)),
        'accumulated_submission_time': repr(info['accumulated_submission_time']),
        'time_to_target': repr(float(hit['accumulated_submission_time'].iloc[0]))
        if len(hit)
        else '',
        'stop_reason': info['stop_reason'],
        'seed': str(info['seed']),
        'error': info['error'] or '',
        **{f'hparam.{k}': repr(v) for k, v in info['hyperparameters'].items()},
    }


def assert_png(path, min_px=200):
    """A valid, non-empty, non-blank PNG."""
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n', path
    width, height = struct.unpack('>II', head[16:24])
    assert width >= min_px and height >= min_px, (path, width, height)
    from matplotlib import image

    pixels = image.imread(path)
    assert pixels.std() > 0.01, f'{path} is blank'
    # Something besides the background: a noticeable share of non-white pixels.
    assert (pixels[..., :3].mean(axis=-1) < 0.9).mean() > 0.01, path


# ---------------------------------------------------------------------------
# The real sweep.
# ---------------------------------------------------------------------------
def test_load_runs_is_every_row_of_every_trial(log_dir):
    runs = load_runs(log_dir)
    for fw in ('jax', 'pytorch'):
        wdir = os.path.join(log_dir, f'mnist_{fw}')
        mine = runs[runs['sweep'] == f'mnist_{fw}']
        for run_idx, (df, info) in file_trials(wdir).items():
            rows = mine[mine['run_idx'] == run_idx]
            assert len(rows) == len(df)
            assert rows['loss'].tolist() == df['loss'].tolist()  # exact, not approx
            assert rows['global_step'].tolist() == df['global_step'].tolist()
            assert rows['eval_idx'].tolist() == list(range(1, len(df) + 1))
            assert (rows['trial.status'] == info['status']).all()
            assert (rows['workload'] == f'mnist_{fw}').all() and (rows['framework'] == fw).all()
            assert (rows['meta.rng_seed'] == 0).all()
            assert rows['goal_reached'].dtype == bool
    failed = runs[(runs['sweep'] == 'mnist_pytorch') & (runs['run_idx'] == 2)]
    assert failed['trial.error'].tolist() == ['RuntimeError: injected failure'] * len(failed)
    assert not runs.columns.duplicated().any()


def test_load_trials_one_row_per_trial(log_dir):
    trials = load_trials(log_dir)
    assert trials[['sweep', 'run_idx']].values.tolist() == [
        ['mnist_jax', 1],
        ['mnist_jax', 2],
        ['mnist_jax', 3],
        ['mnist_pytorch', 1],
        ['mnist_pytorch', 2],
        ['mnist_pytorch', 3],
    ]
    pt = trials[trials['sweep'] == 'mnist_pytorch'].set_index('run_idx')
    assert pt['status'].tolist() == ['complete', 'failed', 'complete']
    assert pt.loc[2, 'global_step'] == 3 and pt.loc[2, 'num_evals'] == 1
    assert pt['hparam.learning_rate'].tolist() == [t['learning_rate'] for t in FIXED_TRIALS]
    assert trials['energy_joules'].isna().all()  # no GPU here
    # Unknown (NaN) only where every row's interval was too short to measure a
    # CPU tick (a trial that failed right after its first step, on a busy machine).
    cpu = trials['cpu_util_mean_percent']
    assert cpu.dropna().between(0, 100).all()
    assert cpu[trials['status'] == 'complete'].notna().all()


def test_summary_files_match_the_metrics(log_dir):
    proc = run_module('summary', log_dir)
    assert proc.returncode == 0, proc.stderr
    for fw in ('jax', 'pytorch'):
        wdir = os.path.join(log_dir, f'mnist_{fw}')
        sdir = os.path.join(wdir, 'summary')
        for name in (
            'config_data.csv',
            'run_status.csv',
            'best_loss_trajectory.txt',
            'best_loss_with_config_trajectory.txt',
        ):
            assert os.path.join(sdir, name) in proc.stdout
        trials = file_trials(wdir)
        n_failed = 1 if fw == 'pytorch' else 0
        expected = {i: expected_config(df, info) for i, (df, info) in trials.items()}

        rows = read_csv_rows(os.path.join(sdir, 'config_data.csv'))
        assert len(rows) == 3
        for row in rows:
            want = expected[int(row['run_idx'])]
            assert {k: row[k] for k in want} == want
            assert row['workload'] == f'mnist_{fw}' and row['framework'] == fw
            assert row['energy_joules'] == ''  # no GPU: unknown, not 0
        # Ascending best loss; diverged then failed trials after every other one.
        ok = [r for r in rows if r['status'] not in ('failed', 'diverged')]
        assert [float(r['best_loss']) for r in ok] == sorted(float(r['best_loss']) for r in ok)
        assert [r['status'] for r in rows[len(ok) :]] == ['failed'] * n_failed

        status = {
            r['description']: r['value']
            for r in read_csv_rows(os.path.join(sdir, 'run_status.csv'))
        }
        ok_trials = {
            i: t for i, t in trials.items() if t[1]['status'] not in ('failed', 'diverged')
        }
        best_idx = min(ok_trials, key=lambda i: (ok_trials[i][0]['loss'].min(), i))
        assert status['trials_planned'] == '3' and status['trials_sampled'] == '3'
        assert status['trials_complete'] == str(3 - n_failed)
        assert status['trials_failed'] == str(n_failed)
        assert status['trials_diverged'] == '0'
        assert status['best_loss'] == repr(float(ok_trials[best_idx][0]['loss'].min()))
        assert status['best_loss_run_idx'] == str(best_idx)
        assert status['score_time_to_target_sec'] == 'inf'  # 0.90 is out of reach in 20 steps
        assert status['score_run_idx'] == ''
        assert status['num_evals'] == str(sum(len(df) for df, _ in trials.values()))
        total = sum(info['accumulated_submission_time'] for _, info in trials.values())
        assert float(status['total_submission_time_sec']) == pytest.approx(total, rel=1e-12)
        assert status['target_metric'] == 'accuracy' and status['target_value'] == '0.9'

        # Trajectory: each improvement of the best loss, in trial order.
        improvements, best = [], math.inf
        for i in sorted(ok_trials):
            loss = float(ok_trials[i][0]['loss'].min())
            if loss < best:
                best = loss
                improvements.append((i, loss))
        with open(os.path.join(sdir, 'best_loss_trajectory.txt')) as f:
            lines = [ln for ln in f.read().splitlines() if not ln.startswith('#')]
        assert lines == [f'trial {i}: best loss {loss!r}' for i, loss in improvements]
        with open(os.path.join(sdir, 'best_loss_with_config_trajectory.txt')) as f:
            text = f.read()
        for i, loss in improvements:
            block = text.split(f'trial {i}: best loss {loss!r}\n')[1].split('\ntrial ')[0]
            for k, v in trials[i][1]['hyperparameters'].items():
                assert f'  {k}: {v!r}\n' in block
    # Two workloads: the run_status tables side by side.
    table = read_csv_rows(os.path.join(log_dir, 'summary', 'comparison.csv'))
    assert list(table[0]) == ['description', 'mnist_jax', 'mnist_pytorch']
    by = {r['description']: r for r in table}
    assert by['trials_failed']['mnist_jax'] == '0' and by['trials_failed']['mnist_pytorch'] == '1'


def test_status_table(log_dir):
    proc = run_module('status', log_dir)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for fw in ('jax', 'pytorch'):
        block = out.split(f'== mnist_{fw} ({fw})')[1].split('\n== ')[0]
        trials = file_trials(os.path.join(log_dir, f'mnist_{fw}'))
        for run_idx, (df, info) in trials.items():
            table = block.split('  note\n')[1].splitlines()
            line = next(ln for ln in table if ln.split()[:1] == [str(run_idx)])
            cells = line.split()
            assert cells[1] == info['status']
            assert cells[2] == str(info['global_step'])
            assert cells[3] == str(len(df))
            assert cells[4] == f"{df['loss'].min():.4f}"
            assert cells[5] == f"{df['accuracy'].iloc[-1]:.4f}"
            assert cells[7] == '-'  # never reached the target
        assert 'score: inf (target accuracy 0.9 not reached)' in block
        assert '3 of 3 trials' in block
    pt = out.split('== mnist_pytorch')[1]
    assert 'best: trial ' in pt and 'learning_rate=' in pt
    assert 'failures:\n  trial 2: RuntimeError: injected failure' in pt
    assert '== side by side' in out


def test_status_watch_refreshes(log_dir, tmp_path, capsys):
    assert status_cli.main([log_dir, '--watch', '0.05', '--count', '2']) == 0
    out = capsys.readouterr().out
    assert out.count('== mnist_jax (jax)') == 2 and 'Ctrl-C to stop' in out
    # Started before the sweep has written anything: it waits instead of exiting.
    assert status_cli.main([str(tmp_path / 'not_yet'), '--watch', '0.05', '--count', '1']) == 0
    assert 'waiting: ' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # argparse: usage line, exit 2
        status_cli.main([log_dir, '--count', '1'])  # --count needs --watch
    assert exc.value.code == 2 and '--count needs --watch' in capsys.readouterr().err


def test_plots_are_valid_pngs(log_dir, tmp_path):
    proc = run_module('plot', log_dir)
    assert proc.returncode == 0, proc.stderr
    paths = proc.stdout.split()
    assert [os.path.basename(p) for p in paths] == PLOTS
    for path in paths:
        assert os.path.dirname(path) == os.path.join(log_dir, 'plots')
        assert_png(path)
    # Options: log axes and another output directory (in process: faster).
    out = tmp_path / 'figs'
    assert plot_cli.main([log_dir, '--logx', '--logy', '--out', str(out), '--dpi', '60']) == 0
    assert sorted(os.listdir(out)) == sorted(PLOTS)
    for name in PLOTS:
        assert_png(out / name, min_px=150)


def test_analysis_never_imports_a_framework(log_dir, tmp_path):
    code = f"""
import sys
import algorithmic_efficiency.status, algorithmic_efficiency.summary, algorithmic_efficiency.plot
light = [m for m in ('pandas', 'matplotlib') if m in sys.modules]
assert not light, f'entry modules import {{light}} before parsing arguments'
import algorithmic_efficiency.analysis
assert 'pandas' not in sys.modules and 'matplotlib' not in sys.modules
from algorithmic_efficiency.analysis import load_runs, load_trials
load_runs({log_dir!r}); load_trials({log_dir!r})
assert algorithmic_efficiency.status.main([{log_dir!r}]) == 0
assert algorithmic_efficiency.summary.main([{log_dir!r}, '-q']) == 0
out = {str(tmp_path)!r}
assert algorithmic_efficiency.plot.main([{log_dir!r}, '--out', out, '--dpi', '40']) == 0
bad = [m for m in {FRAMEWORK_MODULES!r} if m in sys.modules]
assert not bad, bad
"""
    proc = run_python(code, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


# ---------------------------------------------------------------------------
# Hand-made log directories: what a short real sweep cannot show.
# ---------------------------------------------------------------------------
def make_row(run_idx, step, t, loss, acc, goal=False, status='running', start=1.7e9, **extra):  # noqa: PLR0913  a metrics.csv row by its columns
    return {
        'framework': 'jax',
        'run_idx': run_idx,
        'accumulated_submission_time': t,
        'global_step': step,
        'epoch': step / 4,
        'accuracy': acc,
        'loss': loss,
        'batch_size': 1024,
        'hparam.learning_rate': 0.001 * run_idx,
        'workload.target_value': 0.97,
        'workload.target_metric_name': 'accuracy',
        'steps_per_epoch': 4,
        'global_start_time': start + 100 * run_idx,
        'goal_reached': goal,
        'eval_time_sec': 0.5,
        'status': status,
        'cpu.util.avg_percent_since_last': 50.0,
        'cpu.util.interval_mean_percent': 55.0,
        'mem.used': 2e9,
        'proc.rss_bytes': 5e8,
        **extra,
    }


def make_trial(wdir, run_idx, rows, info=None):
    run = os.path.join(wdir, f'run_{run_idx}')
    os.makedirs(run, exist_ok=True)
    if rows is not None:
        with csv_io.MetricsCsvWriter(os.path.join(run, 'metrics.csv')) as w:  # the real writer
            for r in rows:
                w.write_row(r)
    if info is not None:
        info = {
            'run_idx': run_idx,
            'hyperparameters': {'learning_rate': 0.001 * run_idx},
            'seed': run_idx,
            'started': 1.7e9 + 100 * run_idx,
            **info,
        }
        with open(os.path.join(run, 'trial.json'), 'w') as f:
            json.dump(info, f)
    return run


def finished(status, rows, stop_reason, ttt=None, error=None):
    return {
        'status': status,
        'stop_reason': stop_reason,
        'global_step': rows[-1]['global_step'],
        'accumulated_submission_time': rows[-1]['accumulated_submission_time'],
        'time_to_target': ttt,
        'num_evals': len(rows),
        'error': error,
        'finished': 1.8e9,
    }


@pytest.fixture()
def crafted(tmp_path):
    """wl_a: target reached twice, a diverged trial, one without evals, one killed, one live."""
    wdir = str(tmp_path / 'logs' / 'wl_a')
    os.makedirs(wdir)
    with open(os.path.join(wdir, 'metadata.json'), 'w') as f:
        json.dump(
            {
                'workload': 'wl_a',
                'framework': 'jax',
                'num_tuning_trials': 7,
                'workload.target_value': 0.97,
                'rng_seed': 5,
            },
            f,
        )
    gpu = {'gpu.count': 1, 'gpu.0.compute.util': 0.5, 'gpu.0.power.current_watts': 150.0}
    t1 = [
        make_row(1, 10, 1.0, 0.9, 0.5, **gpu, **{'gpu.total.energy.trial_joules': 100.0}),
        make_row(
            1, 20, 2.0, 0.2, 0.975, goal=True, **gpu, **{'gpu.total.energy.trial_joules': 250.0}
        ),
        make_row(
            1,
            30,
            3.0,
            0.1,
            0.98,
            goal=True,
            status='complete',
            **gpu,
            **{'gpu.total.energy.trial_joules': 400.0},
        ),
    ]
    make_trial(wdir, 1, t1, finished('complete', t1, 'target', ttt=2.0))
    t2 = [
        make_row(2, 10, 0.5, 0.3, 0.6),
        make_row(2, 20, 1.5, 0.15, 0.971, goal=True, status='complete'),
    ]
    make_trial(wdir, 2, t2, finished('complete', t2, 'target', ttt=1.5))
    t3 = [
        make_row(3, 10, 1.0, 0.05, 0.7),
        make_row(3, 20, 2.0, math.inf, 0.1),
        make_row(3, 30, 3.0, math.nan, 0.1, status='diverged'),
    ]
    make_trial(wdir, 3, t3, finished('diverged', t3, 'diverged'))
    make_trial(
        wdir,
        4,
        None,
        {
            'status': 'failed',
            'stop_reason': 'error',
            'global_step': 0,
            'error': 'ValueError: bad init',
            'finished': 1.8e9,
        },
    )
    with open(os.path.join(wdir, 'run_4', 'error.txt'), 'w') as f:
        f.write('Traceback (most recent call last):\n  ...\nValueError: bad init\n')
    # Killed mid-row: trial.json still 'running', metrics.csv ends in half a line.
    run5 = make_trial(wdir, 5, [make_row(5, 10, 1.0, 0.4, 0.8)], {'status': 'running'})
    with open(os.path.join(run5, 'metrics.csv'), 'a') as f:
        f.write('jax,5,2.0,20,5.0,0.8')
    # The trial started last: live, two evals so far.
    make_trial(
        wdir,
        6,
        [make_row(6, 10, 1.0, 0.5, 0.7), make_row(6, 40, 2.0, 0.35, 0.8)],
        {'status': 'running'},
    )
    # Files the analysis must not read.
    with open(os.path.join(wdir, 'run_6', 'attempt-1.metrics.csv'), 'w') as f:
        f.write('loss,run_idx\n0.0001,6\n')
    with open(os.path.join(tmp_path / 'logs', 'all_metrics.csv'), 'w') as f:
        f.write('loss,run_idx\n0.0001,1\n')
    return str(tmp_path / 'logs')


def test_crafted_trials(crafted):
    trials = load_trials(crafted).set_index('run_idx')
    assert trials['status'].to_dict() == {
        1: 'complete',
        2: 'complete',
        3: 'diverged',
        4: 'failed',
        5: 'stale',
        6: 'running',
    }
    # Time to target: the first row with goal_reached, not a later one.
    assert trials.loc[1, 'time_to_target'] == 2.0 and trials.loc[2, 'time_to_target'] == 1.5
    assert math.isnan(trials.loc[3, 'time_to_target'])
    # Diverged: inf/NaN never count as a best loss; the last (NaN) is the final one.
    assert trials.loc[3, 'best_loss'] == 0.05 and math.isnan(trials.loc[3, 'final_loss'])
    assert trials.loc[4, 'num_evals'] == 0 and math.isnan(trials.loc[4, 'best_loss'])
    assert trials.loc[5, 'num_evals'] == 1  # the partial line is dropped
    assert trials.loc[6, 'global_step'] == 40  # the current step of a live trial
    assert trials.loc[1, 'energy_joules'] == 400.0
    assert trials.loc[2, 'best_loss'] == 0.15  # attempt-1.metrics.csv ignored
    runs = load_runs(crafted)
    assert len(runs) == 3 + 2 + 3 + 0 + 1 + 2  # all_metrics.csv and attempt-* ignored
    assert runs['loss'].min() == 0.05
    # The incumbent: carried over the diverged trial's evals, never taken from them.
    from algorithmic_efficiency.analysis import plot

    inc = plot.incumbent(runs)
    assert inc['best_loss'].tolist() == [0.9, 0.2] + [0.1] * 9


def test_crafted_summary(crafted):
    paths = summary.write_summaries(os.path.join(crafted, 'wl_a'))
    assert len(paths) == 4
    sdir = os.path.join(crafted, 'wl_a', 'summary')
    st = {r['description']: r['value'] for r in read_csv_rows(os.path.join(sdir, 'run_status.csv'))}
    assert st['score_time_to_target_sec'] == '1.5' and st['score_run_idx'] == '2'
    assert st['trials_reached_target'] == '2'
    assert (st['trials_planned'], st['trials_sampled']) == ('7', '6')
    assert (st['trials_complete'], st['trials_diverged'], st['trials_failed']) == ('2', '1', '1')
    assert (st['trials_running'], st['trials_interrupted'], st['trials_stale']) == ('1', '0', '1')
    # Neither the diverged trial (0.05 before it blew up) nor a failed one is the best.
    assert (st['best_loss'], st['best_loss_run_idx']) == ('0.1', '1')
    assert (st['best_accuracy'], st['best_accuracy_run_idx']) == ('0.98', '1')
    assert st['total_energy_joules'] == '400.0'
    rows = read_csv_rows(os.path.join(sdir, 'config_data.csv'))
    assert [r['run_idx'] for r in rows] == ['1', '2', '6', '5', '3', '4']
    assert [r['time_to_target'] for r in rows] == ['2.0', '1.5', '', '', '', '']
    assert rows[-1]['error'] == 'ValueError: bad init' and rows[-1]['num_evals'] == '0'
    with open(os.path.join(sdir, 'best_loss_trajectory.txt')) as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith('#')]
    assert lines == ['trial 1: best loss 0.1']


def test_crafted_status_and_plots(crafted, tmp_path):
    proc = run_module('status', crafted)  # as users run it: the warning's wording, no traceback
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith('status: warning: ') and 'partial last line' in proc.stderr
    assert 'Traceback' not in proc.stderr
    out = proc.stdout
    assert '6 of 7 trials: 2 complete, 1 diverged, 1 failed, 1 running, 1 stale' in out
    assert 'score: 1.50 s (trial 2)' in out
    assert 'best: trial 1 (best loss 0.1000, best accuracy 0.9800): learning_rate=0.001' in out
    table = out.split('  note\n')[1].split('best:')[0].splitlines()
    lines = {ln.split()[0]: ln for ln in table}
    assert lines['6'].split()[1:4] == ['running', '40', '2'] and lines['6'].endswith('running')
    assert lines['5'].split()[1] == 'stale' and '--resume re-runs it' in lines['5']
    assert lines['4'].split()[1:5] == ['failed', '0', '0', '-']
    assert lines['2'].split()[7] == '1.5'
    assert '  trial 4: ValueError: bad init' in out
    assert plot_cli.main([crafted, '--out', str(tmp_path / 'p'), '--dpi', '60']) == 0
    for name in PLOTS:
        assert_png(tmp_path / 'p' / name, min_px=150)


def test_several_workloads_side_by_side(crafted, capsys):
    other = os.path.join(crafted, 'wl_b')
    rows = [make_row(1, 10, 1.0, 0.6, 0.5), make_row(1, 20, 2.0, 0.4, 0.6, status='complete')]
    make_trial(other, 1, rows, finished('complete', rows, 'budget'))  # no metadata.json
    assert summary_cli.main([crafted]) == 0
    table = read_csv_rows(os.path.join(crafted, 'summary', 'comparison.csv'))
    by = {r['description']: r for r in table}
    assert by['workload']['wl_a'] == 'wl_a' and by['workload']['wl_b'] == 'wl_b'
    assert by['best_loss']['wl_b'] == '0.4' and by['score_time_to_target_sec']['wl_b'] == 'inf'
    assert os.path.isfile(os.path.join(other, 'summary', 'config_data.csv'))
    capsys.readouterr()
    assert status_cli.main([crafted]) == 0
    out = capsys.readouterr().out
    assert '== wl_a (jax)' in out and '== wl_b (jax)' in out and '== side by side' in out


@pytest.mark.parametrize('module', ['summary', 'status', 'plot'])
def test_bad_directories_give_one_line(module, tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'notlogs' / 'sub').mkdir(parents=True)
    (tmp_path / 'notlogs' / 'readme.txt').write_text('hello')
    (tmp_path / 'afile').write_text('x')
    trial = tmp_path / 'logs' / 'wl' / 'run_1'
    make_trial(str(tmp_path / 'logs' / 'wl'), 1, [make_row(1, 1, 0.1, 1.0, 0.1)])
    cases = {
        'empty': 'no runs found in',
        'notlogs': 'no runs found in',
        'missing': 'does not exist',
        'afile': 'is a file',
        str(trial): "single trial's directory",
    }
    if module == 'status':  # one subprocess per module for `python -m`; the rest in process
        proc = run_module(module, tmp_path / 'empty')
        assert proc.returncode == 2 and proc.stdout == ''
        assert (
            proc.stderr.startswith('status: error: no runs found in')
            and proc.stderr.count('\n') == 1
        ), proc.stderr
    main = {'summary': summary_cli, 'status': status_cli, 'plot': plot_cli}[module].main
    for name, message in cases.items():
        path = name if os.path.isabs(name) else str(tmp_path / name)
        rc = _run_main_captured(main, [path])
        assert rc[0] == 2, (name, rc)
        assert rc[1].startswith(f'{module}: error: ') and message in rc[1], rc[1]
        assert rc[1].count('\n') == 1


def _run_main_captured(main, argv):
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    return rc, err.getvalue()


def test_one_level_down_names_the_log_dirs(crafted):
    parent = os.path.dirname(crafted)
    with pytest.raises(loader.LogDirError, match=r"log directories one level down: '.*logs'"):
        load_runs(parent)


def test_sweep_without_trials_and_odd_files(tmp_path, capsys):
    wdir = tmp_path / 'logs' / 'wl'
    wdir.mkdir(parents=True)
    (wdir / 'metadata.json').write_text(json.dumps({'workload': 'wl', 'num_tuning_trials': 2}))
    assert status_cli.main([str(tmp_path / 'logs')]) == 0
    assert 'no trial started yet' in capsys.readouterr().out
    # Summary of a sweep that has not started a trial: files with zero counts.
    paths = summary.write_summaries(str(wdir))
    status = {r['description']: r['value'] for r in read_csv_rows(paths[1])}
    assert status['trials_sampled'] == '0' and status['score_time_to_target_sec'] == 'inf'
    assert plot_cli.main([str(wdir)]) == 2
    assert 'nothing to plot' in capsys.readouterr().err
    # A half-written trial.json, a header-only metrics.csv, an unparsable metrics.csv.
    run1 = wdir / 'run_1'
    run1.mkdir()
    (run1 / 'trial.json').write_text('{"run_idx": 1, "stat')
    (run1 / 'metrics.csv').write_text('framework,run_idx,loss\n')
    run2 = wdir / 'run_2'
    run2.mkdir()
    (run2 / 'metrics.csv').write_text('a,b\n1,2\n1,2,3,4\n')
    trials = load_trials(str(wdir)).set_index('run_idx')
    assert trials['status'].tolist() == ['unknown', 'unknown']
    # run_2's over-long row is dropped with a warning (the readers' rule); its good row stays.
    assert trials['num_evals'].tolist() == [0, 1]
    assert status_cli.main([str(wdir)]) == 0
    assert len(summary.write_summaries(str(wdir))) == 4


def test_write_summaries_never_raises(tmp_path, caplog):
    assert summary.write_summaries(str(tmp_path / 'missing')) == []
    assert 'summary of' in caplog.text and 'does not exist' in caplog.text
    wdir = tmp_path / 'wl'
    make_trial(str(wdir), 1, [make_row(1, 1, 0.1, 1.0, 0.1)])
    (wdir / 'summary').write_text('a file where the directory goes')
    assert summary.write_summaries(str(wdir)) == []


def test_wall_times_prefer_the_recorded_column():
    import pandas as pd

    from algorithmic_efficiency.analysis import loader

    rows = pd.DataFrame({
        'run_idx': [1, 1, 2],
        'global_start_time': [100.0, 100.0, 200.0],
        'accumulated_submission_time': [1.0, 11.0, 2.0],
        'eval_time_sec': [0.5, 0.5, 0.25],
    })
    # Older rows: start + submission time + the evals before (untimed).
    assert loader.wall_times(rows).tolist() == [101.0, 111.5, 202.0]
    rows['wall_time'] = [101.7, float('nan'), 203.0]
    # Recorded times win; a row without one falls back to the estimate.
    assert loader.wall_times(rows).tolist() == [101.7, 111.5, 203.0]


def test_incumbent_one_rule_by_trial_and_by_eval():
    """Failed and diverged trials and non-finite losses never improve the incumbent; it is
    NaN until a first loss counts, and that first one is an improvement too."""
    import pandas as pd

    from algorithmic_efficiency.analysis import incumbent

    nan, inf = math.nan, math.inf
    trials = pd.DataFrame({
        'run_idx': [3, 1, 2, 4, 5, 6],  # not in trial order
        'status': ['complete', 'failed', 'complete', 'diverged', 'running', 'complete'],
        'best_loss': [0.9, 0.1, nan, 0.05, 0.9, 0.4],
    })
    by_trial = incumbent.by_trial(trials)
    assert by_trial['run_idx'].tolist() == [1, 2, 3, 4, 5, 6]
    assert by_trial['incumbent'].fillna(-1).tolist() == [-1, -1, 0.9, 0.9, 0.9, 0.4]
    assert incumbent.improvements(trials)['run_idx'].tolist() == [3, 6]  # 5 only ties
    runs = pd.DataFrame({
        'run_idx': [3, 1, 1, 3, 4, 4, 6, 6],
        'eval_idx': [1, 1, 2, 2, 1, 2, 2, 1],
        'loss': [0.9, 0.5, 0.1, inf, 0.05, nan, 0.4, 0.6],
        'trial.status': ['complete', 'failed', 'failed', 'complete', 'diverged', 'diverged',
                         'complete', 'complete'],
    })
    inc = incumbent.by_eval(runs)
    assert inc['evals'].tolist() == list(range(1, 9))
    assert inc['run_idx'].tolist() == [1, 1, 3, 3, 4, 4, 6, 6]
    assert inc['best_loss'].fillna(-1).tolist() == [-1, -1, 0.9, 0.9, 0.9, 0.9, 0.6, 0.4]
    assert incumbent.improved(inc['best_loss']).tolist() == [
        False, False, True, False, False, False, True, True
    ]  # fmt: skip


def test_incumbent_is_the_same_in_the_summary_and_the_plot(crafted):
    from algorithmic_efficiency.analysis import incumbent, plot

    trials = load_trials(crafted)
    runs = load_runs(crafted)
    # Trial 3 (diverged) measured 0.05, the lowest loss: never the incumbent.
    assert [int(t['run_idx']) for t in summary.incumbent_trajectory(trials)] == [1]
    by_trial = incumbent.by_trial(trials)
    assert by_trial['incumbent'].tolist() == [0.1] * 6
    inc = plot.incumbent(runs)
    assert inc.equals(incumbent.by_eval(runs))
    # The last eval's incumbent is the best candidate trial's best loss.
    assert inc['best_loss'].iloc[-1] == summary.best_trial(trials)['best_loss'] == 0.1


def test_read_metadata_is_quiet_and_always_a_dict(tmp_path, caplog):
    from algorithmic_efficiency.analysis import loader

    assert loader.read_metadata(str(tmp_path / 'missing')) == {}
    (tmp_path / 'metadata.json').write_text('{"workload": ')
    assert loader.read_metadata(str(tmp_path)) == {}
    (tmp_path / 'metadata.json').write_text('[1, 2]')
    assert loader.read_metadata(str(tmp_path)) == {}
    (tmp_path / 'metadata.json').write_text('{"workload": "wl", "rng_seed": 3}')
    assert loader.read_metadata(str(tmp_path)) == {'workload': 'wl', 'rng_seed': 3}
    assert caplog.text == ''
