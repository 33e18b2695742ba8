"""Sweeps on a local Ray instance (one per module: 127.0.0.1, 2 CPUs, no dashboard).

Every sweep is capped in steps, never in seconds, so no assertion depends on
this machine's speed.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import ray_helpers as h

from algorithmic_efficiency import spec, sweep
from algorithmic_efficiency.analysis import status
from algorithmic_efficiency.distributed import cluster, compute_caps, scheduler, task

# The compared sweeps eval after step 1 and at their last step only (not every
# 2 s of the sample's period): the row count can't depend on this machine's speed.
ONE_HOUR = 3600.0


@pytest.fixture(scope='module')
def ray_address():
    ray = cluster.start_local(num_cpus=2)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith('127.0.0.1:')  # loopback only
        yield address
    finally:
        ray.shutdown()


@pytest.fixture(scope='module')
def in_process(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('in_process')
    assert sweep.run(h.config(log_dir, eval_period_time_sec=ONE_HOUR)) == 0
    return log_dir


@pytest.fixture(scope='module')
def on_ray(tmp_path_factory, ray_address):
    log_dir = tmp_path_factory.mktemp('on_ray')
    assert sweep.run(h.config(log_dir, ray_address='local', trial_resources='cpu=1',
                              eval_period_time_sec=ONE_HOUR)) == 0
    return log_dir


def test_ray_sweep_equals_the_in_process_sweep(in_process, on_ray):
    for idx in (1, 2, 3):
        local, remote = h.trial_json(in_process, idx), h.trial_json(on_ray, idx)
        assert remote['hyperparameters'] == local['hyperparameters']
        assert remote['seed'] == local['seed']
        assert remote['status'] == local['status'] == spec.TrialStatus.COMPLETE
        a, b = h.rows(in_process, idx), h.rows(on_ray, idx)
        # Eval after step 1, then the final eval at the step cap.
        assert list(a['global_step']) == list(b['global_step']) == [1, 20]
        assert list(a['accuracy']) == list(b['accuracy'])
        # Same seed, same batches (trial 3 ran in a worker that had run another
        # trial); XLA's CPU sums differ in the last bits with the thread count.
        assert list(b['loss']) == pytest.approx(list(a['loss']), rel=1e-5)
    assert h.metadata(on_ray)['rng_seed'] == h.metadata(in_process)['rng_seed'] == 3


def test_rows_carry_the_node_and_metadata_lists_it(in_process, on_ray):
    nodes = h.metadata(on_ray)['nodes']
    assert [n['node.id'] for n in nodes] == [nodes[0]['node.id']] and len(nodes) == 1
    assert nodes[0]['cpu_count'] == os.cpu_count() and nodes[0]['mem_total_bytes'] > 0
    ray_part = h.metadata(on_ray)['ray']
    assert ray_part['trial_resources'] == {'cpu': 1.0}
    assert ray_part['max_concurrent_trials'] == 2
    for idx in (1, 2, 3):
        frame = h.rows(on_ray, idx)
        assert set(frame['node.id']) == {nodes[0]['node.id']}
        assert h.trial_json(on_ray, idx)['compute.threads'] == 1  # its cpu=1 share
        assert h.trial_json(on_ray, idx)['node.id'] == nodes[0]['node.id']
        assert 'node.id' not in h.rows(in_process, idx).columns  # in-process files unchanged
    assert 'nodes' not in h.metadata(in_process)
    assert h.leaked_names(on_ray) == []


def test_driver_storage_writes_the_same_files(tmp_path, on_ray):
    log_dir = tmp_path / 'driver'
    code = sweep.run(
        h.config(log_dir, ray_address='local', trial_resources='cpu=1', ray_storage='driver',
                 eval_period_time_sec=ONE_HOUR)
    )
    assert code == 0
    assert sorted(os.listdir(h.run_dir(log_dir, 1))) == sorted(os.listdir(h.run_dir(on_ray, 1)))
    for idx in (1, 2, 3):
        shared, driver = h.rows(on_ray, idx), h.rows(log_dir, idx)
        assert list(driver.columns) == list(shared.columns)
        assert len(driver) == len(shared)
        assert driver['loss'].iloc[-1] == pytest.approx(shared['loss'].iloc[-1], rel=1e-3)
        a, b = h.trial_json(on_ray, idx), h.trial_json(log_dir, idx)
        # The worker's heartbeat reaches the driver, which writes it into trial.json.
        assert sorted(a) == sorted(b) and 'heartbeat' in b
        assert b['heartbeat']['step'] == a['heartbeat']['step']
        assert (b['status'], b['seed'], b['num_evals']) == (a['status'], a['seed'], a['num_evals'])
    assert h.leaked_names(log_dir) == []


def test_a_killed_worker_is_retried_then_given_up(tmp_path, ray_address):
    # run_1's worker dies once (retried, completes); run_2's dies on every attempt.
    submission = h.write_submission(tmp_path, {'kill': {'run_1': 1, 'run_2': 9}})
    log_dir = tmp_path / 'logs'
    code = sweep.run(
        h.config(
            log_dir,
            trials=2,
            steps=6,
            submission_path=submission,
            ray_address='local',
            trial_resources='cpu=1',
            trial_retries=1,
        )
    )
    assert code == 1  # a trial failed; the sweep went on
    first, second = h.trial_json(log_dir, 1), h.trial_json(log_dir, 2)
    assert (first['status'], first['attempt'], first['global_step']) == ('complete', 2, 6)
    earlier = os.path.join(h.run_dir(log_dir, 1), 'attempt-1.trial.json')
    assert os.path.exists(earlier)
    assert os.path.exists(os.path.join(h.run_dir(log_dir, 1), 'attempt-1.metrics.csv'))
    assert (second['status'], second['attempt']) == ('failed', 2)
    # Its actor's process was killed under it (each attempt had a fresh actor).
    assert second['error'].startswith('ActorDiedError')
    assert os.path.exists(os.path.join(h.run_dir(log_dir, 2), 'error.txt'))
    with open(os.path.join(tmp_path, 'killed-run_2'), encoding='utf-8') as f:
        assert f.read() == 'xx'  # two attempts, no third


def _by_worker(infos):
    """worker pid -> the trials_served of its trials, in run order."""
    served = {}
    for info in infos:
        served.setdefault(info['worker.pid'], []).append(info['worker.trials_served'])
    return served


def test_actors_serve_several_trials_each_pinned_to_its_own_core(tmp_path, ray_address):
    submission = h.write_submission(tmp_path, {})
    log_dir = tmp_path / 'logs'
    assert sweep.run(h.config(log_dir, trials=4, steps=6, submission_path=submission,
                              ray_address='local', trial_resources='cpu=1',
                              eval_period_time_sec=ONE_HOUR)) == 0
    infos = [h.trial_json(log_dir, idx) for idx in range(1, 5)]
    assert all(i['status'] == spec.TrialStatus.COMPLETE for i in infos)
    # 4 trials on 2 actors; each actor counts its trials up from 1.
    served = _by_worker(infos)
    assert len(served) == 2
    assert all(counts == list(range(1, len(counts) + 1)) for counts in served.values())
    assert sum(map(len, served.values())) == 4 and max(map(len, served.values())) >= 2
    # Imports once per actor (the driver, this process, imports the submission too).
    assert sorted(p for p in h.imports(tmp_path) if p != os.getpid()) == sorted(served)
    for idx, info in enumerate(infos, start=1):
        assert info['worker.pid'] == info['pid']  # the actor wrote its own trial.json
        assert info['launched'] <= info['started']
        assert (info['compute.threads'], info['compute.concurrent_trials']) == (1, 2)
        assert info['compute.env']['PJRT_NPROC'] == '1'
        # The process ran on exactly the CPUs its trial.json records.
        assert h.affinity(tmp_path, idx) == info['compute.cpus']
    if len(compute_caps.available_cpus()) >= 2:
        cpus = {tuple(i['compute.cpus']) for i in infos}
        # One CPU each, one per actor (the slot stays with the actor), disjoint.
        assert len(cpus) == 2 and all(len(c) == 1 for c in cpus)
        assert {i['worker.pid']: tuple(i['compute.cpus']) for i in infos}.keys() == served.keys()


def test_a_failed_trial_gets_a_fresh_actor(tmp_path, ray_address):
    # run_1 raises in the submission (a failed trial, not retried); one actor at a time.
    submission = h.write_submission(tmp_path, {'fail': ['run_1']})
    log_dir = tmp_path / 'logs'
    assert sweep.run(h.config(log_dir, trials=3, steps=6, submission_path=submission,
                              ray_address='local', trial_resources='cpu=1',
                              max_concurrent_trials=1, eval_period_time_sec=ONE_HOUR)) == 1
    infos = [h.trial_json(log_dir, idx) for idx in range(1, 4)]
    assert [i['status'] for i in infos] == ['failed', 'complete', 'complete']
    assert infos[0]['attempt'] == 1  # a failure of the trial itself is not retried
    # A fresh actor after the failure, which then serves the next trial too.
    assert infos[0]['worker.pid'] != infos[1]['worker.pid'] == infos[2]['worker.pid']
    assert [i['worker.trials_served'] for i in infos] == [1, 1, 2]
    assert sorted(p for p in h.imports(tmp_path) if p != os.getpid()) == sorted(
        {i['worker.pid'] for i in infos})


def test_an_actor_over_the_memory_limit_is_replaced(tmp_path, ray_address, monkeypatch):
    # The limit is half a node's memory per slot; no flag sets it (a user has no
    # reason to), so the test makes every actor exceed it after each trial.
    monkeypatch.setattr(scheduler.RayExecutor, 'max_worker_rss_bytes', 1)
    submission = h.write_submission(tmp_path, {})
    log_dir = tmp_path / 'logs'
    assert sweep.run(h.config(log_dir, trials=3, steps=6, submission_path=submission,
                              ray_address='local', trial_resources='cpu=1',
                              max_concurrent_trials=1, eval_period_time_sec=ONE_HOUR)) == 0
    infos = [h.trial_json(log_dir, idx) for idx in range(1, 4)]
    assert [i['worker.trials_served'] for i in infos] == [1, 1, 1]
    assert len({i['worker.pid'] for i in infos}) == 3
    # A replacement takes the slot its predecessor's death freed: pinned, not unpinned.
    if len(compute_caps.available_cpus()) >= 2:
        assert all(len(i['compute.cpus']) == 1 for i in infos)


def test_slots_are_claimed_by_lock_and_freed_with_their_holder(tmp_path, monkeypatch):
    lock_dir = str(tmp_path / 'slots')
    first, second = compute_caps.claim_slot(lock_dir, 2), compute_caps.claim_slot(lock_dir, 2)
    assert (first[0], second[0]) == (0, 1)
    assert compute_caps.claim_slot(lock_dir, 2) == (None, None)  # all held: no wait asked
    os.close(first[1])  # as when the holder's process ends
    again = compute_caps.claim_slot(lock_dir, 2)
    assert again[0] == 0
    # No free slot on the node: unpinned, threads from the CPU share, recorded as such.
    setup = task.ActorSetup(None, task.STORAGE_SHARED, None, 'sweep', 1.0, 3)
    monkeypatch.setattr(task, 'SLOT_WAIT_SEC', 0.0)  # not the replacement's grace period
    caps, fd, slots = task.node_caps(setup, 2, lock_dir, None)
    assert (caps.slot, caps.cpus, caps.threads, fd, slots) == (None, None, 1, None, 2)
    assert compute_caps.record(caps, {})['compute.cpus'] is None
    for fd in (second[1], again[1]):
        os.close(fd)


def test_ctrl_c_leaves_a_resumable_sweep(tmp_path, ray_address):
    slow = tmp_path / 'slow'
    slow.write_text('')
    submission = h.write_submission(tmp_path, {'sleep_file': str(slow)})
    log_dir = tmp_path / 'logs'
    cfg = h.config(log_dir, trials=2, steps=400, submission_path=submission)
    argv = [
        sys.executable,
        os.path.join(h.ROOT, 'algorithmic_efficiency', 'submission_runner.py'),
        *(f'--{k}={v}' for k, v in cfg.items() if k != 'summary'),
        '--nosummary',
        f'--ray_address={ray_address}',
        '--trial_resources=cpu=1',
    ]
    runner = subprocess.Popen(argv, cwd=h.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while min(h.rows_in(log_dir, 1), h.rows_in(log_dir, 2)) < 1:
            assert runner.poll() is None, runner.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, 'no rows in time'
            time.sleep(0.2)
        # Both trials run side by side; status names the node of each.
        assert status.format_status(str(log_dir)).count('running on node-') == 2
        runner.send_signal(signal.SIGINT)
        out = runner.communicate(timeout=120)[0].decode()
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, out[-3000:]
    assert 'continue the sweep with --resume' in out
    for idx in (1, 2):
        info = h.trial_json(log_dir, idx)
        assert info['status'] == spec.TrialStatus.INTERRUPTED
    seeds = [h.trial_json(log_dir, i)['seed'] for i in (1, 2)]
    slow.unlink()
    cfg.pop('rng_seed')
    assert sweep.run({**cfg, 'resume': True, 'ray_address': 'local'}) == 0
    for idx, seed in zip((1, 2), seeds, strict=True):
        info = h.trial_json(log_dir, idx)
        assert (info['status'], info['seed']) == ('complete', seed)
        # 400 steps, or fewer at the embedded sample's target (0.90 accuracy).
        assert info['global_step'] == 400 or info['stop_reason'] == 'target'
        assert os.path.exists(os.path.join(h.run_dir(log_dir, idx), 'attempt-1.metrics.csv'))
    assert len(h.metadata(log_dir)['resumed_at']) == 1
