"""Tuning search spaces: parsing, validation and trial generation.

## Search-space file format

A search space is a JSON file (conventionally `tuning_search_space.json`)
whose top level is an object mapping each hyperparameter name to a
*dimension*:

```json
{
  "learning_rate":    {"min": 1e-4, "max": 1e-2, "scaling": "log"},
  "one_minus_beta_1": {"min": 0.02, "max": 0.3, "scaling": "log"},
  "epsilon":          {"feasible_points": [1e-8, 1e-6]},
  "warmup_steps":     {"min": 0, "max": 100, "type": "int"}
}
```

Names are non-empty strings of letters, digits, `_`, `.` and `-`. Each
trial is a dict with one value per hyperparameter, in the file's order.

A dimension is exactly one of:

* **a range**: `min` and `max` (numbers, `min <= max`, both inclusive) with
  * `scaling`: `"linear"` (default) samples uniformly in the value;
    `"log"` samples uniformly in its logarithm (needs `min > 0`), so that
    e.g. `[1e-4, 1e-2]` puts as many trials in `[1e-4, 1e-3]` as in
    `[1e-3, 1e-2]`. Use it for learning rates, `1 - beta`, weight decay.
  * `type`: `"float"` (default) or `"int"`. Integer dimensions need
    whole-number bounds; every integer in `[min, max]` can be drawn (with
    `"log"`, smaller integers get proportionally more of the trials).
* **a list of feasible points**: `{"feasible_points": [...]}`, a non-empty
  list of numbers, strings or booleans; each trial takes one of them, all
  equally likely (list a value twice to weight it double). A hyperparameter
  fixed for the whole study is `{"feasible_points": [value]}`.

Instead of a space, the top level may be a **list of trials**, each an object
of fixed values; every object must set the same hyperparameters:

```json
[
  {"learning_rate": 0.001, "one_minus_beta_1": 0.1, "epsilon": 1e-8},
  {"learning_rate": 0.003, "one_minus_beta_1": 0.1, "epsilon": 1e-8}
]
```

The run then uses the first `num_tuning_trials` of these, in order, and it
is an error to ask for more trials than the list has.

### How trials are drawn

Each trial is a point `u` in the unit cube `[0, 1)^d`, one coordinate per
hyperparameter in file order, mapped through its dimension:

| dimension | value |
| --- | --- |
| linear float | `min + u * (max - min)` |
| log float | `exp(log(min) + u * (log(max) - log(min)))` |
| int | the float rule over `[min, max + 1)`, rounded down |
| feasible points | `points[floor(u * len(points))]` |

The points come from a **scrambled Halton sequence** (`halton`, the
default), which covers the space far more evenly than independent uniform
draws for the tens of trials a study can afford, or from
`numpy.random.default_rng` (`random`). Both are seeded: the same seed gives
the same trials in the same order, and asking for more trials keeps the
first ones unchanged.

Mistakes (an unknown key, `min > max`, `"scaling": "logarithmic"`, a
bound written as a string, log scaling of a range reaching 0, invalid JSON)
are reported as `SearchSpaceError` with a one-line message naming the
file, the hyperparameter and the fix, e.g.

```
tuning_search_space.json: 'learning_rate': 'scaling' must be 'linear' or 'log', got 'logarithmic'
```

Only numpy is imported here: no JAX, no torch.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import operator
import os
import re
from typing import Any

import numpy as np

from algorithmic_efficiency.search import halton as halton_lib
from algorithmic_efficiency.search import seeds as random_utils

__all__ = [
    'ALGORITHMS',
    'Dimension',
    'SearchSpace',
    'SearchSpaceError',
    'generate_trials',
    'load_search_space',
    'parse_search_space',
]

#: Trial-generation algorithms accepted by :func:`generate_trials`.
ALGORITHMS = ('halton', 'random')

SCALINGS = ('linear', 'log')
TYPES = ('float', 'int')
RANGE_KEYS = ('min', 'max', 'scaling', 'type')
FEASIBLE_KEY = 'feasible_points'
DIMENSION_KEYS = RANGE_KEYS + (FEASIBLE_KEY,)

_NAME_RE = re.compile(r'[A-Za-z0-9_.\-]+')
_MAX_SHOWN = 60


class SearchSpaceError(ValueError):
    """An invalid search space; the message is one line naming the fix."""


def _show(value: Any) -> str:
    """A short one-line ``repr`` for error messages."""
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN - 3] + '...'
    return text


def _quoted(keys) -> str:
    return ', '.join(repr(k) for k in keys)


def _is_real_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and
            not isinstance(value, (bool, np.bool_)))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, np.bool_)) or _is_real_number(value)


def _plain(value: Any) -> Any:
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


class _Reporter:
    """Builds one-line error messages prefixed with the source file."""

    def __init__(self, source: str | None):
        self.source = source

    def error(self, *parts: str) -> SearchSpaceError:
        prefix = [self.source] if self.source else []
        return SearchSpaceError(': '.join(prefix + list(parts)))


def _check_name(name: Any, report: _Reporter, *where: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise report.error(
            *where, _show(name),
            "hyperparameter names must be non-empty strings of letters, "
            "digits, '_', '.' or '-'; rename it")
    return name


def _number(spec: dict, key: str, name: str, report: _Reporter) -> float | int:
    value = spec[key]
    if not _is_real_number(value):
        hint = ''
        if isinstance(value, str):
            try:
                float(value)
                hint = '; write it without quotes'
            except ValueError:
                pass
        got = ('true' if value is True else 'false' if value is False else
               _show(value))
        raise report.error(
            repr(name), f'{key!r} must be a number, got {got} '
            f'({type(value).__name__}){hint}')
    value = _plain(value)
    if not math.isfinite(value):
        raise report.error(repr(name),
                           f'{key!r} must be a finite number, got {value!r}')
    return value


def _choice(spec: dict, key: str, choices: tuple[str, ...], name: str,
            report: _Reporter) -> str:
    value = spec.get(key, choices[0])
    if not isinstance(value, str) or value not in choices:
        options = ' or '.join(repr(c) for c in choices)
        raise report.error(repr(name),
                           f'{key!r} must be {options}, got {_show(value)}')
    return value


def _parse_dimension(name: str, spec: Any, report: _Reporter) -> Dimension:
    if not isinstance(spec, dict):
        hint = ''
        if _is_scalar(spec):
            hint = ('; for a fixed value write {"feasible_points": '
                    f'[{json.dumps(_plain(spec))}]}}')
        raise report.error(
            repr(name), 'must be an object with "min" and "max" or with '
            f'"feasible_points", got {_show(spec)}{hint}')
    for key in spec:
        if key not in DIMENSION_KEYS:
            close = difflib.get_close_matches(str(key), DIMENSION_KEYS, n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise report.error(
                repr(name), f'unknown key {_show(key)}{hint}; allowed keys '
                f'are {_quoted(DIMENSION_KEYS)}')

    if FEASIBLE_KEY in spec:
        mixed = [k for k in RANGE_KEYS if k in spec]
        if mixed:
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} cannot be combined with '
                f'{_quoted(mixed)}; give either a range ("min"/"max") or a '
                'list of feasible points')
        points = spec[FEASIBLE_KEY]
        if not isinstance(points, (list, tuple)):
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} must be a non-empty list, got '
                f'{_show(points)}; write [{json.dumps(points, default=str)}]')
        if not points:
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} is empty; list at least one '
                'value')
        normalised = []
        for i, point in enumerate(points):
            if not _is_scalar(point):
                raise report.error(
                    repr(name), f'{FEASIBLE_KEY!r}[{i}] must be a number, '
                    f'string or bool, got {_show(point)}')
            point = _plain(point)
            if isinstance(point, float) and not math.isfinite(point):
                raise report.error(
                    repr(name), f'{FEASIBLE_KEY!r}[{i}] must be finite, got '
                    f'{point!r}')
            normalised.append(point)
        return Dimension(name=name, kind='feasible',
                         feasible_points=tuple(normalised))

    missing = [k for k in ('min', 'max') if k not in spec]
    if len(missing) == 2:
        raise report.error(
            repr(name), 'needs either "min" and "max" or "feasible_points", '
            'e.g. {"min": 0.001, "max": 0.1, "scaling": "log"}')
    if missing:
        raise report.error(
            repr(name), f"missing {missing[0]!r}; a range needs both 'min' "
            "and 'max'")
    scaling = _choice(spec, 'scaling', SCALINGS, name, report)
    type_ = _choice(spec, 'type', TYPES, name, report)
    low = _number(spec, 'min', name, report)
    high = _number(spec, 'max', name, report)
    if low > high:
        raise report.error(
            repr(name), f"'min' ({low!r}) must be <= 'max' ({high!r}); swap "
            'them')
    if scaling == 'log' and low <= 0:
        raise report.error(
            repr(name), f"'scaling' 'log' needs 'min' > 0, got {low!r}; use "
            "a positive lower bound or 'scaling': 'linear'")
    if type_ == 'int':
        for key, value in (('min', low), ('max', high)):
            if value != math.floor(value):
                raise report.error(
                    repr(name), f"'type' 'int' needs whole-number bounds, "
                    f'got {key!r} {value!r}; round it or use '
                    "'type': 'float'")
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    return Dimension(name=name, kind='range', min=low, max=high,
                     scaling=scaling, type=type_)


def _parse_fixed_trials(trials: list, report: _Reporter) -> tuple[dict, ...]:
    if not trials:
        raise report.error(
            'the list of trials is empty; add at least one trial object')
    parsed = []
    names: list[str] | None = None
    for index, trial in enumerate(trials):
        where = f'trial {index}'
        if not isinstance(trial, dict):
            raise report.error(
                where, 'must be an object mapping hyperparameter names to '
                f'values, got {_show(trial)}')
        if not trial:
            raise report.error(
                where, 'is empty; give at least one hyperparameter value')
        for name, value in trial.items():
            _check_name(name, report, where)
            if not _is_scalar(value):
                hint = ('; a list of trials holds fixed values, for ranges '
                        'make the top level an object'
                        if isinstance(value, dict) else '')
                raise report.error(
                    where, repr(name), 'value must be a number, string or '
                    f'bool, got {_show(value)}{hint}')
            value = _plain(value)
            if isinstance(value, float) and not math.isfinite(value):
                raise report.error(where, repr(name),
                                   f'value must be finite, got {value!r}')
        if names is None:
            names = list(trial)
        elif set(trial) != set(names):
            missing = [n for n in names if n not in trial]
            extra = [n for n in trial if n not in names]
            details = []
            if missing:
                details.append(f'missing {_quoted(missing)}')
            if extra:
                details.append(f'extra {_quoted(extra)}')
            raise report.error(
                where, f'sets different hyperparameters from trial 0 '
                f'({", ".join(details)}); every trial must set the same ones')
        parsed.append({n: _plain(trial[n]) for n in names})
    return tuple(parsed)


def parse_search_space(obj: Any, source: str | None = None) -> SearchSpace:
    """Validates a decoded JSON search space.

    Args:
      obj: a dict of dimensions, or a list of fixed trials (see the module
        docstring for the format).
      source: file name to prefix error messages with (None for none).

    Returns:
      The normalised :class:`SearchSpace`.

    Raises:
      SearchSpaceError: with a one-line message naming the source, the
        offending hyperparameter/key and the fix.
    """
    report = _Reporter(source)
    if isinstance(obj, (list, tuple)):
        return SearchSpace(dimensions=None,
                           fixed_trials=_parse_fixed_trials(obj, report),
                           source=source)
    if not isinstance(obj, dict):
        raise report.error(
            'the top level must be an object mapping hyperparameter names to '
            'dimensions (or a list of trial objects), got '
            f'{type(obj).__name__} {_show(obj)}')
    if not obj:
        raise report.error(
            'the search space is empty; add at least one hyperparameter, '
            'e.g. {"learning_rate": {"min": 0.0001, "max": 0.01, '
            '"scaling": "log"}}')
    dimensions = []
    for name, spec in obj.items():
        _check_name(name, report)
        dimensions.append(_parse_dimension(name, spec, report))
    return SearchSpace(dimensions=tuple(dimensions), fixed_trials=None,
                       source=source)


def _reject_duplicate_keys(source: str):

    def hook(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise SearchSpaceError(
                    f'{source}: duplicate key {key!r}; each key may appear '
                    'only once per object, remove one of them')
            seen[key] = value
        return seen

    return hook


def load_search_space(path: str | os.PathLike) -> SearchSpace:
    """Reads and validates a search-space JSON file.

    Raises:
      SearchSpaceError: the file is missing or unreadable, is not valid JSON
        (message gives line and column), or is not a valid search space.
    """
    source = os.fspath(path)
    try:
        with open(source, encoding='utf-8-sig') as f:
            text = f.read()
    except FileNotFoundError:
        where = ('' if os.path.isabs(source) else
                 f' (resolved to {os.path.abspath(source)})')
        raise SearchSpaceError(
            f'{source}: search space file not found{where}; check the '
            'path') from None
    except UnicodeDecodeError as e:
        raise SearchSpaceError(
            f'{source}: not UTF-8 text ({e.reason} at byte {e.start}); save '
            'it as UTF-8') from None
    except OSError as e:
        raise SearchSpaceError(
            f'{source}: cannot read search space file: '
            f'{e.strerror or e}') from None
    try:
        obj = json.loads(text, object_pairs_hook=_reject_duplicate_keys(source))
    except json.JSONDecodeError as e:
        raise SearchSpaceError(
            f'{source}: invalid JSON at line {e.lineno}, column {e.colno}: '
            f'{e.msg} (JSON allows no comments or trailing commas)') from None
    return parse_search_space(obj, source=source)


def _check_positive_int(value: Any, name: str) -> int:
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ValueError(f'{name} must be an integer >= 1, got '
                         f'{_show(value)}') from None
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
        raise ValueError(f'unknown search algorithm {_show(algorithm)}; '
                         f'choose one of {_quoted(ALGORITHMS)}')
    seed = random_utils.validate_seed(seed)

    if space.fixed_trials is not None:
        available = len(space.fixed_trials)
        if num_trials > available:
            raise _Reporter(space.source).error(
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
