"""Running the real runner from tests, and reading what it wrote independently of the loader.

A plain helper module (tests import it; it imports no test module). The shared
sweeps built with it are the session fixtures of ``conftest.py``.
"""

import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'algorithmic_efficiency', 'submission_runner.py')
SPACE = os.path.join(ROOT, 'baselines', 'mnist', 'tuning_search_space.json')
SECRET = 's3cr3t-value-do-not-record'  # in the runner's environment; must never be written

# The shared PyTorch sweep (conftest's ``pytorch_sweep``): 3 Halton trials of 20 steps, seed 0.
SWEEP_KEY = 'mnist_pytorch'
N_TRIALS = 3


def runner_env():
    """The environment of a runner under test: a secret to leak, no GPU selection, unbuffered."""
    env = dict(os.environ, AE_TEST_SECRET_TOKEN=SECRET, PYTHONUNBUFFERED='1')
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


def run_cli(args, module=False, check_rc=None, timeout=600, cwd=ROOT):
    """The runner in a subprocess, as a script or (``module``) with ``python -m``."""
    entry = ['-m', 'algorithmic_efficiency.submission_runner'] if module else [RUNNER]
    proc = subprocess.run([sys.executable, *entry, *args], capture_output=True, text=True,
                          timeout=timeout, env=runner_env(), cwd=cwd)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr[-3000:]
    return proc


def sweep_args(fw, log_dir, *extra, trials=2, steps=25):
    """The guide's command for framework ``fw``, capped at ``steps`` steps per trial."""
    return [f'--framework={fw}', f'--workload=mnist_{fw}',
            f'--submission_path={ROOT}/baselines/mnist/mnist_{fw}/submission.py',
            f'--tuning_search_space={SPACE}', f'--num_tuning_trials={trials}',
            f'--max_global_steps={steps}', f'--log_dir={log_dir}', *extra]


def run_pytorch_sweep(log_dir, *extra):
    """The shared PyTorch sweep's command (as the README runs it) into ``log_dir``."""
    run_cli(['--workload=mnist_pytorch',
             '--submission_path=baselines/mnist/mnist_pytorch/submission.py',
             '--tuning_search_space=baselines/mnist/tuning_search_space.json',
             f'--num_tuning_trials={N_TRIALS}', '--max_global_steps=20', '--rng_seed=0',
             f'--log_dir={log_dir}', *extra], module=True, check_rc=0, timeout=300)
    return str(log_dir)


def file_trials(workload_dir):
    """run_idx -> (rows of metrics.csv as dicts of strings, trial.json), read with csv/json."""
    out = {}
    for n in range(1, N_TRIALS + 1):
        run = os.path.join(workload_dir, f'run_{n}')
        with open(os.path.join(run, 'metrics.csv'), newline='') as f:
            rows = list(csv.DictReader(f))
        with open(os.path.join(run, 'trial.json')) as f:
            out[n] = (rows, json.load(f))
    return out
