"""A trial's checkpoints: everything its future depends on, written atomically, read back exactly.

One checkpoint is a directory ``run_<N>/checkpoints/step_<S>/`` holding

* ``state.jax/`` (JAX, written by ``orbax-checkpoint``) or ``state.pt``
  (PyTorch, ``torch.save``): the parameters, the model state (batch-norm
  statistics) and the submission's optimizer state;
* ``loop.pkl``: the rest of the loop, a plain dict (:class:`LoopState`): the
  step, the batches drawn from the input queue, the eval schedule, the
  submission clock, the time spent checkpointing, the energy counter, the
  trial's result so far (its rows, time to target, ``eval_results``), the
  ``train_state`` mapping, and the host RNGs (Python, NumPy, torch).

The trial's own RNG keys (init, update, data selection, eval) are derived from
its seed, so they are not saved: set-up derives them again. The data position
is the number of batches drawn: the input queue is rebuilt from the same seed
and that many batches are skipped (:class:`CountingQueue`), which is exact for
every deterministic pipeline (MNIST's permutations, CIFAR-10's permutations
and augmentation, its prefetcher) at the cost of re-reading the skipped
batches once per resume.

Atomicity: a checkpoint is written under ``checkpoints/.tmp-step_<S>-<pid>``
and renamed to ``step_<S>`` once complete (``os.rename`` of a directory is
atomic on POSIX); readers only look at ``step_<S>``, so no torn checkpoint is
ever read. A checkpoint that fails to load anyway (a damaged disk, a file
truncated by hand) is :class:`CheckpointError`: the caller warns and starts
the trial afresh.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Iterator
from typing import Any

from algorithmic_efficiency import layout
from algorithmic_efficiency.workloads.checkpoint_state import (  # noqa: F401  (re-exported)
    JAX_DIR,
    TORCH_FILE,
    CheckpointError,
    check_model_files,
    host_rngs,
    load_model,
    save_model,
    set_host_rngs,
)

CHECKPOINTS_DIR = layout.CHECKPOINTS_DIR
LOOP_FILE = 'loop.pkl'
_STEP_DIR_RE = layout.CHECKPOINT_STEP_RE


class CountingQueue:
    """The input queue, counting the batches drawn: the data position a checkpoint saves."""

    def __init__(self, queue: Iterator[Any], drawn: int = 0):
        self._queue = iter(queue)
        self.drawn = drawn

    def __iter__(self) -> CountingQueue:
        return self

    def __next__(self) -> Any:
        batch = next(self._queue)
        self.drawn += 1
        return batch

    def skip(self, count: int) -> None:
        """Draws and drops `count` batches: the position of a resumed trial."""
        for _ in range(count):
            next(self._queue)
        self.drawn += count


def checkpoints_dir(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINTS_DIR)


def list_steps(run_dir: str) -> list[int]:
    """Steps of the complete checkpoints in `run_dir`, oldest first (temp dirs never count)."""
    root = checkpoints_dir(run_dir)
    if not os.path.isdir(root):
        return []
    return sorted(int(m.group(1)) for m in map(_STEP_DIR_RE.match, os.listdir(root)) if m)


def step_dir(run_dir: str, step: int) -> str:
    return os.path.join(checkpoints_dir(run_dir), f'step_{step}')


def latest(run_dir: str) -> str | None:
    """The newest complete checkpoint's directory, or None."""
    steps = list_steps(run_dir)
    return step_dir(run_dir, steps[-1]) if steps else None


def set_aside(run_dir: str) -> str | None:
    """Moves `run_dir`'s checkpoints to ``attempt-<K>.checkpoints`` (a fresh start keeps them)."""
    root = checkpoints_dir(run_dir)
    if not os.path.isdir(root):
        return None
    k = 1
    while os.path.exists(os.path.join(run_dir, f'attempt-{k}.{CHECKPOINTS_DIR}')):
        k += 1
    target = os.path.join(run_dir, f'attempt-{k}.{CHECKPOINTS_DIR}')
    os.replace(root, target)
    return target


# --- Whole checkpoints.
def write(run_dir: str, step: int, framework: str, model: tuple[Any, Any, Any],
          loop: dict[str, Any], keep: int) -> str:
    """Writes checkpoint `step` atomically, then keeps only the newest `keep`; returns its dir.

    Raises:
      CheckpointError: the submission's state cannot be saved (naming its type).
    """
    root = checkpoints_dir(run_dir)
    os.makedirs(root, exist_ok=True)
    for name in os.listdir(root):  # a write killed midway (one writer per trial: the sweep lock)
        if name.startswith('.tmp-'):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    tmp = os.path.join(root, f'.tmp-step_{step}-{os.getpid()}')
    os.makedirs(tmp)
    try:
        save_model(framework, tmp, *model)
        with open(os.path.join(tmp, LOOP_FILE), 'wb') as f:
            pickle.dump(loop, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        final = step_dir(run_dir, step)
        shutil.rmtree(final, ignore_errors=True)  # the same step again (an eval and a tick)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(root)
    for old in list_steps(run_dir)[:-max(keep, 1)]:
        shutil.rmtree(step_dir(run_dir, old), ignore_errors=True)
    return final


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_loop(path: str) -> dict[str, Any]:
    """The loop part of checkpoint `path`.

    Raises:
      CheckpointError: missing or damaged (naming the file).
    """
    file = os.path.join(path, LOOP_FILE)
    try:
        with open(file, 'rb') as f:
            loop = pickle.load(f)
    except Exception as e:  # noqa: BLE001  any damage reads as "not usable"
        raise CheckpointError(f'{file}: {type(e).__name__}: {e}') from e
    if not isinstance(loop, dict) or 'step' not in loop:
        raise CheckpointError(f'{file}: not a checkpoint of this runner')
    return loop
