"""Per-trial compute caps that JAX and PyTorch honour: CPUs, threads, GPUs, compile cache.

Several trials on one machine only pay off if each stays on its share: two
trials that each spread over every core fight for them (issue 26). A
:class:`ComputeCaps` names one trial slot's share; :func:`apply_before_import`
sets it in a fresh worker process *before* the framework is imported (XLA and
the BLAS/OpenMP runtimes size their thread pools once, at start-up), and
:func:`apply_after_import` sets what only the framework's API can (PyTorch's
thread counts). :func:`record` is what ``trial.json`` says the trial had.

Measured with jaxlib 0.10.2 on this 2-core machine (a jitted 1024x1024
matmul loop; threads with more than 10 % of the process's CPU ticks in
``/proc/<pid>/task``), which bound XLA's CPU threads:

=================================================  ============
setting                                            busy threads
=================================================  ============
nothing                                            4
``--xla_cpu_multi_thread_eigen=false``             4
``os.sched_setaffinity(0, {0})``                   1
``PJRT_NPROC=1``                                   1
=================================================  ============

So JAX's pools follow the schedulable CPUs (``sched_getaffinity``) and
``PJRT_NPROC``; ``OMP_NUM_THREADS`` and the Eigen flag do not bound them. We
set both the affinity and ``PJRT_NPROC`` (the affinity alone does not exist on
macOS), plus the BLAS/OpenMP variables that NumPy and PyTorch read.

Framework-free: nothing here imports JAX or PyTorch at module level.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import MutableMapping, Sequence
from typing import Any

from algorithmic_efficiency.recording import redact

# Variables the BLAS/OpenMP runtimes read at load time (NumPy, PyTorch, XLA's Eigen).
THREAD_ENV_VARS = (
    'OMP_NUM_THREADS',
    'MKL_NUM_THREADS',
    'OPENBLAS_NUM_THREADS',
    'NUMEXPR_NUM_THREADS',
    'VECLIB_MAXIMUM_THREADS',
)
# XLA's CPU client thread count (measured above: it bounds JAX's busy threads).
XLA_THREADS_ENV = 'PJRT_NPROC'
# JAX reads its config from these variables when it is imported. A compile is
# cached only above both thresholds; the defaults (1 s, 0 bytes) skip most CPU
# compiles of a small model, so every compile is kept: a trial's jitted step
# costs 0.3-2 s to compile here, the cache hit ~20 ms.
JAX_CACHE_DIR_ENV = 'JAX_COMPILATION_CACHE_DIR'
JAX_CACHE_THRESHOLDS = {
    'JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS': '0',
    'JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES': '0',
}


@dataclasses.dataclass(frozen=True)
class ComputeCaps:
    """One trial slot's share of the machine.

    Attributes:
      slot: the slot's number (0-based); a worker keeps its slot for life.
        None: no slot (a Ray worker that found every slot of its node taken).
      cpus: the CPU ids the trial is pinned to (``os.sched_setaffinity``);
        None: not pinned (no slot, or a platform without affinity).
      threads: the trial's intra-op threads (XLA, PyTorch, BLAS/OpenMP).
      gpus: the GPU ids it sees (``CUDA_VISIBLE_DEVICES``); None: left as it is
        (no GPU); ``()``: none (hidden).
      concurrent_trials: the slots of the sweep (trials running at once).
    """

    slot: int | None
    cpus: tuple[int, ...] | None
    threads: int
    gpus: tuple[str, ...] | None
    concurrent_trials: int


def available_cpus() -> list[int]:
    """The CPU ids this process may run on (all of them where affinity is unknown)."""
    if hasattr(os, 'sched_getaffinity'):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def plan_slots(
    max_concurrent: int, cpus: Sequence[int], gpus: Sequence[str] | None = None
) -> list[ComputeCaps]:
    """`max_concurrent` slots, each with an even, disjoint share of `cpus` (and one GPU each).

    With GPUs, one trial per GPU: the slots are at most the GPUs. The CPUs are
    split evenly (the remainder goes to the first slots); more slots than CPUs
    share CPUs round-robin with one thread each.

    Raises:
      ValueError: `max_concurrent` below 1.
    """
    if max_concurrent < 1:
        raise ValueError(f'--max_concurrent_trials must be at least 1, got {max_concurrent}')
    slots = max_concurrent if not gpus else min(max_concurrent, len(gpus))
    cpus = list(cpus) or [0]
    shares: list[list[int]] = [[] for _ in range(slots)]
    if slots <= len(cpus):
        for i, cpu in enumerate(cpus[: len(cpus) // slots * slots]):
            shares[i // (len(cpus) // slots)].append(cpu)
        for i, cpu in enumerate(cpus[len(cpus) // slots * slots:]):
            shares[i].append(cpu)
    else:
        for i in range(slots):
            shares[i].append(cpus[i % len(cpus)])
    return [
        ComputeCaps(
            slot=i,
            cpus=tuple(sorted(share)),
            threads=len(share),
            gpus=(str(gpus[i]),) if gpus else None,
            concurrent_trials=slots,
        )
        for i, share in enumerate(shares)
    ]


def compilation_cache_dir() -> str:
    """Where the sweep's JAX compiles are kept: the user's, else the user cache's folder."""
    if os.environ.get(JAX_CACHE_DIR_ENV):
        return os.environ[JAX_CACHE_DIR_ENV]
    cache_home = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'),
                                                                  '.cache')
    return os.path.join(cache_home, 'algorithmic_efficiency', 'jax_compilation_cache')


