"""The framework's part of a trial checkpoint: parameters, model state, optimizer state, RNGs.

``training.checkpoint`` owns the files and their atomicity; this module (in
the workloads' room, where framework imports belong) turns the live objects
into something saveable and back:

* JAX: one pytree ``{params, model_state, optimizer_state}`` written with
  ``orbax-checkpoint``'s ``StandardCheckpointer`` and restored into the shape
  of a freshly set-up trial (so optax's named tuples come back as such);
* PyTorch: ``torch.save`` of the same three, where any object with
  ``state_dict``/``load_state_dict`` (the module, ``torch.optim`` optimizers,
  LR schedulers: the peer's ``{'optimizer': ..., 'scheduler': ...}``) is saved
  as its state dict and loaded *into* the freshly set-up object, so the
  optimizer keeps pointing at the module's own parameters.

State that is neither (a generator, a lambda, a file) is a :class:`CheckpointError`
naming the path and type.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import numpy as np

TORCH_FILE = 'state.pt'
JAX_DIR = 'state.jax'


class CheckpointError(Exception):
    """A checkpoint that cannot be written (state not saveable) or read (damaged)."""


def _torch_state(obj: Any, what: str) -> Any:
    """A torch object's saveable form: its state_dict, or the value (tensors, numbers, dicts)."""
    if hasattr(obj, 'state_dict') and hasattr(obj, 'load_state_dict'):
        return {'__state_dict__': obj.state_dict()}
    if isinstance(obj, dict):
        return {k: _torch_state(v, f'{what}[{k!r}]') for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(_torch_state(v, f'{what}[{i}]') for i, v in enumerate(obj))
    if callable(obj) and not isinstance(obj, type):  # code, not state: the live one is kept
        return {'__live__': True}
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
    if isinstance(saved, dict) and len(saved) == 1 and saved.get('__live__') is True:
        return live
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


def _jax_leaves(params: Any, model_state: Any, optimizer_state: Any) -> tuple[dict, list, Any]:
    """The state as ``{index: array}`` (what is saved), the leaves, and the tree's structure.

    Functions in the tree (the peer's JAX baselines keep ``opt_update_fn`` in
    their optimizer state) are code, not state: they are not saved, and a
    restore keeps the freshly set-up trial's. Anything else that is not an
    array or a number cannot be saved (:class:`CheckpointError`).
    """
    import jax  # pylint: disable=import-outside-toplevel  (JAX trials only)

    tree = {'params': params, 'model_state': model_state, 'optimizer_state': optimizer_state}
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(tree)
    saved = {}
    for i, (path, leaf) in enumerate(with_paths):
        if isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, bool)):
            saved[str(i)] = leaf
        elif not callable(leaf):
            where = jax.tree_util.keystr(path).lstrip('[').replace("'", '', 2).replace(']', '', 1)
            raise CheckpointError(
                f'{where} is a {type(leaf).__module__}.{type(leaf).__qualname__}, which a '
                'checkpoint cannot save: keep the optimizer state a pytree of arrays, or run '
                'with --checkpoint_interval_sec=0'
            )
    return saved, [leaf for _, leaf in with_paths], treedef


def save_model(framework: str, path: str, params: Any, model_state: Any,
               optimizer_state: Any) -> None:
    """Writes the framework's part into the (temporary) checkpoint directory `path`."""
    if framework == 'jax':
        import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel  (~1 s import)

        saved, _, _ = _jax_leaves(params, model_state, optimizer_state)
        with ocp.StandardCheckpointer() as checkpointer:
            checkpointer.save(os.path.join(path, JAX_DIR), saved)
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
        import jax  # pylint: disable=import-outside-toplevel
        import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel

        target, leaves, treedef = _jax_leaves(params, model_state, optimizer_state)
        with ocp.StandardCheckpointer() as checkpointer:
            restored = checkpointer.restore(os.path.join(path, JAX_DIR), target)
        leaves = [restored.get(str(i), leaf) for i, leaf in enumerate(leaves)]
        tree = jax.tree_util.tree_unflatten(treedef, leaves)
        return tree['params'], tree['model_state'], tree['optimizer_state']
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
    return sys.modules.get('torch')


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


