"""Shared fixtures: real sweeps (and a real Hydra multirun) built once per test session.

Each is read by several test modules, so they are read-only: a test that
changes files copies the tree first (``shutil.copytree``). The helpers that
build them live in plain modules (``sweeps.py``, ``hydra_multirun.py``) that
test modules may import; no test module imports another.
"""

import os
import shutil
import tempfile

import pytest
from hydra_multirun import make_hydra_multirun
from sweeps import run_cli, run_pytorch_sweep, sweep_args

# One JAX compilation cache for the session, shared by every runner the tests start
# (they inherit this environment): a killed run, its resume and the reference run
# compile the same steps. Measured: the JAX CIFAR and LM checkpoint tests 81 -> 70 s.
# Every compile is kept (thresholds 0, as distributed.compute_caps sets them for
# workers); the user's own cache settings are left alone.
_JAX_CACHE = tempfile.mkdtemp(prefix='ae-tests-jax-cache-')
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', _JAX_CACHE)
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')


def pytest_sessionfinish(session, exitstatus):
    del session, exitstatus
    shutil.rmtree(_JAX_CACHE, ignore_errors=True)


# --record_extra_metadata of the guide sweeps: a value holding '=' and a plain one.
GUIDE_EXTRA = ['--record_extra_metadata=exp=guide=1', '--record_extra_metadata=owner=team-a']


@pytest.fixture(scope='session')
def guide_sweeps(tmp_path_factory):
    """The guide's command in both frameworks into one --log_dir: ``(log_dir, {fw: process})``.

    2 Halton trials of 25 steps each, ``--rng_seed=3``, two extra-metadata keys;
    JAX through the script path, PyTorch through ``python -m`` (both spellings).
    """
    log_dir = str(tmp_path_factory.mktemp('guide') / 'logs')
    common = ['--rng_seed=3', *GUIDE_EXTRA]
    out = {
        'jax': run_cli(sweep_args('jax', log_dir, *common), check_rc=0),
        'pytorch': run_cli(sweep_args('pytorch', log_dir, *common), module=True, check_rc=0),
    }
    return log_dir, out


@pytest.fixture(scope='session')
def pytorch_sweep(tmp_path_factory):
    """A real sweep as the README runs it: mnist_pytorch, 3 Halton trials of 20 steps, seed 0."""
    return run_pytorch_sweep(tmp_path_factory.mktemp('pytorch_sweep') / 'logs')


@pytest.fixture(scope='session')
def hydra_multirun(tmp_path_factory):
    """A Hydra multirun of 12 jobs made by hydra-core; the folder holding ``multirun/``."""
    return make_hydra_multirun(tmp_path_factory.mktemp('hydra'))


@pytest.fixture(scope='session')
def finished_sweep(tmp_path_factory):
    """A small finished in-process sweep (helpers.sweep_config.config: 2 trials of 3 steps,
    seed 7); its --log_dir. Read-only: tests that refuse to touch it check exactly that."""
    from helpers.sweep_config import config  # imports the package: only when a test asks

    from algorithmic_efficiency import sweep

    log_dir = tmp_path_factory.mktemp('locked') / 'logs'
    assert sweep.run(config(log_dir)) == 0
    return log_dir
