"""--max_concurrent_trials without Ray: a local pool of capped worker processes.

Real sweeps (mnist_jax on the embedded sample), capped in steps, never in
seconds: no assertion depends on this machine's speed. The compared sweeps
eval after step 1 and at their last step only (an hour's eval period).
Only the GPU split is checked without a GPU (this machine has none): on an
environment mapping, at the boundary where CUDA_VISIBLE_DEVICES is set.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
import ray_helpers as h

from algorithmic_efficiency import spec, sweep
from algorithmic_efficiency.analysis import scoring
from algorithmic_efficiency.distributed import compute_caps, local_pool, options

ONE_HOUR = 3600.0
TRIALS = 3


@pytest.fixture(scope='module')
def sequential(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('sequential')
    assert sweep.run(h.config(log_dir, trials=TRIALS, eval_period_time_sec=ONE_HOUR)) == 0
    return log_dir


@pytest.fixture(scope='module')
def pooled(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('pooled')
    assert sweep.run(h.config(log_dir, trials=TRIALS, eval_period_time_sec=ONE_HOUR,
                              max_concurrent_trials=2)) == 0
    return log_dir


def test_pooled_sweep_has_the_sequential_results(sequential, pooled):
    for idx in range(1, TRIALS + 1):
        seq, pool = h.trial_json(sequential, idx), h.trial_json(pooled, idx)
        assert (pool['hyperparameters'], pool['seed']) == (seq['hyperparameters'], seq['seed'])
        assert pool['status'] == seq['status'] == spec.TrialStatus.COMPLETE
        a, b = h.rows(sequential, idx), h.rows(pooled, idx)
        assert list(a['global_step']) == list(b['global_step']) == [1, 20]
        assert list(a['accuracy']) == list(b['accuracy'])
        # Same seed, same batches; XLA's CPU sums differ in the last bits with
        # the thread count (2 sequential, 1 per pooled trial).
        assert list(b['loss']) == pytest.approx(list(a['loss']), rel=1e-5)


def test_trials_record_their_caps_and_workers_are_reused(pooled):
    infos = [h.trial_json(pooled, idx) for idx in range(1, TRIALS + 1)]
    cpus = os.cpu_count()
    for info in infos:
        assert info['compute.concurrent_trials'] == 2
        assert info['compute.threads'] == max(1, cpus // 2)
        assert info['compute.env']['PJRT_NPROC'] == str(info['compute.threads'])
        assert info['worker.pid'] == info['pid']  # the worker wrote its own trial.json
        assert info['attempt'] == 1
    if cpus >= 2:  # the two running trials had disjoint CPUs
        assert not set(infos[0]['compute.cpus']) & set(infos[1]['compute.cpus'])
    # 3 trials on 2 workers: the third reuses the worker that finished first.
    assert sorted(i['worker.trials_served'] for i in infos) == [1, 1, 2]
    assert infos[2]['worker.pid'] in (infos[0]['worker.pid'], infos[1]['worker.pid'])
    concurrency = h.metadata(pooled)['concurrency']
    assert concurrency['executor'] == 'local_pool' and concurrency['max_concurrent_trials'] == 2
    assert not h.leaked_names(pooled)


def test_sequential_sweep_metadata_has_no_concurrency(sequential):
    assert 'concurrency' not in h.metadata(sequential)
    assert 'compute.threads' not in h.trial_json(sequential, 1)


def test_score_warns_when_concurrency_differs(sequential, pooled, caplog):
    subs = [scoring.read_submission('seq', str(sequential)),
            scoring.read_submission('pool', str(pooled))]
    line = scoring.warn_mixed_concurrency(subs)
    assert line is not None and '1 at once: seq:' in line and '2 at once: pool:' in line
    assert any('different numbers of concurrent trials' in r.message for r in caplog.records)
    assert scoring.warn_mixed_concurrency(subs[:1]) is None
    assert scoring.warn_mixed_concurrency([subs[0], scoring.read_submission(
        'again', str(sequential))]) is None


def test_killed_worker_retries_and_memory_limit_gives_fresh_workers(tmp_path, monkeypatch):
    # run_1's worker is SIGKILLed at step 3 once: the trial is retried in a new worker.
    submission = h.write_submission(tmp_path, {'kill': {'run_1': 1}})
    # Every worker is over the memory limit after its trial: each trial a fresh worker.
    monkeypatch.setattr(local_pool, '_default_rss_limit', lambda slots: 1)
    log_dir = tmp_path / 'logs'
    code = sweep.run(h.config(log_dir, trials=TRIALS, steps=6, submission_path=submission,
                              eval_period_time_sec=ONE_HOUR, max_concurrent_trials=2))
    assert code == 0
    first = h.trial_json(log_dir, 1)
    assert (first['status'], first['attempt'], first['global_step']) == ('complete', 2, 6)
    assert os.path.exists(os.path.join(h.run_dir(log_dir, 1), 'attempt-1.trial.json'))
    infos = [h.trial_json(log_dir, idx) for idx in range(1, TRIALS + 1)]
    assert [i['worker.trials_served'] for i in infos] == [1, 1, 1]
    assert len({i['worker.pid'] for i in infos}) == TRIALS


def test_rows_name_the_gpu_each_trial_saw(tmp_path, monkeypatch):
    # No GPU here: two are named at the boundary, CUDA_VISIBLE_DEVICES, which the
    # pool narrows to one per worker (JAX on CPU ignores it; the rows must not).
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    log_dir = tmp_path / 'logs'
    assert sweep.run(h.config(log_dir, trials=2, steps=3, eval_period_time_sec=ONE_HOUR,
                              max_concurrent_trials=2)) == 0
    seen = []
    for idx in (1, 2):
        info = h.trial_json(log_dir, idx)
        assert h.rows(log_dir, idx)['devices.visible'].astype(str).tolist() == [
            info['devices.visible']] * 2  # the evals after steps 1 and 3
        seen.append(info['devices.visible'])
    assert sorted(seen) == ['0', '1']
    assert [s['gpus'] for s in h.metadata(log_dir)['concurrency']['slots']] == [['0'], ['1']]


SWALLOWED_CTRL_C = """
import time
from algorithmic_efficiency.training import checkpointing
if {hook}:
    checkpointing.redeliver_swallowed_interrupts()

