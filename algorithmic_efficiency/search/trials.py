"""Drawing trials from a search space: scrambled Halton points or uniform random ones."""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from algorithmic_efficiency.search import halton as halton_lib
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.search.space import Reporter, SearchSpace, quoted, show

#: Trial-generation algorithms accepted by :func:`generate_trials`.
ALGORITHMS = ('halton', 'random')


def _check_positive_int(value: Any, name: str) -> int:
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ValueError(f'{name} must be an integer >= 1, got '
                         f'{show(value)}') from None
    if value < 1:
        raise ValueError(f'{name} must be an integer >= 1, got {value}')
    return value


def generate_trials(space: SearchSpace, num_trials: int, seed: int,
                    algorithm: str = 'halton') -> list[dict]:
    """The first ``num_trials`` trials of ``space``.

    Args:
      space: a parsed search space.
      num_trials: how many trials, >= 1.
      seed: non-negative int; the same seed gives the same trials in the
        same order (unused for a fixed list of trials).
      algorithm: ``'halton'`` (scrambled Halton points) or ``'random'``
        (independent uniform draws from ``numpy.random.default_rng``).

    Returns:
      A list of dicts mapping hyperparameter names (in search-space order)
      to plain Python floats / ints / strs / bools.

    Raises:
      ValueError: ``num_trials`` < 1, a bad seed or an unknown algorithm.
      SearchSpaceError: more trials requested than a fixed list holds.
    """
    num_trials = _check_positive_int(num_trials, 'num_trials')
    if algorithm not in ALGORITHMS:
        raise ValueError(f'unknown search algorithm {show(algorithm)}; '
                         f'choose one of {quoted(ALGORITHMS)}')
    seed = seeds.validate_seed(seed)

    if space.fixed_trials is not None:
        available = len(space.fixed_trials)
        if num_trials > available:
            raise Reporter(space.source).error(
                f'the list of trials has {available} trial'
                f'{"" if available == 1 else "s"} but {num_trials} were '
                f'requested; ask for at most {available} trials or add more '
                'to the list')
        return [dict(t) for t in space.fixed_trials[:num_trials]]

    dims = space.dimensions
    if algorithm == 'halton':
        unit = halton_lib.halton(num_trials, len(dims), seed)
    else:
        unit = np.random.default_rng(seed).random((num_trials, len(dims)))
    columns = [dim.from_unit(unit[:, j]) for j, dim in enumerate(dims)]
    return [{dim.name: columns[j][i] for j, dim in enumerate(dims)}
            for i in range(num_trials)]
