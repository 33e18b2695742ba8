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
import random
import re
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np

CHECKPOINTS_DIR = 'checkpoints'
LOOP_FILE = 'loop.pkl'
TORCH_FILE = 'state.pt'
JAX_DIR = 'state.jax'
_STEP_DIR_RE = re.compile(r'^step_(\d+)$')


class CheckpointError(Exception):
    """A checkpoint that cannot be written (state not saveable) or read (damaged)."""


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


# --- The framework's state.
def _torch_state(obj: Any, what: str) -> Any:
    """A torch object's saveable form: its state_dict, or the value (tensors, numbers, dicts)."""
    if hasattr(obj, 'state_dict') and hasattr(obj, 'load_state_dict'):
        return {'__state_dict__': obj.state_dict()}
    if isinstance(obj, dict):
        return {k: _torch_state(v, f'{what}[{k!r}]') for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(_torch_state(v, f'{what}[{i}]') for i, v in enumerate(obj))
    _check_leaf(obj, what)
    return obj


def _check_leaf(obj: Any, what: str) -> None:
    import torch  # pylint: disable=import-outside-toplevel  (PyTorch trials only)

    if obj is None or isinstance(obj, (bool, int, float, str, np.ndarray, np.generic,
                                       torch.Tensor)) or hasattr(obj, '_fields'):
        return
    raise CheckpointError(
        f'{what} is a {type(obj).__module__}.{type(obj).__qualname__}, which a checkpoint '
        'cannot save: keep the optimizer state a pytree of tensors or a dict of objects with '
        'state_dict()/load_state_dict(), or run with --checkpoint_interval_sec=0'
    )


def _torch_load_into(live: Any, saved: Any) -> Any:
    """`live` (freshly set up) with `saved`'s values; state_dict objects loaded in place."""
    if isinstance(saved, dict) and '__state_dict__' in saved and len(saved) == 1:
        live.load_state_dict(saved['__state_dict__'])
        return live
    if isinstance(saved, dict) and isinstance(live, dict):
        for k, v in saved.items():
            live[k] = _torch_load_into(live.get(k), v)
        return live
    if isinstance(saved, (list, tuple)) and isinstance(live, (list, tuple)) \
            and len(saved) == len(live):
        return type(live)(_torch_load_into(a, b) for a, b in zip(live, saved, strict=True))
    return saved


def _check_jax_tree(tree: Any) -> None:
    import jax  # pylint: disable=import-outside-toplevel  (JAX trials only)

    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if not isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, bool)):
            where = 'optimizer_state' + jax.tree_util.keystr(path)
            raise CheckpointError(
                f'{where} is a {type(leaf).__module__}.{type(leaf).__qualname__}, which a '
                'checkpoint cannot save: keep the optimizer state a pytree of arrays, or run '
                'with --checkpoint_interval_sec=0'
            )


def _jax_tree(params: Any, model_state: Any, optimizer_state: Any) -> dict[str, Any]:
    tree = {'params': params, 'model_state': model_state, 'optimizer_state': optimizer_state}
    return {k: v for k, v in tree.items() if v is not None}


def save_model(framework: str, path: str, params: Any, model_state: Any,
               optimizer_state: Any) -> None:
    """Writes the framework's part into the (temporary) checkpoint directory `path`."""
    if framework == 'jax':
        import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel  (~1 s import)

        tree = _jax_tree(params, model_state, optimizer_state)
        _check_jax_tree(tree)
        with ocp.StandardCheckpointer() as checkpointer:
            checkpointer.save(os.path.join(path, JAX_DIR), tree)
            checkpointer.wait_until_finished()
        return
    import torch  # pylint: disable=import-outside-toplevel

    state = {'params': _torch_state(params, 'params'),
             'model_state': _torch_state(model_state, 'model_state'),
             'optimizer_state': _torch_state(optimizer_state, 'optimizer_state')}
    torch.save(state, os.path.join(path, TORCH_FILE))


def load_model(framework: str, path: str, params: Any, model_state: Any,
               optimizer_state: Any) -> tuple[Any, Any, Any]:
    """The saved (params, model_state, optimizer_state), shaped like the fresh ones given."""
    if framework == 'jax':
        import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel

        target = _jax_tree(params, model_state, optimizer_state)
        with ocp.StandardCheckpointer() as checkpointer:
            tree = checkpointer.restore(os.path.join(path, JAX_DIR), target)
        return (tree.get('params'), tree.get('model_state'), tree.get('optimizer_state'))
    import torch  # pylint: disable=import-outside-toplevel

    state = torch.load(os.path.join(path, TORCH_FILE), weights_only=False)
    return (_torch_load_into(params, state['params']),
            _torch_load_into(model_state, state['model_state']),
            _torch_load_into(optimizer_state, state['optimizer_state']))


# --- Host RNGs (a submission may draw from any of them).
def host_rngs() -> dict[str, Any]:
    out: dict[str, Any] = {'python': random.getstate(), 'numpy': np.random.get_state()}
    torch = _torch_if_loaded()
    if torch is not None:
        out['torch'] = torch.random.get_rng_state()
    return out


def set_host_rngs(states: dict[str, Any]) -> None:
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch = _torch_if_loaded()
    if torch is not None and 'torch' in states:
        torch.random.set_rng_state(states['torch'])


def _torch_if_loaded() -> Any:
    import sys  # pylint: disable=import-outside-toplevel

    return sys.modules.get('torch')


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


def check_model_files(framework: str, path: str) -> None:
    """Raises CheckpointError if the framework's part of checkpoint `path` is missing."""
    name = JAX_DIR if framework == 'jax' else TORCH_FILE
    file = os.path.join(path, name)
    if not os.path.exists(file):
        raise CheckpointError(f'{file} is missing')
    if framework != 'jax':
        import torch  # pylint: disable=import-outside-toplevel

        try:  # a truncated or damaged file fails here, before any row is set aside
            torch.load(file, weights_only=False, map_location='cpu')
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f'{file}: {type(e).__name__}: {e}') from e


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