class Finalised:
    def __del__(self):  # as a Ctrl-C that arrives while the garbage collector runs one
        raise KeyboardInterrupt

try:
    Finalised()  # Python prints 'Exception ignored' and goes on
    for _ in range({loops}):  # the hook's SIGINT comes 50 ms later: up to 30 s allowed
        time.sleep(0.005)
    print('went on')
except KeyboardInterrupt:
    print('stopped')
"""


def test_a_ctrl_c_swallowed_by_a_finaliser_is_raised_again():
    # Seen once in CI: the Ctrl-C the runner passed on landed in a weakref callback of a
    # worker, which trained on to the end. Workers and the runner install the hook.
    assert _child(SWALLOWED_CTRL_C.format(hook=False, loops=200)) == 'went on'
    assert _child(SWALLOWED_CTRL_C.format(hook=True, loops=6000)) == 'stopped'


def _signal_pooled_runner(tmp_path, signum):
    """A 2-wide pooled sweep of 3 slowed trials run by the CLI, `signum` sent to the runner
    alone once trials 1 and 2 train (as from `kill` or a container's stop; a terminal's
    Ctrl-C reaches the runner only too, the workers having their own process group).

    Returns (exit code, output, log_dir, config). Every step sleeps 50 ms while the
    slow file exists; it is removed before returning.
    """
    slow = tmp_path / 'slow'
    slow.write_text('')
    submission = h.write_submission(tmp_path, {'sleep_file': str(slow)})
    log_dir = tmp_path / 'logs'
    cfg = h.config(log_dir, trials=3, steps=100, submission_path=submission,
                   max_concurrent_trials=2)
    argv = [sys.executable, os.path.join(h.ROOT, 'algorithmic_efficiency', 'submission_runner.py'),
            *(f'--{k}={v}' for k, v in cfg.items() if k != 'summary'), '--nosummary']
    runner = subprocess.Popen(argv, cwd=h.ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              # A background child inherits an ignored SIGINT from shells.
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while min(h.rows_in(log_dir, 1), h.rows_in(log_dir, 2)) < 1:  # both trials training
            assert runner.poll() is None, runner.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, 'no rows in time'
            time.sleep(0.2)
        runner.send_signal(signum)
        out = runner.communicate(timeout=120)[0].decode()
    finally:
        if runner.poll() is None:
            runner.kill()
    if signum == signal.SIGKILL:  # the workers end on their own: wait for them
        pids = [h.trial_json(log_dir, idx).get('worker.pid') for idx in (1, 2)]
        while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
    slow.unlink()
    return runner.returncode, out, log_dir, cfg


@pytest.mark.parametrize('signum, code, status', [
    (signal.SIGINT, 130, spec.TrialStatus.INTERRUPTED),
    (signal.SIGTERM, 143, spec.TrialStatus.PREEMPTED),
])
def test_a_signal_to_the_runner_stops_the_pool_and_resume_finishes(tmp_path, signum, code,
                                                                    status):
    rc, out, log_dir, cfg = _signal_pooled_runner(tmp_path, signum)
    assert rc == code, out[-3000:]
    assert 'continue the sweep with --resume' in out
    infos = [h.trial_json(log_dir, idx) for idx in (1, 2)]
    assert [i['status'] for i in infos] == [status, status], out[-3000:]
    assert all(0 < i['global_step'] < 100 for i in infos)
    # The queued third trial never started, and no worker outlives the runner.
    assert not os.path.exists(h.run_dir(log_dir, 3))
    assert not any(psutil.pid_exists(i['worker.pid']) for i in infos)
    if signum == signal.SIGTERM:  # preempted trials checkpointed where they stopped
        for idx, info in zip((1, 2), infos, strict=True):
            steps = os.listdir(os.path.join(h.run_dir(log_dir, idx), 'checkpoints'))
            assert f"step_{info['global_step']}" in steps
    cfg.pop('rng_seed')
    assert sweep.run({**cfg, 'resume': True}) == 0
    for idx, before in zip((1, 2), infos, strict=True):
        after = h.trial_json(log_dir, idx)
        assert (after['status'], after['seed']) == ('complete', before['seed'])
        # 100 steps, or fewer at the embedded sample's target (0.90 accuracy; the
        # evals, every 2 s of training, fall on steps that depend on the speed).
        assert after['global_step'] == 100 or after['stop_reason'] == 'target'
        resumed = h.rows(log_dir, idx)['trial.resumed_from_step'].iloc[-1]
        if signum == signal.SIGTERM:  # continued from its checkpoint, not from step 0
            assert resumed == before['global_step']
    assert h.trial_json(log_dir, 3)['status'] == 'complete'


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux\'s')
def test_workers_of_a_killed_runner_checkpoint_and_stop(tmp_path):
    # SIGKILL cannot be passed on: the kernel sends the workers SIGTERM (their
    # PR_SET_PDEATHSIG), so their trials end preempted at a checkpoint, not training on.
    rc, out, log_dir, _ = _signal_pooled_runner(tmp_path, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    for idx in (1, 2):
        info = h.trial_json(log_dir, idx)
        assert not psutil.pid_exists(info['worker.pid'])
        assert info['status'] == spec.TrialStatus.PREEMPTED, out[-3000:]
        steps = os.listdir(os.path.join(h.run_dir(log_dir, idx), 'checkpoints'))
        assert f"step_{info['global_step']}" in steps


def _child(code):
    """`code` in a fresh interpreter (caps must be set before the framework loads)."""
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONUNBUFFERED='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


BUSY_THREADS = '''
import os
from algorithmic_efficiency.distributed import compute_caps
caps = compute_caps.ComputeCaps(0, (0,), 1, None, 2)
if {capped}:
    compute_caps.apply_before_import(caps, 'jax')
import jax, jax.numpy as jnp

def ticks():
    out = {{}}
    for tid in os.listdir('/proc/self/task'):
        with open(f'/proc/self/task/{{tid}}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        out[tid] = int(fields[11]) + int(fields[12])
    return out

x = jnp.ones((768, 768))
step = jax.jit(lambda x: jnp.tanh(x @ x / 768) @ x / 768)
step(x).block_until_ready()
before = ticks()
for _ in range(40):
    step(x).block_until_ready()
deltas = [t - before.get(tid, 0) for tid, t in ticks().items()]
print(sum(d > 0.1 * sum(deltas) for d in deltas))
'''


@pytest.mark.skipif(not os.path.exists('/proc/self/task'), reason='counts threads in /proc')
def test_caps_bound_jax_to_one_busy_thread():
    assert _child(BUSY_THREADS.format(capped=True)) == '1'
    if len(compute_caps.available_cpus()) >= 2:  # the caps are what bounds it
        assert int(_child(BUSY_THREADS.format(capped=False))) >= 2


def test_caps_set_pytorch_threads_and_affinity():
    out = _child('''
        import os
        from algorithmic_efficiency.distributed import compute_caps
        caps = compute_caps.ComputeCaps(0, (0,), 1, None, 2)
        compute_caps.apply_before_import(caps, 'pytorch')
        import torch
        compute_caps.apply_after_import(caps, 'pytorch')
        print(torch.get_num_threads(), torch.get_num_interop_threads(),
              sorted(os.sched_getaffinity(0)), os.environ['OMP_NUM_THREADS'])
    ''')
    assert out == '1 1 [0] 1'


def test_plan_slots_splits_cpus_and_gives_one_gpu_per_trial():
    slots = compute_caps.plan_slots(2, [0, 1, 2, 3])
    assert [s.cpus for s in slots] == [(0, 1), (2, 3)] and [s.threads for s in slots] == [2, 2]
    assert {c for s in compute_caps.plan_slots(2, [0, 1, 2]) for c in s.cpus} == {0, 1, 2}
    assert [s.cpus for s in compute_caps.plan_slots(3, [0, 1])] == [(0,), (1,), (0,)]
    # 4 asked, 2 GPUs (faked: this machine has none): one trial per GPU, CPUs split.
    gpu_slots = compute_caps.plan_slots(4, range(8), gpus=['0', '1'])
    assert [s.gpus for s in gpu_slots] == [('0',), ('1',)]
    assert [len(s.cpus) for s in gpu_slots] == [4, 4]
    environ = {}
    compute_caps.apply_before_import(
        compute_caps.ComputeCaps(1, None, 4, ('1',), 2), 'pytorch', environ)
    assert environ['CUDA_VISIBLE_DEVICES'] == '1'
    assert compute_caps.record(gpu_slots[1], environ)['devices.visible'] == '1'
    with pytest.raises(ValueError, match='--max_concurrent_trials must be at least 1, got 0'):
        compute_caps.plan_slots(0, [0])


def test_max_concurrent_trials_needs_no_ray_but_trial_resources_does():
    assert options.check_options(None, max_concurrent_trials=2) is None
    with pytest.raises(ValueError, match='--trial_resources needs --ray_address'):
        options.check_options(None, trial_resources='cpu=1', max_concurrent_trials=2)

    class Torchrun:
        world_size = 2

    with pytest.raises(ValueError, match='under torchrun'):
        local_pool.from_config(sweep.RunConfig(max_concurrent_trials=2), Torchrun(), 3,
                               None, None)
