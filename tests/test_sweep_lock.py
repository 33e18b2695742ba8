"""recording.lock: one runner per sweep directory, refused in one line, never touching its files."""

import os
import subprocess
import sys

import pytest
from helpers.sweep_config import PT_SUBMISSION, config, tree
from sweeps import ROOT, SPACE, run_cli

from algorithmic_efficiency import sweep
from algorithmic_efficiency.recording import lock as sweep_lock
from algorithmic_efficiency.recording import recorder as recorder_lib


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
