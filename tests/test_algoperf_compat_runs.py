"""Submissions written to the AlgoPerf API run unchanged through ``submission_runner.py``.

The submissions under ``tests/algoperf_submissions/`` were written for this
project and use exactly the API surface of the peer's MNIST PyTorch
development submission and its external-tuning NAdamW baselines (JAX and
PyTorch) with list-format search spaces. Each runs as a real sweep on the
embedded MNIST sample, and leaves what our own baselines leave: rows per eval
with hparams and telemetry, trial.json, metadata.json (with ``submission.api``),
plus the submission's own ``metrics_logger`` scalars.
"""

import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBMISSIONS = os.path.join(ROOT, 'tests', 'algoperf_submissions')
RUNNER = os.path.join(ROOT, 'algorithmic_efficiency', 'submission_runner.py')
STEPS = 11

CASES = {
    # name: (framework, search space, logging period of the submission, extra flags)
    'mnist_pytorch_adam': ('pytorch', 'adam_search_space.json', 10, ['--tensorboard']),
    'pytorch_nadamw': ('pytorch', 'nadamw_search_space.json', 5, []),
    'jax_nadamw': ('jax', 'nadamw_search_space.json', 5, []),
}


def run_runner(*args, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return subprocess.run([sys.executable, RUNNER, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


_RUNS = {}


def run_case(name, tmp_path_factory):
    """The sweep of one case, run once per module: ``(name, LOG_DIR/<workload>, process)``."""
    if name not in _RUNS:
        fw, space, _, extra = CASES[name]
        log_dir = tmp_path_factory.mktemp(name) / 'logs'
        proc = run_runner(f'--workload=mnist_{fw}',
                          f'--submission_path={SUBMISSIONS}/{name}.py',
                          f'--tuning_search_space={SUBMISSIONS}/{space}',
                          '--num_tuning_trials=2', f'--max_global_steps={STEPS}', '--rng_seed=5',
                          f'--log_dir={log_dir}', *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        _RUNS[name] = (name, os.path.join(log_dir, f'mnist_{fw}'), proc)
    return _RUNS[name]


@pytest.fixture(scope='module', params=sorted(CASES))
def sweep(request, tmp_path_factory):
    return run_case(request.param, tmp_path_factory)


@pytest.fixture(scope='module')
def adam_sweep(tmp_path_factory):
    """The Adam submission's sweep, which ran with --tensorboard."""
    return run_case('mnist_pytorch_adam', tmp_path_factory)


def test_rows_hparams_and_telemetry_as_for_our_baselines(sweep):
    name, workload_dir, _ = sweep
    fw, space, _, _ = CASES[name]
    with open(os.path.join(SUBMISSIONS, space)) as f:
        points = json.load(f)
    meta = json.load(open(os.path.join(workload_dir, 'metadata.json')))
    assert meta['submission.api'] == 'algoperf-compat'
    assert meta['search_space'] == points and meta['num_tuning_trials'] == 2
    measured = 0
    for run_idx, point in enumerate(points, start=1):
        run_dir = os.path.join(workload_dir, f'run_{run_idx}')
        rows = read_rows(os.path.join(run_dir, 'metrics.csv'))
        # The first eval follows step 1, the last one the step cap.
        assert [r['global_step'] for r in (rows[0], rows[-1])] == ['1', str(STEPS)]
        for row in rows:
            assert row['framework'] == fw and row['run_idx'] == str(run_idx)
            for key, value in point.items():
                assert float(row[f'hparam.{key}']) == pytest.approx(value)
            assert float(row['loss']) > 0 and 0 <= float(row['accuracy']) <= 1
            # An interval shorter than a clock tick has no CPU share (an empty
            # field, by design); when there is one, it is a share.
            cpu = row['cpu.util.avg_percent_since_last']
            assert cpu == '' or 0 <= float(cpu) <= 100
            assert int(row['mem.total']) > 0
            assert row['gpu.count'] == '0'
        measured += sum(r['cpu.util.avg_percent_since_last'] != '' for r in rows)
        trial = json.load(open(os.path.join(run_dir, 'trial.json')))
        assert trial['status'] == 'complete' and trial['stop_reason'] == 'max_steps'
        assert trial['hyperparameters'] == point and trial['global_step'] == STEPS
    assert measured > 0  # run 1's first interval (start-up, first step) is long enough


def test_metrics_logger_scalars_land_in_a_per_trial_file(sweep):
    name, workload_dir, _ = sweep
    _, _, period, _ = CASES[name]
    rows = read_rows(os.path.join(workload_dir, 'run_1', 'submission_metrics.csv'))
    logged = [r for r in rows if r.get('loss')]
    # update_params logs at every `period`-th step (from step 0).
    assert [int(r['global_step']) for r in logged] == list(range(0, STEPS, period))
    assert all(float(r['loss']) > 0 for r in logged)
    if name == 'mnist_pytorch_adam':
        # prepare_for_eval logs its call count: once before each of the trial's evals.
        prepared = [int(r['prepared']) for r in rows if r.get('prepared')]
        evals = read_rows(os.path.join(workload_dir, 'run_1', 'metrics.csv'))
        assert prepared == list(range(1, len(evals) + 1))
        # train_state's submission time, as the submission saw it, never decreases.
        times = [float(r['submission_time']) for r in logged]
        assert times == sorted(times) and times[0] == 0.0
    else:
        assert all(float(r['grad_norm']) > 0 for r in logged)


def test_metrics_logger_scalars_land_in_tensorboard(adam_sweep):
    _, workload_dir, _ = adam_sweep
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(os.path.join(workload_dir, 'run_1', 'submission'))
    acc.Reload()
    assert {'loss', 'submission_time', 'prepared'} <= set(acc.Tags()['scalars'])
    assert [e.step for e in acc.Scalars('loss')] == list(range(0, STEPS, 10))


def test_same_algorithm_same_numbers_in_both_frameworks(tmp_path):
    """The NAdamW submissions start from the same weights and data in JAX and PyTorch."""
    losses = {}
    for name in ('jax_nadamw', 'pytorch_nadamw'):
        fw = CASES[name][0]
        proc = run_runner(f'--workload=mnist_{fw}', f'--submission_path={SUBMISSIONS}/{name}.py',
                          f'--tuning_search_space={SUBMISSIONS}/nadamw_search_space.json',
                          '--num_tuning_trials=1', '--max_global_steps=1', '--rng_seed=5',
                          f'--log_dir={tmp_path / name}', '--nosummary')
        assert proc.returncode == 0, proc.stderr[-3000:]
        row = read_rows(tmp_path / name / f'mnist_{fw}' / 'run_1' / 'submission_metrics.csv')[0]
        losses[fw] = float(row['loss'])
    assert losses['jax'] == pytest.approx(losses['pytorch'], rel=1e-5)


def one_line_error(proc):
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('submission_runner: error: '), proc.stderr
    return lines[0]


def test_pmap_submission_is_refused_in_one_line():
    line = one_line_error(run_runner(
        '--workload=mnist_jax', f'--submission_path={SUBMISSIONS}/jax_pmap.py',
        f'--tuning_search_space={SUBMISSIONS}/adam_search_space.json', '--num_tuning_trials=1'))
    assert 'uses jax.pmap (line ' in line and 'jax.jit' in line


def test_more_trials_than_the_list_holds_is_one_line():
    line = one_line_error(run_runner(
        '--workload=mnist_pytorch', f'--submission_path={SUBMISSIONS}/mnist_pytorch_adam.py',
        f'--tuning_search_space={SUBMISSIONS}/adam_search_space.json', '--num_tuning_trials=3',
        '--rng_seed=1'))
    assert 'has 2 trials but 3 were requested; ask for at most 2' in line


def test_an_algoperf_module_the_layer_lacks_is_one_line(tmp_path):
    submission = tmp_path / 'submission.py'
    submission.write_text('from algoperf import checkpoint_utils\n')
    line = one_line_error(run_runner(
        '--workload=mnist_pytorch', f'--submission_path={submission}', '--tuning_ruleset=self'))
    assert "No module named 'algoperf.checkpoint_utils'" in line
    assert 'pip install algoperf' in line
