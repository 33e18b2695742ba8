"""--overwrite empties a sweep's folder only (recording.overwrite_guard): never a symbolic
link's target, never a folder of someone's files."""

import os

import pytest
from hostile import args, config
from sweeps import run_cli

from algorithmic_efficiency import layout, sweep


def test_overwrite_refuses_a_symlink_and_keeps_its_target(tmp_path):
    log_dir, target = tmp_path / 'logs', tmp_path / 'documents'
    target.mkdir()
    (target / 'thesis.txt').write_text('four years of work')
    log_dir.mkdir()
    os.symlink(target, log_dir / 'mnist_pytorch')
    with pytest.raises(layout.LogDirError, match='symbolic link'):
        sweep.run(config(log_dir, overwrite=True))
    assert os.listdir(target) == ['thesis.txt']


def test_overwrite_refuses_a_folder_holding_no_sweep_from_the_cli(tmp_path):
    log_dir = tmp_path / 'logs'
    (log_dir / 'mnist_pytorch').mkdir(parents=True)
    (log_dir / 'mnist_pytorch' / 'thesis.txt').write_text('four years of work')
    proc = run_cli(args(log_dir, '--overwrite'), timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith('submission_runner: error: '
                                                           '--overwrite refuses')
    assert 'holds no sweep' in proc.stderr and 'Traceback' not in proc.stderr
    assert os.listdir(log_dir / 'mnist_pytorch') == ['thesis.txt']


def test_overwrite_still_empties_a_sweep(tmp_path):
    log_dir = tmp_path / 'logs'
    assert sweep.run(config(log_dir, num_tuning_trials=1, max_global_steps=1)) == 0
    (log_dir / 'mnist_pytorch' / 'run_1' / 'marker').write_text('old')
    assert sweep.run(config(log_dir, num_tuning_trials=1, max_global_steps=1,
                            overwrite=True)) == 0
    assert not (log_dir / 'mnist_pytorch' / 'run_1' / 'marker').exists()
