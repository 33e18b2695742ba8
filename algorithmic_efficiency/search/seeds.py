"""Seed handling: one user-facing seed, many independent derived seeds.

A run has a single base seed (``--rng_seed``, or one drawn from the OS with
:func:`draw_seed` and recorded). Every consumer of randomness derives its own
seed from it with :func:`derive_seed` and a *path* naming the consumer, e.g.::

    search_seed = derive_seed(rng_seed, 'search')
    trial_seed = derive_seed(rng_seed, 'trial', 3)
    data_seed = derive_seed(trial_seed, 'data')

Derived seeds are stable across processes, platforms and Python versions
(strings are hashed with SHA-256, never Python's randomised ``hash()``), and
distinct paths give statistically independent seeds via
:class:`numpy.random.SeedSequence`. All seeds are in ``[0, 2**31 - 1]`` so
they fit every framework's seed argument (``jax.random.PRNGKey``,
``torch.manual_seed``, ``numpy.random.default_rng``).

Only numpy is imported here: no JAX, no torch.
"""
from __future__ import annotations

import hashlib
import json
import operator
import secrets

import numpy as np

__all__ = ['MAX_SEED', 'derive_seed', 'draw_seed', 'validate_seed']

#: Largest seed returned by :func:`derive_seed` and :func:`draw_seed`.
MAX_SEED = 2**31 - 1


def _as_int(value) -> int:
    """``operator.index(value)`` for ints (incl. numpy ints), but not bools."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError('bool is not a seed')
    return operator.index(value)


def validate_seed(seed, what: str = 'seed') -> int:
    """Returns ``seed`` as a Python int; ValueError unless it is an int >= 0."""
    try:
        value = _as_int(seed)
    except TypeError:
        raise ValueError(f'{what} must be a non-negative integer, got '
                         f'{seed!r} ({type(seed).__name__})') from None
    if value < 0:
        raise ValueError(
            f'{what} must be a non-negative integer, got {seed!r}')
    return value


def _path_spawn_key(path) -> tuple[int, ...]:
    """Hashes ``path`` to four 32-bit words, unambiguously by element type."""
    encoded = []
    for i, element in enumerate(path):
        if isinstance(element, str):
            encoded.append(['s', element])
            continue
        try:
            encoded.append(['i', str(_as_int(element))])
        except TypeError:
            raise ValueError(
                f'derive_seed path element {i} must be an int or a str, got '
                f'{element!r} ({type(element).__name__})') from None
    text = json.dumps(encoded, ensure_ascii=True, separators=(',', ':'))
    digest = hashlib.sha256(text.encode('ascii')).digest()
    return tuple(
        int.from_bytes(digest[j:j + 4], 'little') for j in range(0, 16, 4))


def derive_seed(seed: int, *path: int | str) -> int:
    """A deterministic child seed in ``[0, 2**31 - 1]`` for ``(seed, *path)``.

    Args:
      seed: the base seed, a non-negative int.
      *path: ints and/or strings naming the consumer, e.g. ``'trial', 3``.
        Elements are typed and delimited: ``derive_seed(s, 3)`` differs from
        ``derive_seed(s, '3')``, and ``derive_seed(s, 'a', 'b')`` from
        ``derive_seed(s, 'ab')``. An empty path is allowed (and differs from
        ``seed`` itself).

    Returns:
      The same int for the same inputs in any process; different paths or
      base seeds give (with overwhelming probability) different seeds.

    Raises:
      ValueError: ``seed`` is negative or not an int, or a path element is
        neither an int nor a str.
    """
    base = validate_seed(seed)
    sequence = np.random.SeedSequence(entropy=base,
                                      spawn_key=_path_spawn_key(path))
    word = int(sequence.generate_state(1, dtype=np.uint32)[0])
    return word & MAX_SEED


def draw_seed() -> int:
    """A fresh seed in ``[0, 2**31 - 1]`` from the OS entropy source.

    Used when the user gives no ``--rng_seed``; the caller must record it so
    that the run can be reproduced.
    """
    return secrets.randbits(31)
