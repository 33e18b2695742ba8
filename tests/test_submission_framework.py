"""A submission for the other framework is refused up front (sweep.submission_framework):
a JAX submission on mnist_pytorch failed every trial with a cryptic TypeError."""

import pytest
from hostile import args, config
from sweeps import ROOT, run_cli

from algorithmic_efficiency import sweep
from algorithmic_efficiency.sweep import submission, submission_framework

JAX_SUBMISSION = f'{ROOT}/baselines/mnist/mnist_jax/submission.py'
PT_SUBMISSION = f'{ROOT}/baselines/mnist/mnist_pytorch/submission.py'


def test_the_baselines_use_their_own_framework():
    assert submission_framework.frameworks_used(
        submission.load_submission(JAX_SUBMISSION, 'jax')) == {'jax'}
    assert submission_framework.frameworks_used(
        submission.load_submission(PT_SUBMISSION, 'pytorch')) == {'pytorch'}


def test_a_jax_submission_on_a_pytorch_workload_is_refused_before_any_file(tmp_path):
    with pytest.raises(sweep.UsageError) as e:
        sweep.run(config(tmp_path / 'logs', submission_path=JAX_SUBMISSION))
    assert 'is written for JAX (it imports jax, optax)' in str(e.value)
    assert 'but the workload is PyTorch; run it on the jax workload' in str(e.value)
    assert not (tmp_path / 'logs').exists()


def test_from_the_cli_it_is_exit_2_one_line(tmp_path):
    proc = run_cli(args(tmp_path / 'logs', submission_path=JAX_SUBMISSION), timeout=300)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('submission_runner: error: submission ') and 'Traceback' not in (
        proc.stderr)
    assert 'is written for JAX' in last


def test_a_submission_using_both_or_neither_is_accepted(tmp_path):
    both = tmp_path / 'both.py'
    both.write_text('import jax\nimport torch\n')
    neither = tmp_path / 'neither.py'
    neither.write_text('import math\n')
    for path in (both, neither):
        module = submission.submission_import.import_submission(str(path), sweep.UsageError)
        submission_framework.check(module, str(path), 'pytorch')
