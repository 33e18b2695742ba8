"""The GPU check's runs: which sweeps, with which caps, and how a command is run and timed.

Each sweep is the real runner (``algorithmic_efficiency/submission_runner.py``) with a
baseline, one trial, a step cap and a submission-time cap, inside a wall-clock limit:
a run that hangs is stopped (its whole process group) and reported, and the next one runs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = 'algorithmic_efficiency/submission_runner.py'
# The language-model workload another branch adds; the check runs it once it is registered.
LM_WORKLOADS = ('lm_tiny_jax', 'lm_tiny_pytorch')
# Synthetic CIFAR-10 in the real "python version" format: enough images for 100 steps
# of batch 128 without repeating much, small enough to write in a second.
CIFAR_TRAIN_IMAGES, CIFAR_TEST_IMAGES = 10_000, 1_000


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One runner invocation.

    Attributes:
      workload: the registered workload name (also the check's label).
      framework: ``jax`` or ``pytorch``: which venv runs it.
      submission: the baseline, relative to the checkout.
      search_space: its tuning search space, relative to the checkout.
      max_steps: ``--max_global_steps``.
      max_seconds: ``--max_submission_time_sec``.
      timeout: the wall-clock limit of the whole process (imports, compilation, evals).
      data: ``'cifar'`` for the synthetic CIFAR-10 files, else None (MNIST's embedded sample).
    """

    workload: str
    framework: str
    submission: str
    search_space: str
    max_steps: int
    max_seconds: float
    timeout: float
    data: str | None = None


def mnist(framework: str) -> Sweep:
    # Stops at the embedded sample's target (0.90) in a few seconds: energy to target.
    return Sweep(f'mnist_{framework}', framework,
                 f'baselines/mnist/mnist_{framework}/submission.py',
                 'baselines/mnist/tuning_search_space.json',
                 max_steps=3000, max_seconds=30, timeout=150)


def cifar(framework: str) -> Sweep:
    # The eval period is 600 s, so the evals are the first step's and the last one's. The
    # first step's compilation counts as submission time: 120 s leaves room for it.
    return Sweep(f'cifar10_{framework}', framework,
                 f'baselines/cifar/cifar_{framework}/submission.py',
                 'baselines/cifar/tuning_search_space.json',
                 max_steps=100, max_seconds=120, timeout=300, data='cifar')


def lm(framework: str) -> Sweep:
    # The LM branch's baselines (AdamW); its data is a corpus Python ships, nothing to write.
    return Sweep(f'lm_tiny_{framework}', framework,
                 f'baselines/lm/lm_{framework}/submission.py',
                 'baselines/lm/tuning_search_space.json',
                 max_steps=50, max_seconds=120, timeout=300)


def registered_lm_workloads() -> list[str]:
    """The LM workloads this checkout registers (none until the LM branch lands)."""
    from algorithmic_efficiency.workloads import registry  # framework-free table

    return [name for name in LM_WORKLOADS if name in registry.WORKLOADS]


def runner_args(sweep: Sweep, log_dir: str, data_dir: str | None) -> list[str]:
    """The runner's flags for ``sweep`` (one trial, fixed seed: both frameworks draw the same
    hyperparameters and initial network)."""
    args = [
        RUNNER,
        f'--workload={sweep.workload}',
        f'--framework={sweep.framework}',
        f'--submission_path={sweep.submission}',
        f'--tuning_search_space={sweep.search_space}',
        '--num_tuning_trials=1',
        '--rng_seed=0',
        f'--max_global_steps={sweep.max_steps}',
        f'--max_submission_time_sec={sweep.max_seconds}',
        f'--log_dir={log_dir}',
        '--overwrite',  # a second check on the same machine replaces the first one's runs
    ]
    if sweep.data == 'cifar':
        args.append(f'--data_dir={data_dir}')
    return args


def write_cifar(data_dir: str) -> None:
    """Random images in CIFAR-10's real on-disk format, by the tests' writer (tests/cifar_files.py,
    itself tested against the real format), so the check needs no download."""
    if os.path.isdir(os.path.join(data_dir, 'cifar-10-batches-py')):
        return
    spec = importlib.util.spec_from_file_location(
        'cifar_files', os.path.join(ROOT, 'tests', 'cifar_files.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_python_version(data_dir, CIFAR_TRAIN_IMAGES, CIFAR_TEST_IMAGES, seed=0)


def execute(argv: list[str], log_path: str, timeout: float,
            env: dict[str, str] | None = None) -> tuple[int | None, float, str]:
    """Runs ``argv`` in the checkout, output to ``log_path``, stopped after ``timeout`` s.

    Returns:
      (exit code, or None when stopped at the limit; wall seconds; the output's last line).
    """
    start = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        log.write('$ ' + ' '.join(argv) + '\n')
        log.flush()
        # A session of its own: at the limit the whole group goes (torchrun's workers too).
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
        except OSError as e:  # e.g. a venv that was never installed
            log.write(f'gpu_check: cannot start {argv[0]}: {e}\n')
            return 127, time.monotonic() - start, f'cannot start {argv[0]}: {e}'
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    seconds = time.monotonic() - start
    with open(log_path, encoding='utf-8', errors='replace') as log:
        lines = [line.strip() for line in log if line.strip()]
    return rc, seconds, lines[-1] if lines else ''
