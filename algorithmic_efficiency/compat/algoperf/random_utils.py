"""``algoperf.random_utils``: ``PRNGKey``, ``split`` and ``fold_in`` for either framework.

With JAX they are ``jax.random``'s. With PyTorch they are NumPy stand-ins on
integer seeds, behaving like the peer's: a seed (an int or an array of ints)
is reduced into ``[0, 2**31 - 1)`` and seeds a ``numpy.random.RandomState``;
``split`` draws ``num`` pairs of ``uint32``, ``PRNGKey`` is the first pair of a
``split`` and ``fold_in`` returns ``[new_seed, data]``.

The peer picks the framework from its ``--framework`` flag; library code here
reads no flags, so the runner calls :func:`set_framework` before loading the
submission (NumPy until then). Only NumPy is imported here; JAX on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_UINT32 = 2**31 - 1  # the peer's name: RandomState seeds must stay below it
SeedType = int | list | np.ndarray

_framework: str | None = None


def set_framework(framework: str | None) -> None:
    """``'jax'`` for ``jax.random``, anything else for the NumPy versions."""
    global _framework
    _framework = framework


def _jax_random():
    import jax.random  # pylint: disable=import-outside-toplevel

    return jax.random


def _reduced(seed: SeedType) -> Any:
    """A valid ``RandomState`` seed: every int taken modulo ``MAX_UINT32``."""
    if isinstance(seed, (int, np.integer)):
        return int(seed) % MAX_UINT32
    return [int(s) % MAX_UINT32 for s in np.asarray(seed).ravel().tolist()]


def _numpy_split(seed: SeedType, num: int = 2) -> np.ndarray:
    state = np.random.RandomState(seed=_reduced(seed))
    return state.randint(0, MAX_UINT32, size=[num, 2], dtype=np.uint32)


def split(seed: SeedType, num: int = 2) -> Any:
    """``num`` new keys from ``seed``."""
    if _framework == 'jax':
        return _jax_random().split(seed, num)
    return _numpy_split(seed, num)


def fold_in(seed: SeedType, data: Any) -> Any | list[Any]:
    """A new key from ``seed`` and an integer ``data`` (e.g. the step)."""
    if _framework == 'jax':
        return _jax_random().fold_in(seed, data)
    state = np.random.RandomState(seed=_reduced(seed))
    return [state.randint(0, MAX_UINT32, dtype=np.uint32), data]


def PRNGKey(seed: SeedType) -> Any:  # noqa: N802  (the peer's name)
    """The key for an integer seed."""
    if _framework == 'jax':
        return _jax_random().PRNGKey(seed)
    return _numpy_split(seed, 2)[0]
