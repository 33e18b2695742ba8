"""Multiple devices: a JAX mesh of simulated CPU devices, PyTorch DDP under torchrun on gloo.

Every multi-device run is its own process (JAX reads its device count once,
torchrun starts its own processes); steps are capped, never timed.
"""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from sweeps import ROOT, RUNNER, SPACE, runner_env

from algorithmic_efficiency.training import processes
from algorithmic_efficiency.training.results import TrialResult
from algorithmic_efficiency.training.schedule import EvalSchedule
from algorithmic_efficiency.workloads import host_devices

STEP_SCRIPT = os.path.join(ROOT, 'tests', 'multidevice_step.py')
TORCHRUN = os.path.join(os.path.dirname(sys.executable), 'torchrun')
TWO_CPU_DEVICES = '--xla_force_host_platform_device_count=2'


def run(cmd, env=None, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env or runner_env())


def torchrun(*args, timeout=300):
    """``torchrun --standalone --nproc_per_node=2`` (rendezvous on 127.0.0.1)."""
    return run([TORCHRUN, '--standalone', '--nproc_per_node=2', *map(str, args)],
               timeout=timeout)


def jax_env(**extra):
    env = runner_env()
    env.pop('XLA_FLAGS', None)
    env.pop('PJRT_NPROC', None)
    env.update(extra)
    return env


def one_step(tmp_path, framework, count, launcher=(), cifar_dir=None):
    out = tmp_path / f'{framework}{count}.npz'
    env = jax_env(XLA_FLAGS=TWO_CPU_DEVICES) if framework == 'jax' and count > 1 else jax_env()
    extra = ['cifar', str(cifar_dir)] if cifar_dir else []
    if launcher:
        proc = torchrun(STEP_SCRIPT, framework, count, out, *extra)
    else:
        proc = run([sys.executable, STEP_SCRIPT, framework, str(count), str(out), *extra],
                   env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(np.load(out))


def assert_same_parameters(single, multi):
    assert set(single) == set(multi)
    for name, value in single.items():
        if name.startswith('metric/'):
            assert multi[name] == pytest.approx(value, rel=1e-5), name
            continue
        # Relative to the tensor's size (a zero tensor, such as a bias behind a
        # zero-initialised batch-norm scale, must stay zero on both).
        diff, size = np.linalg.norm(multi[name] - value), np.linalg.norm(value)
        assert (diff <= 1e-5 * size) if size > 0 else diff <= 1e-7, (name, diff, size)
    assert sum(np.linalg.norm(v) > 0 for k, v in single.items() if not k.startswith('metric/'))


# --- Equality of one step: 1 device against 2.


def test_jax_one_step_on_two_devices_equals_one_device(tmp_path):
    single = one_step(tmp_path, 'jax', 1)
    multi = one_step(tmp_path, 'jax', 2)
    assert_same_parameters(single, multi)


def test_pytorch_ddp_one_step_equals_one_process(tmp_path):
    single = one_step(tmp_path, 'pytorch', 1)
    multi = one_step(tmp_path, 'pytorch', 2, launcher=('torchrun',))
    assert_same_parameters(single, multi)


@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory):
    from cifar_files import write_python_version

    root = tmp_path_factory.mktemp('cifar')
    write_python_version(root, 100, 20, seed=1)
    return root


def test_jax_cifar_one_step_on_two_devices_equals_one_device(tmp_path, cifar_dir):
    """ResNet (width 8) with batch norm: the statistics of the global batch on 2 devices too."""
    single = one_step(tmp_path, 'jax', 1, cifar_dir=cifar_dir)
    multi = one_step(tmp_path, 'jax', 2, cifar_dir=cifar_dir)
    assert_same_parameters(single, multi)


