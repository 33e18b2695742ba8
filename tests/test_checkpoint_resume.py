"""Checkpoints and exact resume: a killed trial, resumed, ends with the uninterrupted rows.

Real runs of the runner (tests/ckpt_runner.py: the real runner, its kills and
checkpoint steps fixed by step so nothing depends on machine speed), evals after
every step (``--eval_period_time_sec=1e-9``), a step cap. Each killed run is
compared row by row with the same trial run without interruption: the same global
steps, loss and accuracy (every eval metric) equal to 1e-6.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from cifar_files import write_python_version
from sweeps import ROOT, runner_env

SPACE_MNIST = os.path.join(ROOT, 'baselines', 'mnist', 'tuning_search_space.json')
SPACE_CIFAR = os.path.join(ROOT, 'baselines', 'cifar', 'tuning_search_space.json')
SPACE_LM = os.path.join(ROOT, 'baselines', 'lm', 'tuning_search_space.json')
# Per workload: (runner's name stem, baseline folder, batch size, search space).
WORKLOADS = {
    'mnist': ('mnist', 'mnist', 256, SPACE_MNIST),
    'cifar': ('cifar10', 'cifar', 8, SPACE_CIFAR),
    'lm': ('lm_tiny', 'lm', 8, SPACE_LM),  # the offline corpus, byte-level
}
WRAPPER = os.path.join(ROOT, 'tests', 'ckpt_runner.py')
STEPS = 8
# CIFAR-10's ResNet steps take seconds on a CPU: fewer of them, at batch 8.
STEPS_CIFAR = 4
COMPAT = os.path.join(ROOT, 'tests', 'algoperf_submissions')
BATCH_WRAPPER = '''import importlib.util
_spec = importlib.util.spec_from_file_location('baseline', {path!r})
_baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_baseline)
init_optimizer_state = _baseline.init_optimizer_state
update_params = _baseline.update_params
data_selection = _baseline.data_selection


def get_batch_size(workload_name):
    return {batch}
'''


def submission(tmp_path, workload, fw):
    """The baseline at a small batch (fast steps, several epochs on the small data)."""
    _, base, batch, _ = WORKLOADS[workload]
    path = tmp_path / f'{workload}_{fw}_sub.py'
    path.write_text(BATCH_WRAPPER.format(
        path=f'{ROOT}/baselines/{base}/{base}_{fw}/submission.py', batch=batch))
    return str(path)


def workload_name(workload, fw):
    return f'{WORKLOADS[workload][0]}_{fw}'


def runner(log_dir, workload, fw, tmp_path, *extra, env=None, check_rc=0, data_dir=None,  # noqa: PLR0913
           compat=None):
    space = WORKLOADS[workload][3]
    sub = submission(tmp_path, workload, fw)
    if compat:  # an AlgoPerf-API submission (tests/algoperf_submissions)
        sub, space = f'{COMPAT}/{compat}.py', f'{COMPAT}/nadamw_search_space.json'
    name = workload_name(workload, fw)
    args = [f'--workload={name}', f'--framework={fw}', f'--submission_path={sub}',
            f'--tuning_search_space={space}', '--num_tuning_trials=1',
            f'--max_global_steps={steps_of(workload)}', '--eval_period_time_sec=1e-9',
            '--rng_seed=7',
            '--checkpoint_at_eval', '--nosummary', f'--log_dir={log_dir}', *extra]
    if data_dir:
        args.append(f'--data_dir={data_dir}')
    proc = subprocess.run([sys.executable, WRAPPER, *args], capture_output=True, text=True,
                          timeout=300, env={**runner_env(), **(env or {})}, cwd=ROOT)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr[-3000:]
    return proc


def steps_of(workload):
    return STEPS_CIFAR if workload == 'cifar' else STEPS


def run_dir(log_dir, workload, fw):
    return os.path.join(log_dir, workload_name(workload, fw), 'run_1')


def eval_columns(df):
    start, end = df.columns.get_loc('epoch') + 1, df.columns.get_loc('batch_size')
    return list(df.columns[start:end])


def assert_same_rows(resumed_dir, reference_dir, steps=STEPS):
    got = pd.read_csv(os.path.join(resumed_dir, 'metrics.csv'))
    want = pd.read_csv(os.path.join(reference_dir, 'metrics.csv'))
    assert got['global_step'].tolist() == want['global_step'].tolist() == list(
        range(1, steps + 1))
    metrics = eval_columns(want)
    assert 'loss' in metrics and 'accuracy' in metrics
    for column in metrics:
        assert got[column].tolist() == pytest.approx(want[column].tolist(), abs=1e-6), column
    assert got['status'].tolist() == want['status'].tolist()
    # Submission time continues from the checkpoint's: increasing, never reset.
    assert got['accumulated_submission_time'].is_monotonic_increasing
    return got


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('cifar_data')
    write_python_version(path, 64, 16, seed=3)
    return str(path)


_references = {}


def reference(workload, fw, tmp_path_factory, data_dir=None, compat=None):
    """The trial uninterrupted (one per workload, framework and submission, run once)."""
    key = (workload, fw, compat)
    if key not in _references:
        root = tmp_path_factory.mktemp(f'ref_{workload}_{fw}')
        runner(str(root / 'logs'), workload, fw, root, data_dir=data_dir, compat=compat)
        _references[key] = run_dir(str(root / 'logs'), workload, fw)
    return _references[key]


def kill_and_resume(tmp_path, workload, fw, kills, every=3, data_dir=None, marker_env=None,  # noqa: PLR0913
                    compat=None):
    """Runs the trial, killed as it draws each batch of `kills`, resuming after each kill."""
    log_dir = str(tmp_path / 'logs')
    marker = str(tmp_path / 'kill')
    for k in kills:
        open(f'{marker}.{k}', 'w').close()
    env = {'AE_CKPT_EVERY': str(every), marker_env or 'AE_KILL_MARKER': marker}
    first = runner(log_dir, workload, fw, tmp_path, env=env, check_rc=None, data_dir=data_dir,
                   compat=compat)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    for i in range(len(kills)):
        proc = runner(log_dir, workload, fw, tmp_path, '--resume', env=env, check_rc=None,
                      data_dir=data_dir, compat=compat)
        last = i == len(kills) - 1
        assert proc.returncode == (0 if last else -signal.SIGKILL), proc.stderr[-2000:]
    return log_dir, proc


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_mnist_killed_after_a_checkpoint_resumes_to_the_same_rows(tmp_path, tmp_path_factory, fw):
    # Checkpoints at steps 3 and 6; killed drawing batch 5 (rows 1-4 written, the
    # checkpoint at 3 the newest): the resumed trial redoes 4 and goes on to 8.
    log_dir, proc = kill_and_resume(tmp_path, 'mnist', fw, kills=[5])
    rdir = run_dir(log_dir, 'mnist', fw)
    got = assert_same_rows(rdir, reference('mnist', fw, tmp_path_factory))
    assert 'continuing from the checkpoint at step 3' in proc.stderr
    assert got['trial.resumed_from_step'].tolist()[:3] == [pytest.approx(float('nan'),
                                                                          nan_ok=True)] * 3
    assert got['trial.resumed_from_step'].tolist()[3:] == [3] * (STEPS - 3)
    assert (got['checkpoint.seconds'].iloc[3:] > 0).all()
    # The killed attempt's rows are kept aside, all four of them.
    aside = pd.read_csv(os.path.join(rdir, 'attempt-1.metrics.csv'))
    assert aside['global_step'].tolist() == [1, 2, 3, 4]
    info = json.load(open(os.path.join(rdir, 'trial.json')))
    assert info['status'] == 'complete' and info['resumed_from_step'] == 3
    assert info['num_evals'] == STEPS and info['global_step'] == STEPS
    assert [r['from_step'] for r in info['resumes']] == [3]
    assert os.listdir(os.path.join(rdir, 'checkpoints')) == ['step_6']  # --keep_checkpoints=1


def test_mnist_two_kills_in_one_trial(tmp_path, tmp_path_factory):
    log_dir, _ = kill_and_resume(tmp_path, 'mnist', 'pytorch', kills=[3, 7], every=2)
    rdir = run_dir(log_dir, 'mnist', 'pytorch')
    got = assert_same_rows(rdir, reference('mnist', 'pytorch', tmp_path_factory))
    assert got['trial.resumed_from_step'].tolist()[-1] == 6
    info = json.load(open(os.path.join(rdir, 'trial.json')))
    assert [r['from_step'] for r in info['resumes']] == [2, 6]


def test_a_kill_during_the_checkpoint_write_leaves_the_previous_one(tmp_path, tmp_path_factory):
    # Killed while writing step 6's checkpoint (model written, not renamed): the
    # half-written one is never read; the trial continues from step 3's.
    log_dir, proc = kill_and_resume(tmp_path, 'mnist', 'jax', kills=[6],
                                    marker_env='AE_KILL_IN_WRITE')
    rdir = run_dir(log_dir, 'mnist', 'jax')
    assert_same_rows(rdir, reference('mnist', 'jax', tmp_path_factory))
    assert 'continuing from the checkpoint at step 3' in proc.stderr
    assert not [n for n in os.listdir(os.path.join(rdir, 'checkpoints')) if n.startswith('.tmp')]


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_cifar_batch_norm_and_augmentation_resume_exactly(tmp_path, tmp_path_factory, data_dir,
                                                          fw):
    # Checkpoint at step 2, killed drawing batch 4 (row 3 written, then lost).
    log_dir, _ = kill_and_resume(tmp_path, 'cifar', fw, kills=[4], every=2, data_dir=data_dir)
    got = assert_same_rows(run_dir(log_dir, 'cifar', fw),
                           reference('cifar', fw, tmp_path_factory, data_dir), STEPS_CIFAR)
    assert got['trial.resumed_from_step'].iloc[-1] == 2
    # The other splits' metrics (train.*, test.*) came back equal too (assert_same_rows).
    assert 'train.loss' in got.columns and 'test.accuracy' in got.columns


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_language_model_resumes_exactly(tmp_path, tmp_path_factory, fw):
    # lm_tiny on the offline corpus: AdamW's state, the shuffled token windows and the
    # prefetch thread. Checkpoints at 3 and 6, killed drawing batch 5.
    log_dir, proc = kill_and_resume(tmp_path, 'lm', fw, kills=[5])
    got = assert_same_rows(run_dir(log_dir, 'lm', fw), reference('lm', fw, tmp_path_factory))
    assert 'continuing from the checkpoint at step 3' in proc.stderr
    assert got['trial.resumed_from_step'].iloc[-1] == 3


@pytest.mark.parametrize('name,fw', [('pytorch_nadamw', 'pytorch'), ('jax_nadamw', 'jax')])
def test_algoperf_submissions_resume_exactly(tmp_path, tmp_path_factory, name, fw):
    # Their optimizer state: a dict of torch optimizer and LR scheduler, or an optax pytree.
    log_dir, proc = kill_and_resume(tmp_path, 'mnist', fw, kills=[5], compat=name)
    assert_same_rows(run_dir(log_dir, 'mnist', fw),
                     reference('mnist', fw, tmp_path_factory, compat=name))
    assert 'continuing from the checkpoint at step 3' in proc.stderr


def test_a_corrupt_checkpoint_is_one_warning_and_a_fresh_start(tmp_path, tmp_path_factory):
    log_dir = str(tmp_path / 'logs')
    marker = str(tmp_path / 'kill')
    open(f'{marker}.5', 'w').close()
    env = {'AE_CKPT_EVERY': '3', 'AE_KILL_MARKER': marker}
    runner(log_dir, 'mnist', 'pytorch', tmp_path, env=env, check_rc=-signal.SIGKILL)
    rdir = run_dir(log_dir, 'mnist', 'pytorch')
    state = os.path.join(rdir, 'checkpoints', 'step_3', 'state.pt')
    with open(state, 'r+b') as f:
        f.truncate(100)
    proc = runner(log_dir, 'mnist', 'pytorch', tmp_path, '--resume', env=env)
    warnings = [line for line in proc.stderr.splitlines() if 'checkpoint not usable' in line]
    assert len(warnings) == 1 and state in warnings[0]
    assert_same_rows(rdir, reference('mnist', 'pytorch', tmp_path_factory))
    got = pd.read_csv(os.path.join(rdir, 'metrics.csv'))
    assert got['trial.resumed_from_step'].isna().all()  # from step 0
    assert pd.read_csv(os.path.join(rdir, 'attempt-1.metrics.csv'))['global_step'].tolist() == [
        1, 2, 3, 4]
    assert os.path.exists(os.path.join(rdir, 'attempt-1.checkpoints', 'step_3'))


def test_sigterm_checkpoints_marks_preempted_and_exits_143(tmp_path, tmp_path_factory):
    log_dir = str(tmp_path / 'logs')
    args = [sys.executable, WRAPPER, '--workload=mnist_pytorch', '--framework=pytorch',
            f'--submission_path={submission(tmp_path, "mnist", "pytorch")}',
            f'--tuning_search_space={SPACE_MNIST}', '--num_tuning_trials=1',
            f'--max_global_steps={STEPS}', '--eval_period_time_sec=1e-9', '--rng_seed=7',
            '--checkpoint_interval_sec=3600', '--nosummary', f'--log_dir={log_dir}']
    # Slow steps only on the first run (the marker), so the signal lands mid-trial.
    slow = str(tmp_path / 'slow')
    open(slow, 'w').close()
    sitecustomize = tmp_path / 'site'
    sitecustomize.mkdir()
    (sitecustomize / 'sitecustomize.py').write_text(
        'import os, time\n'
        'from algorithmic_efficiency.training import checkpoint\n'
        '_next = checkpoint.CountingQueue.__next__\n'
        'def _slow(self):\n'
        f'    if os.path.exists({slow!r}) and self.drawn >= 2: time.sleep(0.5)\n'
        '    return _next(self)\n'
        'checkpoint.CountingQueue.__next__ = _slow\n')
    env = {**runner_env(), 'PYTHONPATH': f'{sitecustomize}{os.pathsep}{ROOT}'}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    rdir = run_dir(log_dir, 'mnist', 'pytorch')
    deadline = time.time() + 120
    while time.time() < deadline:
        path = os.path.join(rdir, 'metrics.csv')
        if os.path.exists(path) and open(path).read().count('\n') >= 3:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail('no two rows within 120 s')
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err[-2000:]
    assert time.time() - sent < 10
    info = json.load(open(os.path.join(rdir, 'trial.json')))
    assert info['status'] == 'preempted'
    step = info['global_step']
    assert 2 <= step < STEPS
    assert os.listdir(os.path.join(rdir, 'checkpoints')) == [f'step_{step}']
    status = subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.status', log_dir],
                            capture_output=True, text=True, cwd=ROOT, env=runner_env())
    assert 'preempted' in status.stdout and f'resumes at step {step}' in status.stdout
    os.remove(slow)
    runner(log_dir, 'mnist', 'pytorch', tmp_path, '--resume', '--checkpoint_interval_sec=3600')
    got = assert_same_rows(rdir, reference('mnist', 'pytorch', tmp_path_factory))
    assert got['trial.resumed_from_step'].iloc[-1] == step


def test_state_a_checkpoint_cannot_save_is_one_error_naming_its_type(tmp_path):
    import jax.numpy as jnp
    import torch

    from algorithmic_efficiency.training import checkpoint

    model = torch.nn.Linear(2, 2)
    gen = (x for x in [])
    with pytest.raises(checkpoint.CheckpointError,
                       match=r"^optimizer_state\['it'\] is a builtins.generator, which a "
                             r'checkpoint cannot save'):
        checkpoint.save_model('pytorch', str(tmp_path), model, None, {'it': gen})
    with pytest.raises(checkpoint.CheckpointError,
                       match=r'^optimizer_state\[1\] is a builtins.object, which'):
        checkpoint.save_model('jax', str(tmp_path), {'w': jnp.ones(2)}, None,
                              (jnp.zeros(2), object()))
    # Functions are code, not state (the peer's JAX baselines keep opt_update_fn there).
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    checkpoint.save_model('pytorch', str(tmp_path), model, None, {'opt': opt, 'fn': len})


def test_atomic_write_keeps_the_newest_k_and_never_lists_a_partial_one(tmp_path):
    import torch

    from algorithmic_efficiency.training import checkpoint

    run = str(tmp_path)
    model = torch.nn.Linear(2, 2)
    for step in (1, 2, 3):
        checkpoint.write(run, step, 'pytorch', (model, None, None), {'step': step}, keep=2)
    assert checkpoint.list_steps(run) == [2, 3]
    os.makedirs(os.path.join(run, 'checkpoints', '.tmp-step_4-1'))  # a write killed midway
    assert checkpoint.list_steps(run) == [2, 3]
    assert checkpoint.read_loop(checkpoint.latest(run))['step'] == 3
    checkpoint.write(run, 5, 'pytorch', (model, None, None), {'step': 5}, keep=1)
    assert sorted(os.listdir(os.path.join(run, 'checkpoints'))) == ['step_5']