def set_compilation_cache(environ: MutableMapping[str, str], cache_dir: str) -> None:
    """A persistent JAX compilation cache for this process (before JAX is imported).

    A user's own cache settings win; the thresholds make CPU compiles count.
    """
    environ.setdefault(JAX_CACHE_DIR_ENV, cache_dir)
    for name, value in JAX_CACHE_THRESHOLDS.items():
        environ.setdefault(name, value)


def apply_before_import(caps: ComputeCaps, framework: str,
                        environ: MutableMapping[str, str] | None = None) -> None:
    """Pins this process to its CPUs and sets the thread variables (before any framework import).

    The user's own ``PJRT_NPROC`` is kept only with several simulated JAX
    devices, whose all-reduce needs more threads (``workloads.host_devices``).
    """
    environ = os.environ if environ is None else environ
    if caps.cpus is not None and hasattr(os, 'sched_setaffinity'):
        _pin(caps.cpus)
    for name in THREAD_ENV_VARS:
        environ[name] = str(caps.threads)
    if framework == 'jax' and '--xla_force_host_platform_device_count' not in environ.get(
            'XLA_FLAGS', ''):
        environ[XLA_THREADS_ENV] = str(caps.threads)
    if caps.gpus is not None:
        environ['CUDA_VISIBLE_DEVICES'] = ','.join(caps.gpus)


def _pin(cpus: Sequence[int]) -> None:
    """Pins every thread of this process to `cpus` (threads started later inherit it).

    ``sched_setaffinity(0)`` pins the calling thread only; a Ray worker has
    started threads of its own before it runs our code.
    """
    os.sched_setaffinity(0, cpus)
    try:
        threads = os.listdir('/proc/self/task')
    except OSError:  # no /proc: the calling thread's affinity is what new threads get
        return
    for tid in threads:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that ended meanwhile
            pass


def apply_after_import(caps: ComputeCaps, framework: str) -> None:
    """PyTorch's intra-op and inter-op threads (its API, not its environment, decides them)."""
    if framework == 'pytorch':
        # pylint: disable=import-outside-toplevel
        from algorithmic_efficiency.workloads import pytorch_utils  # torch: this trial's anyway

        pytorch_utils.set_num_threads(caps.threads, interop=caps.threads)


def record(caps: ComputeCaps, environ: MutableMapping[str, str] | None = None) -> dict[str, Any]:
    """What ``trial.json`` records of the trial's share (documented in the concurrency guide)."""
    environ = os.environ if environ is None else environ
    return {
        'compute.slot': caps.slot,
        'compute.cpus': list(caps.cpus) if caps.cpus is not None else None,
        'compute.threads': caps.threads,
        'compute.concurrent_trials': caps.concurrent_trials,
        'compute.env': {
            # The cache's path as metadata.json shows paths: without the home directory.
            name: redact.display_path(environ[name]) if name == JAX_CACHE_DIR_ENV
            else environ[name]
            for name in (*THREAD_ENV_VARS, XLA_THREADS_ENV, JAX_CACHE_DIR_ENV)
            if name in environ
        },
        'devices.visible': environ.get('CUDA_VISIBLE_DEVICES'),
    }


def rss_bytes() -> int:
    """This process's resident memory (a worker's, checked by the driver between trials)."""
    import psutil  # noqa: PLC0415  (a dependency; telemetry imports it too)

    return int(psutil.Process().memory_info().rss)


def default_rss_limit(slots: int) -> int:
    """A worker's memory limit between trials: half this machine's memory shared among `slots`."""
    import psutil  # noqa: PLC0415  (a dependency)

    return int(psutil.virtual_memory().total // (2 * max(1, slots)))


def claim_slot(lock_dir: str, slots: int, wait_sec: float = 0.0) -> tuple[int | None, int | None]:
    """The first free slot index below `slots`, held by an ``flock`` on ``lock_dir/slot-K.lock``.

    Returns ``(index, fd)``: keep ``fd`` open for as long as the slot is held;
    the lock goes when the process ends, however it ends, so a replacement
    worker can take the slot again. When every slot is held, tries again for
    up to `wait_sec` (a replaced worker may still be exiting), then returns
    ``(None, None)``.
    """
    import fcntl  # noqa: PLC0415  (POSIX only; Ray's workers run on Linux and macOS)

    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    deadline = time.monotonic() + wait_sec
    while True:
        for index in range(slots):
            fd = os.open(os.path.join(lock_dir, f'slot-{index}.lock'), os.O_RDWR | os.O_CREAT,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by another worker
                os.close(fd)
                continue
            return index, fd
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.1)


def row_columns(caps: ComputeCaps) -> dict[str, str]:
    """What a capped trial adds to every row of its ``metrics.csv``: the GPU(s) it saw.

    ``devices.visible`` (``CUDA_VISIBLE_DEVICES``, e.g. ``'1'``) on a machine
    with GPUs, so rows of trials that ran side by side name their device;
    nothing without GPUs.
    """
    return {} if caps.gpus is None else {'devices.visible': ','.join(caps.gpus)}
