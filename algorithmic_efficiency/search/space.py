"""Search-space values: :class:`Dimension`, :class:`SearchSpace` and their error.

The file format is documented in :mod:`.spaces`; parsing is :mod:`.parsing`,
drawing trials :mod:`.trials`. Only numpy is imported here.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from algorithmic_efficiency.errors import SearchSpaceError as SearchSpaceError  # re-exported

# The keys of a dimension: a range's, or a list of feasible points.
SCALINGS = ('linear', 'log')
TYPES = ('float', 'int')
RANGE_KEYS = ('min', 'max', 'scaling', 'type')
FEASIBLE_KEY = 'feasible_points'
DIMENSION_KEYS = RANGE_KEYS + (FEASIBLE_KEY,)

NAME_RE = re.compile(r'[A-Za-z0-9_.\-]+')  # a hyperparameter's name
MAX_SHOWN = 60  # characters of a bad value shown in an error message


def show(value: Any) -> str:
    """A short one-line ``repr`` for error messages."""
    text = repr(value)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN - 3] + '...'
    return text


def quoted(keys) -> str:
    """``'a', 'b'``: names listed in a message."""
    return ', '.join(repr(k) for k in keys)


def is_real_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and
            not isinstance(value, (bool, np.bool_)))


def is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, np.bool_)) or is_real_number(value)


def plain(value: Any) -> Any:
    """numpy scalars -> the equivalent Python scalar; others unchanged."""
    return value.item() if isinstance(value, np.generic) else value


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One hyperparameter of a search space.

    Attributes:
      name: the hyperparameter name.
      kind: ``'range'`` or ``'feasible'``.
      min, max: inclusive bounds of a range (Python float, or int when
        ``type == 'int'``); None for feasible points.
      scaling: ``'linear'`` or ``'log'`` for a range; None otherwise.
      type: ``'float'`` or ``'int'`` for a range; None otherwise.
      feasible_points: tuple of the allowed values; None for a range.
    """
    name: str
    kind: str
    min: float | int | None = None
    max: float | int | None = None
    scaling: str | None = None
    type: str | None = None
    feasible_points: tuple[Any, ...] | None = None

    def to_json(self) -> dict:
        """The normalised JSON form (all defaults spelled out)."""
        if self.kind == 'feasible':
            return {FEASIBLE_KEY: list(self.feasible_points)}
        return {
            'min': self.min,
            'max': self.max,
            'scaling': self.scaling,
            'type': self.type,
        }

    def from_unit(self, u) -> list:
        """Maps values ``u`` in ``[0, 1)`` to Python values of this dimension."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == 'feasible':
            n = len(self.feasible_points)
            index = np.clip(np.floor(u * n).astype(np.int64), 0, n - 1)
            return [self.feasible_points[i] for i in index.tolist()]
        low = self.min
        high = self.max + 1 if self.type == 'int' else self.max
        if self.scaling == 'log':
            log_low, log_high = math.log(low), math.log(high)
            values = np.exp(log_low + u * (log_high - log_low))
        else:
            values = low + u * (high - low)
        if self.type == 'int':
            values = np.floor(values)
        values = np.clip(values, self.min, self.max)
        if self.type == 'int':
            return [int(v) for v in values.tolist()]
        return [float(v) for v in values.tolist()]


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """A parsed search space: either ``dimensions`` or ``fixed_trials``.

    Attributes:
      dimensions: the hyperparameters in file order, or None for a list of
        fixed trials.
      fixed_trials: the trials of a top-level JSON list, in order, or None.
      source: the file it was loaded from, if any (used in error messages).
    """
    dimensions: tuple[Dimension, ...] | None
    fixed_trials: tuple[dict, ...] | None
    source: str | None = None

    @property
    def is_fixed(self) -> bool:
        """True for a fixed list of trials."""
        return self.fixed_trials is not None

    def names(self) -> list[str]:
        """Hyperparameter names, in the order trials list them."""
        if self.fixed_trials is not None:
            return list(self.fixed_trials[0])
        return [d.name for d in self.dimensions]

    def to_json(self) -> dict | list:
        """The normalised space (e.g. for metadata.json); parses back equal."""
        if self.fixed_trials is not None:
            return [dict(t) for t in self.fixed_trials]
        return {d.name: d.to_json() for d in self.dimensions}


class Reporter:
    """Builds one-line error messages prefixed with the source file."""

    def __init__(self, source: str | None):
        self.source = source

    def error(self, *parts: str) -> SearchSpaceError:
        prefix = [self.source] if self.source else []
        return SearchSpaceError(': '.join(prefix + list(parts)))