def test_pytorch_cifar_ddp_step_keeps_the_ranks_identical(tmp_path, cifar_dir):
    """Per-process batch norm (no SyncBatchNorm on the CPU) makes this not one process's
    step, but still one model: both ranks hold the same parameters and eval after it."""
    single = one_step(tmp_path, 'pytorch', 1, cifar_dir=cifar_dir)
    rank0 = one_step(tmp_path, 'pytorch', 2, launcher=('torchrun',), cifar_dir=cifar_dir)
    rank1 = dict(np.load(tmp_path / 'pytorch2.rank1.npz'))
    assert set(rank0) == set(rank1) == set(single)
    for name, value in rank0.items():
        np.testing.assert_array_equal(value, rank1[name], err_msg=name)


# --- Sweeps.


def sweep_cmd(fw, log_dir, *extra, trials=2, steps=12, submission=None):
    submission = submission or f'{ROOT}/baselines/mnist/mnist_{fw}/submission.py'
    return [f'--workload=mnist_{fw}', f'--submission_path={submission}',
            f'--tuning_search_space={SPACE}', f'--num_tuning_trials={trials}',
            f'--max_global_steps={steps}', '--rng_seed=5', f'--log_dir={log_dir}', '--nosummary',
            *extra]


def files_of(log_dir):
    out = []
    for dirpath, _, names in os.walk(log_dir):
        out += [os.path.relpath(os.path.join(dirpath, n), log_dir) for n in names]
    return sorted(out)


def rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_torchrun_sweep_writes_one_set_of_files_like_one_process(tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    proc = run([sys.executable, RUNNER, *sweep_cmd('pytorch', one)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = torchrun(RUNNER, *sweep_cmd('pytorch', two))
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Only rank 0 wrote, and printed the end table.
    assert files_of(one) == files_of(two)
    assert proc.stdout.count('mnist_pytorch: 2 trial(s)') == 1
    for n in (1, 2):
        a = rows(one / 'mnist_pytorch' / f'run_{n}' / 'metrics.csv')
        b = rows(two / 'mnist_pytorch' / f'run_{n}' / 'metrics.csv')
        assert list(a[0]) == list(b[0])  # the same columns, in the same order
        # Evals between the first and the last fall where the clock says: compare those two.
        for ra, rb in ((a[0], b[0]), (a[-1], b[-1])):
            assert ra['global_step'] == rb['global_step']
            # The same training (the global batch split over 2 processes): the same loss.
            assert float(rb['loss']) == pytest.approx(float(ra['loss']), rel=1e-4)
        assert (b[-1]['global_step'], b[-1]['status']) == ('12', 'complete')
    meta_one = json.load(open(one / 'mnist_pytorch' / 'metadata.json'))
    meta_two = json.load(open(two / 'mnist_pytorch' / 'metadata.json'))
    assert [k for k in meta_one if k not in ('datetime',)] == [
        k for k in meta_two if k not in ('datetime',)]
    assert meta_one['devices.count'] == 1 and meta_one['distributed.world_size'] == 1
    assert meta_one['distributed.backend'] == 'none'
    assert meta_two['devices.count'] == 2 and meta_two['devices.kind'] == 'cpu'
    assert meta_two['distributed.world_size'] == 2 and meta_two['distributed.backend'] == 'gloo'
    # --resume: rank 0 reads which trials are finished, every rank skips them.
    b_first = rows(two / 'mnist_pytorch' / 'run_1' / 'metrics.csv')
    proc = torchrun(RUNNER, *sweep_cmd('pytorch', two, '--resume', trials=3))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count('finished earlier, skipped') == 2  # rank 0's lines only
    assert len(rows(two / 'mnist_pytorch' / 'run_3' / 'metrics.csv')) >= 2
    assert len(rows(two / 'mnist_pytorch' / 'run_1' / 'metrics.csv')) == len(b_first)


def test_jax_sweep_on_two_devices_writes_what_one_device_writes(tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    proc = run([sys.executable, RUNNER, *sweep_cmd('jax', one, '--num_devices=1')],
               env=jax_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    # --num_devices=2 on the CPU: the runner appends the host device count to XLA_FLAGS.
    proc = run([sys.executable, RUNNER, *sweep_cmd('jax', two, '--num_devices=2')],
               env=jax_env(XLA_FLAGS='--xla_cpu_enable_fast_math=false'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert files_of(one) == files_of(two)
    for n in (1, 2):
        a = rows(one / 'mnist_jax' / f'run_{n}' / 'metrics.csv')
        b = rows(two / 'mnist_jax' / f'run_{n}' / 'metrics.csv')
        assert list(a[0]) == list(b[0])
        assert a[-1]['global_step'] == b[-1]['global_step'] == '12'
        assert float(b[-1]['loss']) == pytest.approx(float(a[-1]['loss']), rel=1e-4)
    meta = json.load(open(two / 'mnist_jax' / 'metadata.json'))
    assert (meta['devices.count'], meta['devices.kind']) == (2, 'cpu')
    assert (meta['distributed.world_size'], meta['distributed.backend']) == (1, 'none')
    assert meta['flags']['num_devices'] == 2
    assert json.load(open(one / 'mnist_jax' / 'metadata.json'))['devices.count'] == 1


FAILING_SUBMISSION = '''
import os
import sys
sys.path.insert(0, {baselines!r})
from submission import data_selection, get_batch_size, init_optimizer_state  # noqa: F401
import submission as baseline

def update_params(workload, params, *args):
    global_step = args[-2]
    hyperparameters = args[2]
    first_trial = hyperparameters['epsilon'] == {first_epsilon!r}
    if os.environ.get('RANK') == '1' and first_trial and global_step == 3:
        raise ValueError('rank one gives up at step 3')
    return baseline.update_params(workload, params, *args)
'''


def test_a_rank_that_raises_fails_the_trial_on_both_and_the_sweep_goes_on(tmp_path):
    # Trial 1's epsilon under --rng_seed=5, read from a one-process dry run's search.
    from algorithmic_efficiency import sweep

    inputs = sweep.check_config(sweep.RunConfig(workload='mnist_pytorch',
                                                 tuning_search_space=SPACE, num_tuning_trials=2))
    first = sweep.trial_list(sweep.RunConfig(num_tuning_trials=2), inputs.search_space, 5)[0]
    path = tmp_path / 'failing.py'
    path.write_text(FAILING_SUBMISSION.format(
        baselines=f'{ROOT}/baselines/mnist/mnist_pytorch', first_epsilon=first['epsilon']))
    log_dir = tmp_path / 'logs'
    start = time.monotonic()
    # A hang on a collective would last the 600 s timeout: the run must end well before.
    proc = torchrun(RUNNER, *sweep_cmd('pytorch', log_dir, submission=path), timeout=150)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert elapsed < 150
    runs = log_dir / 'mnist_pytorch'
    trial_1 = json.load(open(runs / 'run_1' / 'trial.json'))
    trial_2 = json.load(open(runs / 'run_2' / 'trial.json'))
    assert trial_1['status'] == 'failed'
    assert trial_1['error'] == 'rank 1: ValueError: rank one gives up at step 3'
    assert 'rank one gives up' in (runs / 'run_1' / 'error.txt').read_text()
    assert trial_2['status'] == 'complete' and trial_2['global_step'] == 12
    assert '1  failed' in proc.stdout and '2  complete' in proc.stdout


# --- Bad input: one line, exit 2.


def test_num_devices_above_the_visible_count_is_one_line(tmp_path):
    env = jax_env(XLA_FLAGS=TWO_CPU_DEVICES)  # the user's count wins over --num_devices
    proc = run([sys.executable, RUNNER, *sweep_cmd('jax', tmp_path / 'l', '--num_devices=3')],
               env=env)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ('submission_runner: error: --num_devices=3 but only 2 cpu device(s) are '
                    'visible; on the CPU start with XLA_FLAGS='
                    '--xla_force_host_platform_device_count=3')
    assert not (tmp_path / 'l').exists()


def test_a_batch_that_does_not_split_over_the_devices_is_one_line(tmp_path):
    path = tmp_path / 'odd.py'
    path.write_text('import sys\n'
                    f'sys.path.insert(0, {ROOT + "/baselines/mnist/mnist_jax"!r})\n'
                    'from submission import *  # noqa: F403\n'
                    'def get_batch_size(workload_name):\n    return 1023\n')
    proc = run([sys.executable, RUNNER,
                *sweep_cmd('jax', tmp_path / 'l', '--num_devices=2', submission=path)],
               env=jax_env())
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "submission_runner: error: the submission's global batch size 1023 does not divide by "
        'the 2 devices; use a multiple of 2 or set --num_devices')


def test_jax_under_torchrun_is_one_line(tmp_path):
    proc = torchrun(RUNNER, *sweep_cmd('jax', tmp_path / 'l'), timeout=120)
    assert proc.returncode != 0
    assert ('submission_runner: error: torchrun started 2 processes, but JAX drives every '
            'device from one process') in proc.stderr


# --- The parts, in this process.


def test_host_devices_appends_to_xla_flags_and_never_replaces_them():
    env = {'XLA_FLAGS': '--xla_dump_to=/tmp/x'}
    assert host_devices.prepare(env, 4) == 4
    assert env['XLA_FLAGS'] == '--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=4'
    assert int(env['PJRT_NPROC']) >= 8
    mine = {'XLA_FLAGS': '--xla_force_host_platform_device_count=2', 'PJRT_NPROC': '3'}
    assert host_devices.prepare(mine, 8) == 2  # the user's count and threads stay
    assert mine == {'XLA_FLAGS': '--xla_force_host_platform_device_count=2', 'PJRT_NPROC': '3'}
    one = {}
    assert host_devices.prepare(one, 1) is None and one == {}
    assert host_devices.prepare(one, None) is None and one == {}


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_agreed_timer_takes_the_slowest_reading_and_plans_checks_by_step():
    clock = FakeClock()
    # The other process reads 0.01 s more at every check: the agreed time is its.
    timer = processes.AgreedTimer(lambda params: None, clock, lambda v: [v[0] + 0.01])
    schedule = EvalSchedule(period_sec=10.0, budget_sec=100.0)
    timer.start()
    checks, evals = [], []
    for step in range(1, 400):
        clock.now += 0.1  # 10 steps per second
        if timer.worth_checking(schedule, step):
            checks.append(step)
            accumulated = timer.stop(None)
            if schedule.due(accumulated):
                evals.append((step, accumulated, schedule.next_eval_at))
                schedule.evaluated(accumulated)
            timer.start()
    assert checks[0] == 1 and evals[0][0] == 1  # the first eval follows the first step
    assert [step for step, _, _ in evals] == [1, 101, 201, 301]
    for _, accumulated, due in evals:
        assert due <= accumulated < due + 0.1 + 0.02  # at most one step (and the skew) late
    per_eval = [sum(1 for c in checks if lo < c <= hi) for lo, hi in ((1, 101), (101, 201))]
    assert per_eval == [7, 7]  # about log2(100 steps) checks, not one per step
    # Each agreed reading is the slower process's: this one's time plus its lag.
    assert timer.accumulated == pytest.approx(checks[-1] * 0.1 + len(checks) * 0.01)


def test_agreed_result_names_the_rank_that_failed_first():
    result = TrialResult(run_idx=1, hyperparameters={}, seed=0, status='complete')
    outcomes = [
        {'failed': True, 'stop_reason': 'error', 'error': 'RuntimeError: Connection reset by peer',
         'traceback': 'tb0', 'at': 12.5},
        {'failed': True, 'stop_reason': 'disk_full', 'error': 'OSError: boom',
         'traceback': 'tb1', 'at': 12.0},
        {'failed': False, 'stop_reason': 'max_steps', 'error': None, 'traceback': None,
         'at': 11.0},
    ]
    agreed = processes.agreed_result(result, outcomes)
    assert agreed.status == 'failed' and agreed.stop_reason == 'disk_full'
    assert isinstance(agreed.disk_error, OSError)  # this rank stops the sweep too
    assert agreed.error == 'rank 1: OSError: boom'
    assert agreed.traceback.startswith('tb1')
    assert 'rank 0: RuntimeError: Connection reset by peer' in agreed.traceback
    ok = TrialResult(run_idx=2, hyperparameters={}, seed=0, status='complete')
    assert processes.agreed_result(ok, outcomes[2:]).status == 'complete'
