"""Importing a framework in a background thread while the runner does its own start-up work.

A one-step run spends most of its start-up importing the framework: on this
project's 2-core machine ``import torch`` takes 1.3-3.5 s, and PyTorch's first
optimizer construction imports ``torch._dynamo`` for another 1.2-3 s (even with
``TORCH_COMPILE_DISABLE=1``); JAX, flax and optax take ~0.8 s. Meanwhile the
runner checks its inputs, opens the log directory, loads the data and writes
``metadata.json`` and ``packages.txt``, partly waiting on subprocesses (git,
dpkg-query) and files. :func:`start` runs the imports in a daemon thread so the
two overlap; whoever needs a module first simply waits for it (Python's import
locks make concurrent imports of one module safe).

Only the framework the run uses is imported; an import that fails here is
left to fail again, with the runner's message, where the run needs it.
"""

from __future__ import annotations

import importlib
import threading

# Per framework: what a trial imports, in the order it needs it.
MODULES = {
    # torch._dynamo: imported by the first torch.optim optimizer's constructor.
    'pytorch': ('torch', 'torch.nn', 'torch._dynamo'),
    'jax': ('jax', 'jax.numpy', 'flax.linen', 'optax'),
}


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (reported by the runner's own import)
            return


def start(framework: str) -> threading.Thread | None:
    """Starts importing ``framework``'s modules in a daemon thread (None if unknown).

    Call it after the environment variables the framework reads at import
    (``XLA_PYTHON_CLIENT_PREALLOCATE``, ``CUDA_DEVICE_ORDER``) are set.
    """
    names = MODULES.get(framework)
    if not names:
        return None
    thread = threading.Thread(
        target=_import_all, args=(names,), name=f'preload-{framework}', daemon=True
    )
    thread.start()
    return thread
